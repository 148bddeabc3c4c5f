import { createHash, timingSafeEqual } from 'node:crypto';
import { exactNow, type DecodedJwt, type JwtClaims, type JwtHeader } from './claims';
import type { Clock } from './clock';
import type { ResolvedConfig, TokenLocation } from './config';
import {
  ClaimsVerificationError, CsrfError, ExpiredTokenError, FreshTokenRequiredError, JwtDecodeError, JwtError, RoleMissingError, UserLookupError,
  WrongTokenTypeError,
} from './errors';
import { CorsPreflightResponse } from './http-error';
import type { RequestAdapter } from './request/adapter';
import { locateToken, readUnparsedBody, type LocatedToken } from './request/locations';
import { recordAnonymous, recordRequestState, type JwtRequestState } from './request/state';
import type { JwtRequiredOptions } from './requirement';
import { verifyToken } from './verify';
import { isThenable } from './thenable';

/**
 * The one path every protected request takes, in Flask-JWT-Extended's order so
 * that the same bad token always gets the same answer: find the token, decode
 * and verify it, match its CSRF value, check its type, its freshness, its
 * revocation (using a refresh token up under rotation), the app's claims
 * verification, its roles, load its user; only then record the request's state.
 * Returns `undefined` for an anonymous request on an optional route; throws a
 * `JwtError`, or a {@link CorsPreflightResponse} for a CORS preflight. Any other
 * OPTIONS request is checked like a GET: no method skips authentication.
 */
export function verifyRequest<C extends object>(
  adapter: RequestAdapter<C>,
  ctx: C,
  config: ResolvedConfig,
  options: Readonly<JwtRequiredOptions>,
  roles: readonly string[] = options.roles ?? [],
): JwtRequestState | undefined | Promise<JwtRequestState | undefined> {
  if (isCorsPreflight(adapter, ctx)) throw new CorsPreflightResponse();
  const locations = options.locations ?? config.tokenLocation;
  const reading = readUnparsedBody(adapter, ctx, config, locations, !!options.refresh);
  if (reading) return reading.then(() => verifyLocated(adapter, ctx, config, options, roles, locations));
  return verifyLocated(adapter, ctx, config, options, roles, locations);
}

/** From the token's location on, once any body the library reads itself has arrived. */
function verifyLocated<C extends object>(
  adapter: RequestAdapter<C>,
  ctx: C,
  config: ResolvedConfig,
  options: Readonly<JwtRequiredOptions>,
  roles: readonly string[],
  locations: readonly TokenLocation[],
): JwtRequestState | undefined | Promise<JwtRequestState | undefined> {
  const located = locateToken(adapter, ctx, config, locations, !!options.refresh, !!options.optional && roles.length === 0);
  if (!located) {
    recordAnonymous(ctx);
    return undefined;
  }
  let verified: DecodedJwt | Promise<DecodedJwt>;
  try {
    verified = verifyToken(located.token, config);
  } catch (error) {
    throw csrfBeforeExpiry(error, located);
  }
  // A cached token is checked synchronously, so a request that needs nothing
  // asynchronous (no loader, an in-process store) passes without a promise.
  if (!isThenable(verified)) return checkVerified(adapter, ctx, config, options, roles, located, verified);
  return verified.then(
    (decoded) => checkVerified(adapter, ctx, config, options, roles, located, decoded),
    (error: unknown) => { throw csrfBeforeExpiry(error, located); },
  );
}

/** Flask-JWT-Extended matches an expired token's CSRF value before it calls it expired. */
function csrfBeforeExpiry(error: unknown, located: LocatedToken): unknown {
  if (error instanceof ExpiredTokenError && error.claims && located.csrf !== undefined) checkCsrf(error.claims, located.csrf);
  return error;
}

