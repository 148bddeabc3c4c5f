import { createPublicKey, KeyObject, type JsonWebKey } from 'node:crypto';
import type { JwtClaims, JwtHeader, TokenType } from './claims';
import { VerifiedTokenCache } from './cache';
import { systemClock, type Clock } from './clock';
import { guardCallback, logCallbackError, reportCallbackError, type CallbackErrorHandler, type CallbackName } from './callbacks';
import { ClaimsVerificationError, TokenIssueError, UserLookupError } from './errors';
import { toMilliseconds, toSeconds, type Duration } from './duration';
import { JwtEventEmitter } from './events';
import { Lifetimes, Revocation } from './revocation';
import { MemoryRevocationStore } from './stores/memory';
import type { RevocationStore } from './stores/store';
import type { ErrorCallbacks } from './responses';
import { KeyStore, noVerificationKey, type Algorithm, type DecodeKeyLoader, type EncodeKeyLoader, type KeyMaterial, type RingKey } from './keys';

/** What a token can be issued for: a string, or a number (stored as its decimal string). */
export type Identity = string | number;

/**
 * Configuration of a {@link JwtManager}: Flask-JWT-Extended's settings in camelCase.
 * Only the key (`secretKey`, `privateKey`/`publicKey`, a key ring, or key loaders) is required.
 * `User` is what tokens may be created for besides an identity, given a `userIdentityLoader`.
 */
export interface JwtConfig<User = never> {
  /** HMAC secret for the HS algorithms; at least as many bytes as the hash (32 for HS256). */
  secretKey?: KeyMaterial;
  /**
   * Accept a weak HMAC secret: shorter than RFC 7518 allows, or of trivially low
   * diversity (`'x'.repeat(32)`, a short block repeated). Meant for tests only.
   * Key material (a PEM, DER, certificate, JWK text) is refused as a secret all the same. Default `false`.
   */
  allowWeakSecret?: boolean;
  /** Algorithm new tokens are signed with. Default `'HS256'`. */
  algorithm?: Algorithm;
  /** Algorithms accepted when verifying. Default: `[algorithm]`. */
  decodeAlgorithms?: Algorithm[];
  /** Private key (PEM or KeyObject) for RS, PS and ES algorithms. */
  privateKey?: KeyMaterial;
  /** Public key (PEM or KeyObject); derived from `privateKey` when omitted. */
  publicKey?: KeyMaterial;
  /**
   * Largest RSA modulus accepted, in bits, for every RSA key (configured, in the
   * ring, or from a key loader): a bogus token naming a big key costs its
   * verification. At least 2048. Default `8192`.
   */
  maxRsaModulusBits?: number;
  /** Lifetime of access tokens, or `false` for none. Default `'15m'`. */
  accessTokenExpires?: Duration | false;
  /** Lifetime of refresh tokens, or `false` for none. Default `'30d'`. */
  refreshTokenExpires?: Duration | false;
  /** Claim that holds the identity. Default `'sub'`. */
  identityClaim?: string;
  /** Key of the error message in JSON error bodies. Default `'msg'`. */
  errorMessageKey?: string;
  /** Where tokens are looked for, in order of precedence. Default `['headers']`. */
  tokenLocation?: TokenLocation[];
  /** Query-string parameter carrying the token. Default `'jwt'`. */
  queryStringName?: string;
  /** JSON body key carrying an access token. Default `'access_token'`. */
  jsonKey?: string;
  /** JSON body key carrying a refresh token (on refresh routes). Default `'refresh_token'`. */
  refreshJsonKey?: string;

