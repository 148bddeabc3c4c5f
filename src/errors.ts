import { HttpError } from 'routing-controllers';
import type { JwtClaims } from './claims';

/**
 * Every way a request can fail authentication, as error classes with stable
 * codes (in the style of `jose`) and the HTTP status Flask-JWT-Extended gives them.
 */

/** Stable error codes, safe to switch on in application code. */
export const JwtErrorCode = {
  NoAuthorization: 'ERR_JWT_NO_AUTHORIZATION',
  InvalidHeader: 'ERR_JWT_INVALID_HEADER',
  Decode: 'ERR_JWT_DECODE',
  InvalidSignature: 'ERR_JWT_INVALID_SIGNATURE',
  Expired: 'ERR_JWT_EXPIRED',
  WrongTokenType: 'ERR_JWT_WRONG_TOKEN_TYPE',
  FreshTokenRequired: 'ERR_JWT_FRESH_TOKEN_REQUIRED',
  RoleMissing: 'ERR_JWT_ROLE_MISSING',
  UserLookup: 'ERR_JWT_USER_LOOKUP',
  ClaimsVerification: 'ERR_JWT_CLAIMS_VERIFICATION',
  ClaimsValidation: 'ERR_JWT_CLAIMS_VALIDATION',
  Revoked: 'ERR_JWT_REVOKED',
  RefreshTokenReused: 'ERR_JWT_REFRESH_TOKEN_REUSED',
  RefreshTokenConcurrent: 'ERR_JWT_REFRESH_TOKEN_CONCURRENT',
  SessionEnded: 'ERR_JWT_SESSION_ENDED',
  StoreUnavailable: 'ERR_JWT_STORE_UNAVAILABLE',
  TokenIssue: 'ERR_JWT_TOKEN_ISSUE',
  Csrf: 'ERR_JWT_CSRF',
} as const;

export type JwtErrorCode = (typeof JwtErrorCode)[keyof typeof JwtErrorCode];

/**
 * Base class of every authentication failure raised by this library. It is a
 * routing-controllers `HttpError`, so one that escapes an action (from
 * `decodeToken` or `revokeToken`, say) still answers with its status, never a
 * 500: `{ "msg": message }` on a JSON controller, the message on a plain one.
 * It carries no stack: it is an answer about a token, not a fault in code, and
 * routing-controllers would send a stack to the client in development mode.
 */
export abstract class JwtError extends HttpError {
  /** A stable, machine-readable code, one of {@link JwtErrorCode}. */
  abstract readonly code: JwtErrorCode;
  /** The token's claims, when the failure came after its signature was verified. */
  claims?: JwtClaims;

  constructor(status: number, message: string) {
    super(status, message);
    // HttpError pins the prototype to its own; restore ours.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = new.target.name;
    this.stack = '';
  }

  /** The HTTP status the failure answers with. */
  get status(): number {
    return this.httpCode;
  }

  toJSON(): { msg: string } {
    return { msg: this.message };
  }
}

/** No token was found where one is required (401). */
export class NoAuthorizationError extends JwtError {
  readonly code = JwtErrorCode.NoAuthorization;

  constructor(message: string) {
    super(401, message);
  }
}

/** The `Authorization` header names the right scheme but is malformed (422). */
export class InvalidHeaderError extends JwtError {
  readonly code = JwtErrorCode.InvalidHeader;

  constructor(message: string) {
    super(422, message);
  }
}

/** The token is not a well-formed JWT, uses a refused algorithm or key, or has bad claims (422). */
export class JwtDecodeError extends JwtError {
  readonly code: JwtErrorCode = JwtErrorCode.Decode;

  constructor(message: string) {
    super(422, message);
  }
}

/** The signature does not match the token's content (422). */
export class InvalidSignatureError extends JwtDecodeError {
  override readonly code = JwtErrorCode.InvalidSignature;

  constructor() {
    super('Signature verification failed');
  }
}

/** The token's `exp` has passed (401). */
export class ExpiredTokenError extends JwtError {
  readonly code = JwtErrorCode.Expired;

  constructor(claims?: JwtClaims) {
    super(401, 'Token has expired');
    this.claims = claims;
  }
}

/** An access token where a refresh token is required, or the reverse (422). */
export class WrongTokenTypeError extends JwtError {
  readonly code = JwtErrorCode.WrongTokenType;

  constructor(message: string) {
    super(422, message);
  }
}

/** The route needs a fresh token and this one is not (401). */
export class FreshTokenRequiredError extends JwtError {
  readonly code = JwtErrorCode.FreshTokenRequired;

