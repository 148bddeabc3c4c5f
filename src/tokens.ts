import { randomUUID } from 'node:crypto';
import { now, RESERVED_CLAIMS, type JwtClaims, type TokenType } from './claims';
import { expiry, type Identity, type ResolvedConfig } from './config';
import { toSeconds, type Duration } from './duration';
import { sign as jwsSign } from 'jsonwebtoken';
import { toLowS } from './ecdsa';
import { verifyToken, type VerifyOptions } from './verify';

/** Options for {@link TokenFactory.createRefreshToken}. */
export interface CreateTokenOptions {
  /** Lifetime in seconds or as `'15m'`-style string, or `false` for no `exp`. Default: the configured one. */
  expiresIn?: Duration | false;
  /** Extra claims. They may not set `type`, `fresh`, `jti`, `iat`, `nbf`, `exp` or the identity claim. */
  additionalClaims?: Record<string, unknown>;
  /** Extra JOSE header parameters. They may not set `alg` or `crit`, nor `kid` with a key ring. */
  additionalHeaders?: Record<string, unknown>;
}

/** An access token and a refresh token of one session. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
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
 * parameter. `User` is what tokens may be created for besides an identity, when
 * the configuration has a `userIdentityLoader`.
 */
export class TokenFactory<User = never> {
  /** @internal Built by {@link JwtManager}; use `jwt.tokens`. */
  constructor(private readonly config: ResolvedConfig) {}

  /** Creates an access token for `identity`, or for a user object through `userIdentityLoader`. */
  async createAccessToken(identity: Identity | User, options: CreateAccessTokenOptions = {}): Promise<string> {
    return this.sign(await this.subjectOf(identity), 'access', freshClaim(options.fresh ?? false), options);
  }

  /** Creates a refresh token for `identity` (never fresh). */
  async createRefreshToken(identity: Identity | User, options: CreateTokenOptions = {}): Promise<string> {
    return this.sign(await this.subjectOf(identity), 'refresh', false, options, this.config.revocation.rotates ? randomUUID() : undefined);
  }

  /**
   * An access token and a refresh token of one session: under `refreshTokenRotation`
   * both carry a new family, so revoking the family (or reusing the refresh token)
   * ends both.
   */
  async createTokenPair(identity: Identity | User, options: CreateAccessTokenOptions = {}): Promise<TokenPair> {
    const { fresh, ...tokenOptions } = options;
    return this.pair(identity, freshClaim(fresh ?? false), tokenOptions, this.config.revocation.rotates ? randomUUID() : undefined);
  }

  /**
   * The answer of a refresh route under rotation: a new, non-fresh access token
   * and a new refresh token in the same family as the refresh token just used
   * (whose claims are `claims`; the route has already used it up). Both keep
   * the session's custom claims (roles, tenant …) as given at login, like
   * {@link renew}; what `additionalClaimsLoader` gives for the identity, then
   * `options.additionalClaims`, add to them or replace them.
   */
  async rotate(claims: JwtClaims, options: CreateTokenOptions = {}): Promise<TokenPair> {
    if (claims.type !== 'refresh') throw new TypeError('rotate: pass the claims of the refresh token the route verified');
    const identity = claims[this.config.identityClaim] as string;
    return this.pair(identity, false, this.carrying(claims, options), typeof claims.fam === 'string' ? claims.fam : randomUUID());
  }

  /**
   * A new, non-fresh access token for the same identity, custom claims and
   * family as the access token whose claims are given (implicit refresh uses it).
   */
  async renew(claims: JwtClaims, options: CreateTokenOptions = {}): Promise<string> {
    const identity = claims[this.config.identityClaim] as string;
    const family = typeof claims.fam === 'string' ? claims.fam : undefined;
    return this.sign(await this.subjectOf(identity), 'access', false, this.carrying(claims, options), family);
  }

  /** Verifies `token` and returns its claims; rejects with a {@link JwtError} when it is not valid. */
  async decodeToken(token: string, options?: VerifyOptions): Promise<JwtClaims> {
    return (await verifyToken(token, this.config, options)).claims;
  }

  /**
   * `options` with the custom claims of `claims` carried over: everything but
   * the token's own claims, its identity, `aud` and `iss`, which the
   * configuration sets anew. What `additionalClaimsLoader` gives for the
   * identity, then explicit `additionalClaims`, win over carried claims.
   */
  private carrying(claims: JwtClaims, options: CreateTokenOptions): SignOptions {
    const carriedClaims = Object.fromEntries(Object.entries(claims).filter(([claim]) =>
      !RESERVED_CLAIMS.includes(claim) && claim !== this.config.identityClaim && claim !== 'aud' && claim !== 'iss'));
    return { ...options, carriedClaims };
  }

