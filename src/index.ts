export { JwtManager, getJwt, getJwtIdentity, verifyJwtInRequest } from './manager';
export type { AuthHeadersOptions, CookieSession, ValueContainer } from './manager';
export type { HeaderLocation } from './testing';
export { TokenFactory } from './tokens';
export type { CreateAccessTokenOptions, CreateTokenOptions, CreateTokenPairOptions, TokenPair } from './tokens';
export type { SessionInfo } from './revocation';
export type {
  JwtEvents, JwtEventName, JwtEventListener, JwtEventBase, EventRequest, SessionEndReason, SessionMetadata,
} from './events';
export { MemoryRevocationStore } from './stores/memory';
export type { MemoryRevocationStoreOptions } from './stores/memory';
export { RedisRevocationStore } from './stores/redis';
export type { RedisClientLike, RedisRevocationStoreOptions } from './stores/redis';
export { RevocationStoreError } from './stores/store';
export type {
  RevocationStore, StoredToken, TokenStatus, RefreshUse, RefreshOutcome, NewSession, StartedSession, RevokedAll, EndedSession,
  StoredSession, TokenRevocation,
} from './stores/store';
export { JwtRequired, JwtRefreshTokenRequired, FreshJwtRequired, JwtOptional, CurrentIdentity, CurrentJwt } from './decorators';
export type { ClassOrMethodDecorator, FreshJwtRequiredOptions, JwtOptionalOptions, JwtRefreshTokenRequiredOptions } from './decorators';
export type { JwtRequiredOptions } from './requirement';
export type { JwtConfig, TokenLocation, Identity } from './config';
export type { Clock } from './clock';
export type { ErrorKind, ErrorCallback, ErrorCallbacks, JwtFailure, JwtErrorResponse } from './responses';
export type { Duration } from './duration';
export type { CallbackErrorHandler, CallbackFailure, CallbackName } from './callbacks';
export { ALGORITHMS } from './keys';
export type { Algorithm, KeyMaterial, RingKey, EncodeKeyLoader, DecodeKeyLoader, Jwk, JsonWebKeySet, PublicJwk } from './keys';
export type { JwtClaims, JwtHeader, DecodedJwt, TokenType } from './claims';
export type { VerifyOptions } from './verify';
export type { JwtRequestState } from './request/state';
export type {
  RequestAdapter, DriverContext, KoaMiddleware, ExpressMiddleware, JwtMiddleware,
} from './request/adapter';
export type { KoaContextLike } from './request/adapter-koa';
export type { ExpressRequestLike, ExpressResponseLike } from './request/adapter-express';
export type { ClientErrorHandler, ExpressErrorHandler } from './client-errors';
export {
  JwtErrorCode, JwtError, NoAuthorizationError, InvalidHeaderError, JwtDecodeError, InvalidSignatureError,
  ExpiredTokenError, WrongTokenTypeError, FreshTokenRequiredError, RoleMissingError, UserLookupError,
  ClaimsVerificationError, ClaimsValidationError, RevokedTokenError, RefreshTokenReuseError, ConcurrentRefreshError,
  StoreUnavailableError, TokenIssueError, CsrfError, JwtRequirementMissingError, SessionEndedError,
} from './errors';
export { CorsPreflightResponse, JsonHttpError, JwtHttpError } from './http-error';
export type { JwtErrorBody } from './http-error';
