import { randomUUID } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { now, RESERVED_CLAIMS, type JwtClaims, type TokenType } from './claims';
import { expiry, type ResolvedConfig } from './config';
import { toSeconds, type Duration } from './duration';
import { verifyToken, type VerifyOptions } from './verify';

/** What a token can be issued for: a string, or a number (stored as its decimal string). */
export type Identity = string | number;

/** Options for {@link TokenFactory.createRefreshToken}. */
export interface CreateTokenOptions {
  /** Lifetime in seconds or as `'15m'`-style string, or `false` for no `exp`. Default: the configured one. */
  expiresIn?: Duration | false;
  /** Extra claims. They may not set `type`, `fresh`, `jti`, `iat`, `nbf`, `exp` or the identity claim. */
  additionalClaims?: Record<string, unknown>;
  /** Extra JOSE header parameters, such as `kid`. They may not set `alg` or `crit`. */
  additionalHeaders?: Record<string, unknown>;
}

/** Options for {@link TokenFactory.createAccessToken}. */
export interface CreateAccessTokenOptions extends CreateTokenOptions {
  /**
   * Whether the token is fresh, i.e. issued right after the user proved who they are.
   * `true`/`false`, or a span (seconds or `'10m'`) / a `Date` up to which it counts as fresh.
   * Default `false`.
   */
  fresh?: boolean | Duration | Date;
}

/**
 * Creates and decodes tokens; reach it as `jwt.tokens`. With a DI container such
 * as typedi, `jwt.provideTo(Container)` lets controllers take it as a constructor
 * parameter.
 */
export class TokenFactory {
  /** @internal Built by {@link JwtManager}; use `jwt.tokens`. */
  constructor(private readonly config: ResolvedConfig) {}

  /** Creates an access token for `identity`. */
  async createAccessToken(identity: Identity, options: CreateAccessTokenOptions = {}): Promise<string> {
    return this.sign(identity, 'access', freshClaim(options.fresh ?? false), options);
  }

  /** Creates a refresh token for `identity` (never fresh). */
  async createRefreshToken(identity: Identity, options: CreateTokenOptions = {}): Promise<string> {
    return this.sign(identity, 'refresh', false, options);
  }

  /** Verifies `token` and returns its claims; rejects with a {@link JwtError} when it is not valid. */
  async decodeToken(token: string, options?: VerifyOptions): Promise<JwtClaims> {
    return verifyToken(token, this.config, options).claims;
  }

  private sign(identity: Identity, type: TokenType, fresh: boolean | number, options: CreateTokenOptions): string {
    const config = this.config;
    const lifetime = options.expiresIn === undefined
      ? (type === 'access' ? config.accessTokenExpires : config.refreshTokenExpires)
      : expiry(options.expiresIn, 'expiresIn');
    const iat = now();
    // Flask-JWT-Extended's claim order, so tokens read the same side by side.
    const claims: Record<string, unknown> = { fresh, iat, jti: randomUUID(), type, [config.identityClaim]: identityClaim(identity) };
    if (config.encodeNbf) claims.nbf = iat;
    if (config.encodeAudience !== undefined) claims.aud = config.encodeAudience;
    if (config.encodeIssuer !== undefined) claims.iss = config.encodeIssuer;
    if (lifetime !== false) claims.exp = iat + lifetime;
    for (const [claim, value] of Object.entries(options.additionalClaims ?? {})) {
      if (RESERVED_CLAIMS.includes(claim) || claim === config.identityClaim) {
        throw new TypeError(`additionalClaims may not set "${claim}"; it is set by the token factory (see its options)`);
      }
      claims[claim] = value;
    }
    const header = options.additionalHeaders ?? {};
    if ('alg' in header || 'crit' in header) throw new TypeError('additionalHeaders may not set "alg" or "crit"');
    return jsonwebtoken.sign(claims, config.keys.signingKey(), {
      algorithm: config.keys.algorithm,
      header: { alg: config.keys.algorithm, ...header },
    });
  }
}

function identityClaim(identity: Identity): string {
  if (typeof identity === 'string') return identity;
  if (typeof identity === 'number' && Number.isFinite(identity)) return String(identity);
  throw new TypeError('identity must be a string or a finite number; map user objects to one (e.g. their id) first');
}

function freshClaim(fresh: boolean | Duration | Date): boolean | number {
  if (typeof fresh === 'boolean') return fresh;
  if (fresh instanceof Date) return Math.floor(fresh.getTime() / 1000);
  return now() + toSeconds(fresh, 'fresh');
}