  constructor() {
    super(401, 'Fresh token required');
  }
}

/** The token is valid but lacks a role the route requires (403). */
export class RoleMissingError extends JwtError {
  readonly code = JwtErrorCode.RoleMissing;

  constructor(message: string) {
    super(403, message);
  }
}

/** `userLookupLoader` found no user for the token's identity (401). */
export class UserLookupError extends JwtError {
  readonly code = JwtErrorCode.UserLookup;

  constructor(message: string) {
    super(401, message);
  }
}

/** `tokenVerificationLoader` refused the token's claims (400). */
export class ClaimsVerificationError extends JwtError {
  readonly code = JwtErrorCode.ClaimsVerification;

  constructor() {
    super(400, 'User claims verification failed');
  }
}

/** The claims do not fit the class a `@CurrentJwt()` parameter is typed with (422). */
export class ClaimsValidationError extends JwtError {
  readonly code = JwtErrorCode.ClaimsValidation;

  constructor(message: string) {
    super(422, message);
  }
}

/** The token was revoked: by its `jti`, its family, or a log-out-everywhere (401). */
export class RevokedTokenError extends JwtError {
  readonly code: JwtErrorCode = JwtErrorCode.Revoked;

  constructor(message = 'Token has been revoked') {
    super(401, message);
  }
}

/** A refresh token used again after rotation: its whole family is now revoked (401). */
export class RefreshTokenReuseError extends RevokedTokenError {
  override readonly code = JwtErrorCode.RefreshTokenReused;

  constructor() {
    super('Refresh token reuse detected; every token of this session has been revoked');
  }
}

/**
 * A refresh token used twice within the grace interval, e.g. by two tabs at
 * once: refused, but its family lives on; retry with the newest refresh token (409).
 */
export class ConcurrentRefreshError extends JwtError {
  readonly code = JwtErrorCode.RefreshTokenConcurrent;

  constructor() {
    super(409, 'Refresh token already used; retry with the newest refresh token');
  }
}

/**
 * A refresh came after the session's end: past its absolute maximum age
 * (`sessionMaxAge`, by default its first refresh token's lifetime) or its idle
 * timeout (`sessionIdleTimeout`). The session is over; log in again (401).
 */
export class SessionEndedError extends JwtError {
  readonly code = JwtErrorCode.SessionEnded;
  /** Why the session ended. */
  readonly reason: 'expired' | 'maxAge' | 'idle';

  constructor(reason: 'expired' | 'maxAge' | 'idle') {
    super(401, reason === 'idle' ? 'Session ended after inactivity; log in again' : 'Session has expired; log in again');
    this.reason = reason;
  }
}

/** The revocation store did not answer in time: the request fails closed (503). */
export class StoreUnavailableError extends JwtError {
  readonly code = JwtErrorCode.StoreUnavailable;

  constructor() {
    super(503, 'Token revocation store unavailable; try again later');
  }
}

/**
 * A token could not be made because an app callback that shapes it
 * (`userIdentityLoader`, `additionalClaimsLoader`, `additionalHeadersLoader`,
 * `encodeKeyLoader`) threw (503); what it threw went to `onCallbackError`.
 */
export class TokenIssueError extends JwtError {
  readonly code = JwtErrorCode.TokenIssue;

  constructor() {
    super(503, 'The token could not be issued; try again later');
  }
}

/** A token read from a cookie came without its CSRF double-submit value, or with a wrong one (401). */
export class CsrfError extends JwtError {
  readonly code = JwtErrorCode.Csrf;

  constructor(message: string) {
    super(401, message);
  }
}

/**
 * Thrown (a 500, once per request) when `@CurrentIdentity()`, `@CurrentJwt()` or
 * `@CurrentUser()` reads a request whose token nothing verified: the action has
 * no JWT requirement, so the parameter would be `undefined` in silence.
 * Flask-JWT-Extended's "You must call `@jwt_required()` before using this method".
 */
export class JwtRequirementMissingError extends Error {
  override readonly name = 'JwtRequirementMissingError';

  /** `where` names the decorator and the action, e.g. `@CurrentIdentity() on AuthController.me`. */
  constructor(where: string) {
    super(`${where} reads the request's verified token, but nothing verified one: add @JwtRequired() `
      + '(or @JwtOptional(), @JwtRefreshTokenRequired(), @FreshJwtRequired(), @Authorized()) to the action or its controller, '
      + 'with authorizationChecker: jwt.authorizationChecker in the routing-controllers options, '
      + 'or call verifyJwtInRequest() in a middleware before it');
  }
}