  /**
   * Default `'access_token_cookie'`. A `__Host-` name (`'__Host-access_token'`)
   * keeps sibling subdomains from setting it (cookie tossing); it needs
   * `cookieSecure`, its path `'/'` and no `cookieDomain`, and a `__Secure-`
   * name needs `cookieSecure`: the constructor checks, for all four cookie
   * names.
   */
  accessCookieName?: string;
  /** Default `'refresh_token_cookie'`; `__Host-` and `__Secure-` names as for `accessCookieName`. */
  refreshCookieName?: string;
  /** Default `'/'`. */
  accessCookiePath?: string;
  /** Default `'/'`; scope it to the refresh route (e.g. `'/refresh'`) so the refresh token travels nowhere else. */
  refreshCookiePath?: string;
  /** `Domain` of the cookies. Default: none (the host only). */
  cookieDomain?: string;
  /** `Secure` cookies (HTTPS only). Default `false`, as in Flask-JWT-Extended; turn it on in production. */
  cookieSecure?: boolean;
  /** `SameSite` of the cookies. Default: not set. */
  cookieSameSite?: 'Strict' | 'Lax' | 'None';
  /** Session cookies (gone when the browser closes) rather than persistent ones. Default `true`. */
  sessionCookie?: boolean;
  /**
   * Persistent cookies live as long as the token they hold (its `exp`) instead of
   * Flask-JWT-Extended's fixed year. Default `false`.
   */
  cookieMaxAgeFromToken?: boolean;
  /** Double-submit CSRF protection for tokens read from cookies. Default `true`. */
  cookieCsrfProtect?: boolean;
  /** Methods that need the CSRF value. Default `['POST', 'PUT', 'PATCH', 'DELETE']`. */
  csrfMethods?: string[];
  /** Also set the readable CSRF cookies. Default `true`. */
  csrfInCookies?: boolean;
  /** Default `'csrf_access_token'`; `__Host-` and `__Secure-` names as for `accessCookieName`. */
  accessCsrfCookieName?: string;
  /** Default `'csrf_refresh_token'`; `__Host-` and `__Secure-` names as for `accessCookieName`. */
  refreshCsrfCookieName?: string;
  /** Default `'/'`. */
  accessCsrfCookiePath?: string;
  /** Default `'/'`. */
  refreshCsrfCookiePath?: string;
  /** Default `'X-CSRF-TOKEN'`. */
  accessCsrfHeaderName?: string;
  /** Default `'X-CSRF-TOKEN'`. */
  refreshCsrfHeaderName?: string;
  /** Also accept the CSRF value from a form field. Default `false`. */
  csrfCheckForm?: boolean;
  /** Default `'csrf_token'`. */
  accessCsrfFieldName?: string;
  /** Default `'csrf_token'`. */
  refreshCsrfFieldName?: string;
  /** Header carrying the token. Default `'Authorization'`. */
  headerName?: string;
  /** Scheme in front of the token; `''` for a bare token. Default `'Bearer'`. */
  headerType?: string;
  /** Longest token accepted, in characters; longer ones are refused before any decoding. Default `8192`. */
  maxTokenLength?: number;
  /**
   * Accept ECDSA (ES*) signatures with a high `s`, the twin form of every ES signature
   * that PyJWT and most libraries emit half the time. Default `true`, as every other
   * verifier does; `false` accepts the one canonical low-s form only (tokens signed here
   * always have low `s`).
   */
  allowHighS?: boolean;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`. Default `0`. */
  leeway?: Duration;
  /**
   * Remember tokens that verified, by their exact string, so a token sent again
   * skips decoding and signature checks (type, freshness, revocation and CSRF are
   * still checked every time). Default on: 10 000 tokens, 5 minutes at most, never
   * past a token's `exp`. `false` turns it off.
   */
  verifiedTokenCache?: false | { maxEntries?: number; ttl?: Duration };
  /** Put an `nbf` claim in new tokens. Default `true`. */
  encodeNbf?: boolean;
  /** `aud` claim of new tokens. */
  encodeAudience?: string | string[];
  /** Audience(s) a token must name to be accepted. */
  decodeAudience?: string | string[];
  /** `iss` claim of new tokens. */
  encodeIssuer?: string;
  /** Issuer a token must name to be accepted. */
  decodeIssuer?: string;
  /** Claim holding the roles that `@JwtRequired({ roles })` and `@Authorized('role')` check. Default `'roles'`. */
  rolesClaim?: string;

  /**
   * A key ring for rotation, replacing `algorithm`, `secretKey`, `privateKey`, `publicKey`:
   * the first key signs (and its `kid` goes in the token header), every key verifies
   * the tokens naming its `kid`.
   */
  keys?: RingKey[];
  /** Chooses the signing key per token, for keys kept elsewhere (may be async). */
  encodeKeyLoader?: EncodeKeyLoader;
  /** Chooses the verification key per token from its header (frozen: tokens alike share it) and unverified claims (may be async). */
  decodeKeyLoader?: DecodeKeyLoader;

  /** Maps a user object given to `createAccessToken`/`createRefreshToken` to its identity. */
  userIdentityLoader?: (user: User) => Identity | Promise<Identity>;
  /** Claims added to every new token, from what the token is created for (may be async). */
  additionalClaimsLoader?: (identity: Identity | User) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Header parameters added to every new token (may be async). */
  additionalHeadersLoader?: (identity: Identity | User) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * Loads the user of a verified token, for `@CurrentUser()`. Returning `null` or
   * `undefined` refuses the request: 401 `Error loading the user <identity>`.
   */
  userLookupLoader?: (header: JwtHeader, claims: JwtClaims) => unknown;
  /** Last word on a verified token's claims; `false` refuses: 400 `User claims verification failed`. */
  tokenVerificationLoader?: (header: JwtHeader, claims: JwtClaims) => boolean | Promise<boolean>;

  /** Where revocations live. Default: a `MemoryRevocationStore` of this process. */
  revocationStore?: RevocationStore;
  /** Token types checked for revocation on every request. Default `['access', 'refresh']`. */
  revocationChecks?: TokenType[];
  /**
   * Refresh-token rotation with reuse detection: refresh tokens carry a family,
   * a refresh route uses its token up, and a used one presented again revokes
   * the whole family. Refresh routes then answer with `jwt.tokens.rotate(claims)`. Default `false`.
   */
  refreshTokenRotation?: boolean;
  /** A second use of a refresh token within this span is a race (409), not reuse. Default `'5s'`. */
  rotationGracePeriod?: Duration;
  /** How long a revocation store call may take before the request fails closed with 503. Default `'1s'`. */
  revocationStoreTimeout?: Duration;
  /**
   * When the store cannot answer, let requests through unchecked instead of 503.
   * Reads only: revoking, logging in and using a refresh token still fail (503). Default `false`.
   */
  revocationFailOpen?: boolean;
  /**
   * A session's absolute lifetime from login: no refresh, rotated or not, extends it.
   * Default: its first refresh token's lifetime (`refreshTokenExpires`, or the `expiresIn` it was created with).
   */
  sessionMaxAge?: Duration;
  /** A session not refreshed for this long ends. Default: none. */
  sessionIdleTimeout?: Duration;
  /**
   * Sessions one identity holds at most; beyond it the oldest ends. Also the most
   * tokens one identity can have revoked one by one at a time (beyond it they
   * become one logout-everywhere). Default 100.
   */
  maxSessionsPerIdentity?: number;

  /** Re-shapes error responses, per kind of failure. */
  errorCallbacks?: ErrorCallbacks;
  /**
   * Receives what one of the app's callbacks threw while a request was being
   * decided (`decodeKeyLoader`, `userLookupLoader`, `tokenVerificationLoader`,
   * an error callback, the renewal in `implicitRefresh`). The client gets the
   * library's own answer, never the thrown error; an `HttpError` thrown on
   * purpose still goes to the client. Default: logged to stderr.
   */
  onCallbackError?: CallbackErrorHandler;
  /**
   * Answer every token problem RFC 6750's way instead of Flask-JWT-Extended's 422:
   * 401 with `WWW-Authenticate: Bearer error="invalid_token"`, 400 `invalid_request`
   * for a malformed header, 403 `insufficient_scope` for a missing role. Default `false`.
   */
  rfc6750Errors?: boolean;
  /**
   * Where the library reads the time (`now()`: milliseconds since the epoch):
   * token `iat`, `exp` and freshness, their verification, cookie lifetimes, the
   * verified-token cache and revocation's lifetimes, and the default memory store.
   * A `MemoryRevocationStore` you construct takes its own `clock`; a
   * `RedisRevocationStore` keeps Redis' time. Store timeouts wait in real time.
   * Meant for tests, which move a clock instead of waiting. Default `Date`.
   */
  clock?: Clock;
}

/** Places a token can be read from, as Flask-JWT-Extended names them. */
export type TokenLocation = 'headers' | 'cookies' | 'query_string' | 'json';

/** One token type's cookie names and paths, and where its CSRF value comes from. */
export interface CookieNames {
  readonly cookie: string;
  readonly path: string;
  readonly csrfCookie: string;
  readonly csrfPath: string;
  readonly csrfHeader: string;
  readonly csrfField: string;
}

/** Cookie and CSRF settings, resolved. */
export interface CookieSettings {
  readonly access: CookieNames;
  readonly refresh: CookieNames;
  readonly domain?: string;
  readonly secure: boolean;
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
  readonly session: boolean;
  readonly maxAgeFromToken: boolean;
  readonly csrfProtect: boolean;
  readonly csrfMethods: readonly string[];
  readonly csrfInCookies: boolean;
  readonly csrfCheckForm: boolean;
}

/** The configuration with every default filled in and every value checked. */
export interface ResolvedConfig {
  readonly keys: KeyStore;
  readonly accessTokenExpires: number | false;
  readonly refreshTokenExpires: number | false;
  readonly identityClaim: string;
  readonly errorMessageKey: string;
  readonly tokenLocation: readonly TokenLocation[];
  readonly queryStringName: string;
  readonly jsonKey: string;
  readonly refreshJsonKey: string;
  readonly cookies: CookieSettings;
  readonly headerName: string;
  readonly headerType: string;
  readonly leeway: number;
  readonly maxTokenLength: number;
  readonly cache?: VerifiedTokenCache;
  readonly allowHighS: boolean;
  readonly encodeNbf: boolean;
  readonly encodeAudience?: string | string[];
  readonly decodeAudience?: readonly string[];
  readonly encodeIssuer?: string;
  readonly decodeIssuer?: string;
  readonly rolesClaim: string;
  readonly userIdentityLoader?: (user: never) => Identity | Promise<Identity>;
  readonly additionalClaimsLoader?: (identity: unknown) => Record<string, unknown> | Promise<Record<string, unknown>>;
  readonly additionalHeadersLoader?: (identity: unknown) => Record<string, unknown> | Promise<Record<string, unknown>>;
  readonly userLookupLoader?: (header: JwtHeader, claims: JwtClaims) => unknown;
  readonly tokenVerificationLoader?: (header: JwtHeader, claims: JwtClaims) => boolean | Promise<boolean>;
  readonly errorCallbacks: ErrorCallbacks;
  readonly onCallbackError: CallbackErrorHandler;
  readonly rfc6750Errors: boolean;
  readonly revocation: Revocation;
  readonly events: JwtEventEmitter;
  readonly clock: Clock;
}

const LOCATIONS: readonly TokenLocation[] = ['headers', 'cookies', 'query_string', 'json'];

/** Checks `config` and fills in defaults; throws an `Error` saying what to fix. */
export function resolveConfig<User>(config: JwtConfig<User>): ResolvedConfig {
  if (typeof config !== 'object' || config === null) {
    throw new TypeError('JwtManager: expected a configuration object, e.g. new JwtManager({ secretKey })');
  }
  const tokenLocation = config.tokenLocation ?? ['headers'];
  if (tokenLocation.length === 0 || tokenLocation.some((l) => !LOCATIONS.includes(l)) || new Set(tokenLocation).size !== tokenLocation.length) {
    throw new Error(`JwtManager: \`tokenLocation\` must list one or more of ${LOCATIONS.join(', ')}, each once`);
  }
  const headerName = config.headerName ?? 'Authorization';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(headerName)) {
    throw new Error(`JwtManager: \`headerName\` ${JSON.stringify(headerName)} is not a valid HTTP header name`);
  }
  const headerType = config.headerType ?? 'Bearer';
  if (/\s/.test(headerType)) throw new Error('JwtManager: `headerType` is a single word such as "Bearer", or ""');

  const identityClaim = nonEmpty(config.identityClaim ?? 'sub', 'identityClaim');
  const accessTokenExpires = expiry(config.accessTokenExpires ?? '15m', 'accessTokenExpires');
  const refreshTokenExpires = expiry(config.refreshTokenExpires ?? '30d', 'refreshTokenExpires');
  const revocationChecks = config.revocationChecks ?? ['access', 'refresh'];
  if (revocationChecks.some((type) => type !== 'access' && type !== 'refresh')) {
    throw new Error('JwtManager: `revocationChecks` lists token types: \'access\', \'refresh\'');
  }
  const timeout = toMilliseconds(config.revocationStoreTimeout ?? '1s', 'JwtManager: `revocationStoreTimeout`');
  if (timeout === 0) throw new Error('JwtManager: `revocationStoreTimeout` must be longer than 0 ms');
  const onCallbackError = config.onCallbackError ?? logCallbackError;
  const { decodeKeyLoader, encodeKeyLoader, userLookupLoader, tokenVerificationLoader } = config;
  // The callbacks that shape a new token: one that throws refuses the token (503), carrying nothing of its error.
  const issuing = <A extends unknown[], R>(callback: ((...args: A) => R | Promise<R>) | undefined, name: CallbackName) =>
    callback && guardCallback(callback, name, onCallbackError, () => new TokenIssueError());
  // The key store first: its message about a key that does not fit its algorithm says more.
  const keys = new KeyStore({
    ...config,
    decodeKeyLoader: decodeKeyLoader && guardCallback(decodeKeyLoader, 'decodeKeyLoader', onCallbackError, noVerificationKey),
    encodeKeyLoader: issuing(encodeKeyLoader, 'encodeKeyLoader'),
  }, (error, callback) => reportCallbackError(onCallbackError, error, { callback }));
  checkKeyOptions(config);
  const leeway = toSeconds(config.leeway ?? 0, 'JwtManager: `leeway`');
  const sessionMaxAge = config.sessionMaxAge === undefined ? undefined : toSeconds(config.sessionMaxAge, 'JwtManager: `sessionMaxAge`');
  if (sessionMaxAge === 0) throw new Error('JwtManager: `sessionMaxAge` must be longer than 0 s');
  const sessionIdleTimeout = config.sessionIdleTimeout === undefined
    ? undefined : toMilliseconds(config.sessionIdleTimeout, 'JwtManager: `sessionIdleTimeout`');
  if (sessionIdleTimeout === 0) throw new Error('JwtManager: `sessionIdleTimeout` must be longer than 0 ms');
  // A listener that throws is the app's callback failing: reported like the others, never breaking the request.
  const events = new JwtEventEmitter((error, event) => reportCallbackError(onCallbackError, error, { callback: `events.${event}` }));
  const clock = config.clock ?? systemClock;
  if (typeof clock.now !== 'function') throw new Error('JwtManager: `clock` has a `now()` giving milliseconds since the epoch, as `Date` has');

  return {
    keys,
    accessTokenExpires,
    refreshTokenExpires,
    identityClaim,
    errorMessageKey: nonEmpty(config.errorMessageKey ?? 'msg', 'errorMessageKey'),
    tokenLocation,
    queryStringName: nonEmpty(config.queryStringName ?? 'jwt', 'queryStringName'),
    jsonKey: nonEmpty(config.jsonKey ?? 'access_token', 'jsonKey'),
    refreshJsonKey: nonEmpty(config.refreshJsonKey ?? 'refresh_token', 'refreshJsonKey'),
    cookies: cookieSettings(config),
    headerName,
    headerType,
    leeway,
    maxTokenLength: positiveInteger(config.maxTokenLength ?? 8192, 'maxTokenLength'),
    cache: config.verifiedTokenCache === false ? undefined : new VerifiedTokenCache({
      maxEntries: config.verifiedTokenCache?.maxEntries,
      ttl: toMilliseconds(config.verifiedTokenCache?.ttl ?? '5m', 'JwtManager: `verifiedTokenCache.ttl`'),
      clock,
    }),
    allowHighS: config.allowHighS ?? true,
    encodeNbf: config.encodeNbf ?? true,
    encodeAudience: config.encodeAudience,
    decodeAudience: config.decodeAudience === undefined ? undefined : ([] as string[]).concat(config.decodeAudience),
    encodeIssuer: config.encodeIssuer,
    decodeIssuer: config.decodeIssuer,
    rolesClaim: nonEmpty(config.rolesClaim ?? 'roles', 'rolesClaim'),
    userIdentityLoader: issuing(config.userIdentityLoader, 'userIdentityLoader') as ResolvedConfig['userIdentityLoader'],
    additionalClaimsLoader: issuing(config.additionalClaimsLoader, 'additionalClaimsLoader') as ResolvedConfig['additionalClaimsLoader'],
    additionalHeadersLoader: issuing(config.additionalHeadersLoader, 'additionalHeadersLoader') as ResolvedConfig['additionalHeadersLoader'],
    userLookupLoader: userLookupLoader && guardCallback(userLookupLoader, 'userLookupLoader', onCallbackError,
      (_header, claims) => new UserLookupError(`Error loading the user ${String(claims[identityClaim])}`)),
    tokenVerificationLoader: tokenVerificationLoader && guardCallback(tokenVerificationLoader, 'tokenVerificationLoader', onCallbackError,
      () => new ClaimsVerificationError()),
    errorCallbacks: config.errorCallbacks ?? {},
    onCallbackError,
    rfc6750Errors: config.rfc6750Errors ?? false,
    revocation: new Revocation({
      store: config.revocationStore ?? new MemoryRevocationStore({ clock }),
      checks: revocationChecks,
      rotation: config.refreshTokenRotation ?? false,
      gracePeriod: toMilliseconds(config.rotationGracePeriod ?? '5s', 'JwtManager: `rotationGracePeriod`'),
      timeout,
      failOpen: config.revocationFailOpen ?? false,
      lifetimes: new Lifetimes(accessTokenExpires, refreshTokenExpires, leeway, clock),
      sessionMaxAge,
      sessionIdleTimeout,
      maxSessionsPerIdentity: positiveInteger(config.maxSessionsPerIdentity ?? 100, 'maxSessionsPerIdentity'),
      clock,
    }, identityClaim, events),
    events,
    clock,
  };
}

