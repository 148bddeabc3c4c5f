import type { Clock } from './clock';

/** The two kinds of token: short-lived access tokens and long-lived refresh tokens. */
export type TokenType = 'access' | 'refresh';

/**
 * The claims of a verified token, laid out as Flask-JWT-Extended 4 lays them out.
 * The identity sits under the configured `identityClaim` (`sub` by default).
 */
export interface JwtClaims {
  /** Unique token id (a random UUID v4 for tokens this library issues). */
  jti?: string;
  /** `'access'` or `'refresh'`; tokens without it count as access tokens, as in Flask-JWT-Extended. */
  type: TokenType;
  /** `true`/`false`, or the NumericDate until which the token counts as fresh. */
  fresh: boolean | number;
  iat?: number;
  nbf?: number;
  exp?: number;
  sub?: string;
  aud?: string | string[];
  iss?: string;
  /** Refresh-token family (session) under rotation; access tokens from `createTokenPair`/`rotate` carry it too. */
  fam?: string;
  /** The identity's revocation generation when the token was issued; absent means 0. */
  gen?: number;
  /** Double-submit CSRF value, when tokens travel in cookies with CSRF protection. */
  csrf?: string;
  [claim: string]: unknown;
}

/** The protected header of a verified token. */
export interface JwtHeader {
  alg: string;
  typ?: string;
  kid?: string;
  [parameter: string]: unknown;
}

/** A verified token: its header and claims. */
export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
}

/** The claims a token carries by construction; `additionalClaims` may not set them. */
export const RESERVED_CLAIMS: readonly string[] = ['type', 'fresh', 'jti', 'iat', 'nbf', 'exp', 'fam', 'gen', 'csrf'];

/** The clock's time as a NumericDate (seconds since the epoch), the whole seconds tokens are minted with. */
export function now(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

/**
 * Current time in seconds with its fraction, what claims are compared with (as PyJWT
 * and Flask-JWT-Extended compare them): a token whose `exp` or `fresh` is a fraction
 * of a second past is past, not valid until the next whole second.
 */
export function exactNow(clock: Clock): number {
  return clock.now() / 1000;
}