/** Every check after verification; synchronous until a loader or the revocation store answers later. */
function checkVerified<C extends object>(
  adapter: RequestAdapter<C>,
  ctx: C,
  config: ResolvedConfig,
  options: Readonly<JwtRequiredOptions>,
  roles: readonly string[],
  located: LocatedToken,
  { header, claims }: DecodedJwt,
): JwtRequestState | Promise<JwtRequestState> {
  try {
    const refresh = !!options.refresh;
    if (located.csrf !== undefined) checkCsrf(claims, located.csrf);
    if (options.verifyType !== false) checkType(claims, refresh);
    if (options.fresh) checkFresh(claims, config.clock);
    const revocation = config.revocation.check(claims, { refresh, skip: !!options.skipRevocationCheck }, adapter, ctx);
    if (isThenable(revocation) || config.tokenVerificationLoader || config.userLookupLoader) {
      return checkWithLoaders(ctx, config, roles, header, claims, revocation).catch((error: unknown) => { throw withClaims(error, claims); });
    }
    checkRoles(claims, roles, config.rolesClaim);
    const identity = claims[config.identityClaim] as string;
    return recordRequestState(ctx, config, header, claims, identity, identity);
  } catch (error) {
    throw withClaims(error, claims);
  }
}

/** The rest of the checks once the revocation store answered: the app's claims verification, the roles, the user. */
async function checkWithLoaders(
  ctx: object, config: ResolvedConfig, roles: readonly string[], header: JwtHeader, claims: JwtClaims, revocation: void | Promise<void>,
): Promise<JwtRequestState> {
  await revocation;
  if (config.tokenVerificationLoader && !(await config.tokenVerificationLoader(header, claims))) throw new ClaimsVerificationError();
  checkRoles(claims, roles, config.rolesClaim);
  const identity = claims[config.identityClaim] as string;
  const user = config.userLookupLoader ? await config.userLookupLoader(header, claims) : identity;
  if (user === undefined || user === null) throw new UserLookupError(`Error loading the user ${identity}`);
  return recordRequestState(ctx, config, header, claims, identity, user);
}

/** A failure after verification carries the token's claims, for error callbacks. */
function withClaims(error: unknown, claims: JwtClaims): unknown {
  if (error instanceof JwtError) error.claims ??= claims;
  return error;
}

/** A CORS preflight (Fetch standard): OPTIONS with an `Origin` and an `Access-Control-Request-Method`. */
function isCorsPreflight<C>(adapter: RequestAdapter<C>, ctx: C): boolean {
  return adapter.method(ctx) === 'OPTIONS' && !!adapter.header(ctx, 'origin') && !!adapter.header(ctx, 'access-control-request-method');
}

/** The double-submit check: the value sent in the header must be the token's own, compared in constant time. */
function checkCsrf(claims: JwtClaims, sent: string): void {
  if (typeof claims.csrf !== 'string') throw new JwtDecodeError(claims.csrf === undefined ? 'Missing claim: csrf' : 'Invalid claim: csrf');
  const digest = (value: string) => createHash('sha256').update(value).digest();
  if (!timingSafeEqual(digest(claims.csrf), digest(sent))) throw new CsrfError('CSRF double submit tokens do not match');
}

function checkType(claims: JwtClaims, refresh: boolean): void {
  if (refresh && claims.type !== 'refresh') throw new WrongTokenTypeError('Only refresh tokens are allowed');
  if (!refresh && claims.type === 'refresh') throw new WrongTokenTypeError('Only non-refresh tokens are allowed');
}

function checkFresh(claims: JwtClaims, clock: Clock): void {
  const fresh = claims.fresh;
  if (typeof fresh === 'boolean' ? !fresh : fresh < exactNow(clock)) throw new FreshTokenRequiredError();
}

/** Roles come as an array of names or, OAuth-scope style, one space-separated string. */
function checkRoles(claims: JwtClaims, required: readonly string[], rolesClaim: string): void {
  if (required.length === 0) return;
  const value = claims[rolesClaim];
  const held = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
  const missing = required.find((role) => !held.includes(role));
  if (missing !== undefined) throw new RoleMissingError(`Missing required role: ${missing}`);
}