/**
 * Refuses key options that contradict each other, which would otherwise be
 * silently ignored: a secret where no HS algorithm is in play (`algorithm:
 * 'ES256'` with `privateKey` and `secretKey`), a private or public key where only
 * HS algorithms are, a private key that neither signs nor verifies, and a public
 * key that is not the private key's half (tokens signed here would not verify).
 * Ring keys are checked the same way, one by one.
 */
function checkKeyOptions<User>(config: JwtConfig<User>): void {
  if (config.keys !== undefined) {
    config.keys.forEach((key, index) => checkKeyPair(key.privateKey, key.publicKey, `keys[${index}]: `));
    return;
  }
  const signing = config.algorithm ?? 'HS256';
  const inPlay = [signing, ...(config.decodeAlgorithms ?? [])];
  const hmac = (alg: string) => alg.startsWith('HS');
  const asymmetricDecode = (config.decodeAlgorithms ?? [signing]).some((alg) => !hmac(alg));
  const algorithms = [...new Set(inPlay)].join(', ');
  if (config.secretKey !== undefined && !inPlay.some(hmac)) {
    throw new Error(`JwtManager: \`secretKey\` is for HS algorithms, but the algorithms in use (${algorithms}) take \`privateKey\`/\`publicKey\`; remove \`secretKey\` (or list an HS algorithm in \`decodeAlgorithms\` to verify HS tokens with it)`);
  }
  if ((config.privateKey !== undefined || config.publicKey !== undefined) && inPlay.every(hmac)) {
    const option = config.privateKey !== undefined ? 'privateKey' : 'publicKey';
    throw new Error(`JwtManager: \`${option}\` is for RS, PS and ES algorithms, but the algorithms in use (${algorithms}) take \`secretKey\`; remove \`${option}\` (or set \`algorithm\` to the key's algorithm)`);
  }
  if (config.privateKey !== undefined && hmac(signing) && !(asymmetricDecode && config.publicKey === undefined)) {
    throw new Error(`JwtManager: \`privateKey\` is not used: ${signing} signs with \`secretKey\`, and \`publicKey\` verifies; remove \`privateKey\``);
  }
  checkKeyPair(config.privateKey, config.publicKey, '');
}

