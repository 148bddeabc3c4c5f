import { toSeconds, type Duration } from './duration';
import { ALGORITHMS, isAlgorithm, KeySet, type Algorithm, type KeyMaterial } from './keys';

/**
 * Configuration of a {@link JwtManager}: Flask-JWT-Extended's settings in camelCase.
 * Only the key (`secretKey`, or `privateKey`/`publicKey`) is required.
 */
export interface JwtConfig {
  /** HMAC secret for the HS algorithms; at least as many bytes as the hash (32 for HS256). */
  secretKey?: KeyMaterial;
  /** Accept a secret shorter than RFC 7518 allows. Meant for tests only. Default `false`. */
  allowWeakSecret?: boolean;
  /** Algorithm new tokens are signed with. Default `'HS256'`. */
  algorithm?: Algorithm;
  /** Algorithms accepted when verifying. Default: `[algorithm]`. */
  decodeAlgorithms?: Algorithm[];
  /** Private key (PEM or KeyObject) for RS, PS and ES algorithms. */
  privateKey?: KeyMaterial;
  /** Public key (PEM or KeyObject); derived from `privateKey` when omitted. */
  publicKey?: KeyMaterial;
  /** Lifetime of access tokens, or `false` for none. Default `'15m'`. */
  accessTokenExpires?: Duration | false;
  /** Lifetime of refresh tokens, or `false` for none. Default `'30d'`. */
  refreshTokenExpires?: Duration | false;
  /** Claim that holds the identity. Default `'sub'`. */
  identityClaim?: string;
  /** Key of the error message in JSON error bodies. Default `'msg'`. */
  errorMessageKey?: string;
  /** Where tokens are looked for. Default `['headers']`. */
  tokenLocation?: TokenLocation[];
  /** Header carrying the token. Default `'Authorization'`. */
  headerName?: string;
  /** Scheme in front of the token; `''` for a bare token. Default `'Bearer'`. */
  headerType?: string;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`. Default `0`. */
  leeway?: Duration;
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
}

/** Places a token can be read from. */
export type TokenLocation = 'headers';

/** The configuration with every default filled in and every value checked. */
export interface ResolvedConfig {
  readonly keys: KeySet;
  readonly accessTokenExpires: number | false;
  readonly refreshTokenExpires: number | false;
  readonly identityClaim: string;
  readonly errorMessageKey: string;
  readonly tokenLocation: readonly TokenLocation[];
  readonly headerName: string;
  readonly headerType: string;
  readonly leeway: number;
  readonly encodeNbf: boolean;
  readonly encodeAudience?: string | string[];
  readonly decodeAudience?: readonly string[];
  readonly encodeIssuer?: string;
  readonly decodeIssuer?: string;
  readonly rolesClaim: string;
}

const LOCATIONS: readonly TokenLocation[] = ['headers'];

/** Checks `config` and fills in defaults; throws an `Error` saying what to fix. */
export function resolveConfig(config: JwtConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null) {
    throw new TypeError('JwtManager: expected a configuration object, e.g. new JwtManager({ secretKey })');
  }
  const algorithm = config.algorithm ?? 'HS256';
  const decodeAlgorithms = config.decodeAlgorithms ?? [algorithm];
  for (const alg of [algorithm, ...decodeAlgorithms]) {
    if (!isAlgorithm(alg)) {
      throw new Error(`JwtManager: unknown algorithm ${JSON.stringify(alg)}; use one of ${ALGORITHMS.join(', ')}`);
    }
  }
  if (decodeAlgorithms.length === 0) throw new Error('JwtManager: `decodeAlgorithms` must list at least one algorithm');

  const tokenLocation = config.tokenLocation ?? ['headers'];
  if (tokenLocation.length === 0 || tokenLocation.some((l) => !LOCATIONS.includes(l))) {
    throw new Error(`JwtManager: \`tokenLocation\` must list one or more of ${LOCATIONS.join(', ')}`);
  }
  const headerName = config.headerName ?? 'Authorization';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(headerName)) {
    throw new Error(`JwtManager: \`headerName\` ${JSON.stringify(headerName)} is not a valid HTTP header name`);
  }
  const headerType = config.headerType ?? 'Bearer';
  if (/\s/.test(headerType)) throw new Error('JwtManager: `headerType` is a single word such as "Bearer", or ""');

  return {
    keys: new KeySet(algorithm, decodeAlgorithms, {
      secretKey: config.secretKey,
      privateKey: config.privateKey,
      publicKey: config.publicKey,
      allowWeakSecret: config.allowWeakSecret ?? false,
    }),
    accessTokenExpires: expiry(config.accessTokenExpires ?? '15m', 'accessTokenExpires'),
    refreshTokenExpires: expiry(config.refreshTokenExpires ?? '30d', 'refreshTokenExpires'),
    identityClaim: nonEmpty(config.identityClaim ?? 'sub', 'identityClaim'),
    errorMessageKey: nonEmpty(config.errorMessageKey ?? 'msg', 'errorMessageKey'),
    tokenLocation,
    headerName,
    headerType,
    leeway: toSeconds(config.leeway ?? 0, 'JwtManager: `leeway`'),
    encodeNbf: config.encodeNbf ?? true,
    encodeAudience: config.encodeAudience,
    decodeAudience: config.decodeAudience === undefined ? undefined : ([] as string[]).concat(config.decodeAudience),
    encodeIssuer: config.encodeIssuer,
    decodeIssuer: config.decodeIssuer,
    rolesClaim: nonEmpty(config.rolesClaim ?? 'roles', 'rolesClaim'),
  };
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