  /** Both tokens of a pair share one look-up of the identity and its revocation generation. */
  private async pair(identity: Identity | User, fresh: boolean | number, options: SignOptions, family: string | undefined): Promise<TokenPair> {
    const subject = await this.subjectOf(identity);
    return {
      accessToken: await this.sign(subject, 'access', fresh, options, family),
      refreshToken: await this.sign(subject, 'refresh', false, options, family),
    };
  }

  /** What a token is created for: as given (for the claims loaders), its identity, and the identity's generation. */
  private async subjectOf(given: Identity | User): Promise<Subject<User>> {
    const { userIdentityLoader, revocation } = this.config;
    const isIdentity = typeof given === 'string' || typeof given === 'number';
    const identity = identityClaim(userIdentityLoader && !isIdentity ? await userIdentityLoader(given as never) : given);
    return { given, identity, generation: await revocation.generation(identity) };
  }

  private async sign(
    { given, identity, generation }: Subject<User>,
    type: TokenType,
    fresh: boolean | number,
    options: SignOptions,
    family?: string,
  ): Promise<string> {
    const config = this.config;
    const configured = type === 'access' ? config.accessTokenExpires : config.refreshTokenExpires;
    const lifetime = options.expiresIn === undefined ? configured : expiry(options.expiresIn, 'expiresIn');
    // The verifier requires `exp` unless the configuration issues non-expiring tokens of this type.
    if (lifetime === false && configured !== false) {
      throw new TypeError(`expiresIn: false needs ${type}TokenExpires: false in the configuration; tokens without exp are refused otherwise`);
    }
    const iat = now();
    // Flask-JWT-Extended's claim order, so tokens read the same side by side.
    const claims: Record<string, unknown> = { fresh, iat, jti: randomUUID(), type, [config.identityClaim]: identity };
    if (config.encodeNbf) claims.nbf = iat;
    if (config.cookies.csrfProtect && config.tokenLocation.includes('cookies')) claims.csrf = randomUUID();
    if (config.encodeAudience !== undefined) claims.aud = config.encodeAudience;
    if (config.encodeIssuer !== undefined) claims.iss = config.encodeIssuer;
    if (family !== undefined) claims.fam = family;
    if (generation > 0) claims.gen = generation;
    if (lifetime !== false) claims.exp = iat + lifetime;
    const loadedClaims = config.additionalClaimsLoader ? await config.additionalClaimsLoader(given) : {};
    for (const [claim, value] of Object.entries({ ...options.carriedClaims, ...loadedClaims, ...options.additionalClaims })) {
      if (RESERVED_CLAIMS.includes(claim) || claim === config.identityClaim) {
        throw new TypeError(`additionalClaims may not set "${claim}"; it is set by the token factory (see its options)`);
      }
      claims[claim] = value;
    }
    const loadedHeaders = config.additionalHeadersLoader ? await config.additionalHeadersLoader(given) : {};
    const header = { ...loadedHeaders, ...options.additionalHeaders };
    if ('alg' in header || 'crit' in header || ('kid' in header && config.keys.usesKeyIds)) {
      throw new TypeError(`additionalHeaders may not set "alg" or "crit"${config.keys.usesKeyIds ? ', nor "kid" with a key ring' : ''}`);
    }
    const { algorithm, key, kid } = await config.keys.signingKey(identity);
    const token = jwsSign(claims, key, { algorithm, header: { alg: algorithm, typ: 'JWT', ...header, ...(kid === undefined ? {} : { kid }) } });
    if (!algorithm.startsWith('ES')) return token;
    // Low s only, so verifiers that insist on one canonical form (see ecdsa.ts) accept our tokens.
    const signatureAt = token.lastIndexOf('.') + 1;
    return token.slice(0, signatureAt) + toLowS(algorithm, Buffer.from(token.slice(signatureAt), 'base64url')).toString('base64url');
  }
}

/** Token options plus the custom claims a renewed or rotated token carries over from its predecessor. */
interface SignOptions extends CreateTokenOptions {
  readonly carriedClaims?: Record<string, unknown>;
}

interface Subject<User> {
  readonly given: Identity | User;
  readonly identity: string;
  readonly generation: number;
}

function identityClaim(identity: unknown): string {
  if (typeof identity === 'string') return identity;
  if (typeof identity === 'number' && Number.isFinite(identity)) return String(identity);
  throw new TypeError('identity must be a string or a finite number; configure `userIdentityLoader` to create tokens from user objects');
}

function freshClaim(fresh: boolean | Duration | Date): boolean | number {
  if (typeof fresh === 'boolean') return fresh;
  if (fresh instanceof Date) return Math.floor(fresh.getTime() / 1000);
  return now() + toSeconds(fresh, 'fresh');
}