/** A public key given beside a private key must be its public half. */
function checkKeyPair(privateKey: KeyMaterial | undefined, publicKey: KeyMaterial | undefined, where: string): void {
  if (privateKey === undefined || publicKey === undefined) return;
  const derived = publicHalf(privateKey);
  const given = publicHalf(publicKey);
  // Unreadable keys are reported by the key store, with its own message.
  // Compared as SPKI bytes: KeyObject.equals on keys of two types leaves an error on
  // OpenSSL's queue that fails the next, unrelated key parse (node 20).
  const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
  if (derived && given && !spki(derived).equals(spki(given))) {
    throw new Error(`JwtManager: ${where}\`publicKey\` is not the public half of \`privateKey\`, so tokens signed here would not verify; omit \`publicKey\` (it is derived from \`privateKey\`)`);
  }
}

function publicHalf(material: KeyMaterial): KeyObject | undefined {
  try {
    if (material instanceof KeyObject) return material.type === 'private' ? createPublicKey(material) : material.type === 'public' ? material : undefined;
    if (typeof material === 'string' || Buffer.isBuffer(material)) return createPublicKey(material);
    return createPublicKey({ key: material as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** Seconds a token lives, or `false` for tokens without `exp`. */
export function expiry(value: Duration | false, what: string): number | false {
  if (value === false) return false;
  const seconds = toSeconds(value, `JwtManager: \`${what}\``);
  if (seconds === 0) throw new Error(`JwtManager: \`${what}\` must be longer than 0 s, or \`false\` for no expiry`);
  return seconds;
}

function nonEmpty(value: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`JwtManager: \`${what}\` must be a non-empty string`);
  return value;
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`JwtManager: \`${what}\` must be a positive integer`);
  return value;
}

function cookieSettings<User>(config: JwtConfig<User>): CookieSettings {
  const sameSite = config.cookieSameSite;
  if (sameSite !== undefined && !['Strict', 'Lax', 'None'].includes(sameSite)) {
    throw new Error("JwtManager: `cookieSameSite` is 'Strict', 'Lax' or 'None'");
  }
  if (sameSite === 'None' && !config.cookieSecure) throw new Error("JwtManager: `cookieSameSite: 'None'` needs `cookieSecure: true` (browsers refuse it otherwise)");
  const access = cookieNames(config, 'access');
  const refresh = cookieNames(config, 'refresh');
  for (const [type, names] of [['access', access], ['refresh', refresh]] as const) {
    checkPrefix(config, names.cookie, `${type}CookieName`, names.path, `${type}CookiePath`);
    checkPrefix(config, names.csrfCookie, `${type}CsrfCookieName`, names.csrfPath, `${type}CsrfCookiePath`);
  }
  return {
    access,
    refresh,
    domain: config.cookieDomain,
    secure: config.cookieSecure ?? false,
    sameSite,
    session: config.sessionCookie ?? true,
    maxAgeFromToken: config.cookieMaxAgeFromToken ?? false,
    csrfProtect: config.cookieCsrfProtect ?? true,
    csrfMethods: (config.csrfMethods ?? ['POST', 'PUT', 'PATCH', 'DELETE']).map((method) => method.toUpperCase()),
    csrfInCookies: config.csrfInCookies ?? true,
    csrfCheckForm: config.csrfCheckForm ?? false,
  };
}

/** One token type's cookie settings; the option names and defaults differ only by the type. */
function cookieNames<User>(config: JwtConfig<User>, type: TokenType): CookieNames {
  return {
    cookie: cookieName(config[`${type}CookieName`] ?? `${type}_token_cookie`, `${type}CookieName`),
    path: config[`${type}CookiePath`] ?? '/',
    csrfCookie: cookieName(config[`${type}CsrfCookieName`] ?? `csrf_${type}_token`, `${type}CsrfCookieName`),
    csrfPath: config[`${type}CsrfCookiePath`] ?? '/',
    csrfHeader: nonEmpty(config[`${type}CsrfHeaderName`] ?? 'X-CSRF-TOKEN', `${type}CsrfHeaderName`),
    csrfField: nonEmpty(config[`${type}CsrfFieldName`] ?? 'csrf_token', `${type}CsrfFieldName`),
  };
}

/**
 * A cookie name prefix's rules (RFC 6265bis §4.1.3), which browsers enforce by
 * dropping the cookie: the login would seem to work and set nothing. Matched in
 * any case, as current browsers match prefixes. `__Host-` is what makes a
 * cookie immune to tossing from a sibling subdomain: Secure, on `/`, never
 * with a Domain, so only this host can set it.
 */
function checkPrefix<User>(config: JwtConfig<User>, name: string, option: string, path: string, pathOption: string): void {
  const lower = name.toLowerCase();
  const prefix = lower.startsWith('__host-') ? '__Host-' : lower.startsWith('__secure-') ? '__Secure-' : undefined;
  if (!prefix) return;
  const named = `\`${option}\` ${JSON.stringify(name)}`;
  if (!config.cookieSecure) throw new Error(`JwtManager: ${named} needs \`cookieSecure: true\` (browsers drop a ${prefix} cookie without Secure)`);
  if (prefix !== '__Host-') return;
  if (config.cookieDomain) throw new Error(`JwtManager: ${named} cannot have a \`cookieDomain\` (browsers drop a __Host- cookie with a Domain)`);
  if (path !== '/') throw new Error(`JwtManager: ${named} needs \`${pathOption}\` '/' (browsers drop a __Host- cookie on any other path), not ${JSON.stringify(path)}`);
}

function cookieName(value: string, what: string): string {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) throw new Error(`JwtManager: \`${what}\` ${JSON.stringify(value)} is not a valid cookie name`);
  return value;
}
