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
} as const;

export type JwtErrorCode = (typeof JwtErrorCode)[keyof typeof JwtErrorCode];

/** Base class of every authentication failure raised by this library. */
export abstract class JwtError extends Error {
  /** A stable, machine-readable code, one of {@link JwtErrorCode}. */
  abstract readonly code: JwtErrorCode;
  /** The HTTP status the failure answers with. */
  abstract readonly status: number;
  /** The token's claims, when the failure came after its signature was verified. */
  claims?: JwtClaims;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No token was found where one is required (401). */
export class NoAuthorizationError extends JwtError {
  readonly code = JwtErrorCode.NoAuthorization;
  readonly status = 401;
}

/** The `Authorization` header names the right scheme but is malformed (422). */
export class InvalidHeaderError extends JwtError {
  readonly code = JwtErrorCode.InvalidHeader;
  readonly status = 422;
}

/** The token is not a well-formed JWT, uses a refused algorithm, or has bad claims (422). */
export class JwtDecodeError extends JwtError {
  readonly code: JwtErrorCode = JwtErrorCode.Decode;
  readonly status = 422;
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
  readonly status = 401;

  constructor(claims?: JwtClaims) {
    super('Token has expired');
    this.claims = claims;
  }
}

/** An access token where a refresh token is required, or the reverse (422). */
export class WrongTokenTypeError extends JwtError {
  readonly code = JwtErrorCode.WrongTokenType;
  readonly status = 422;
}

/** The route needs a fresh token and this one is not (401). */
export class FreshTokenRequiredError extends JwtError {
  readonly code = JwtErrorCode.FreshTokenRequired;
  readonly status = 401;

  constructor() {
    super('Fresh token required');
  }
}

/** The token is valid but lacks a role the route requires (403). */
export class RoleMissingError extends JwtError {
  readonly code = JwtErrorCode.RoleMissing;
  readonly status = 403;
}

/** `userLookupLoader` found no user for the token's identity (401). */
export class UserLookupError extends JwtError {
  readonly code = JwtErrorCode.UserLookup;
  readonly status = 401;
}

/** `tokenVerificationLoader` refused the token's claims (400). */
export class ClaimsVerificationError extends JwtError {
  readonly code = JwtErrorCode.ClaimsVerification;
  readonly status = 400;

  constructor() {
    super('User claims verification failed');
  }
}

/** The claims do not fit the class a `@CurrentJwt()` parameter is typed with (422). */
export class ClaimsValidationError extends JwtError {
  readonly code = JwtErrorCode.ClaimsValidation;
  readonly status = 422;
}
