import { randomUUID } from 'node:crypto';
import { now, RESERVED_CLAIMS, type JwtClaims, type TokenType } from './claims';
import type { Clock } from './clock';
import type { Identity, ResolvedConfig } from './config';
import { toSeconds, type Duration } from './duration';
import { sign as jwsSign } from 'jsonwebtoken';
import { toLowS } from './ecdsa';
import type { RevokedTokenError } from './errors';
import { successorSession } from './revocation';
import type { SessionMetadata } from './events';
import { claimsShaped, verifyToken, type VerifyOptions } from './verify';

/** Options for {@link TokenFactory.createRefreshToken}. */
export interface CreateTokenOptions {
  /**
   * Lifetime in seconds or as `'15m'`-style string, or `false` for no `exp`. Default: the configured one.
   * Zero or negative (`-60`, `'-1h'`) mints a token that has already expired, e.g. to test expiry.
   */
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
  /** The session (token family) both belong to: `jwt.sessions()` lists it, `jwt.revokeSession()` ends it. */
  sessionId: string;
}

/** Options for {@link TokenFactory.createAccessToken}. */
export interface CreateAccessTokenOptions extends CreateTokenOptions {
  /**
   * Whether the token is fresh, i.e. issued right after the user proved who they are.
   * `true`/`false`, or a span (seconds or `'10m'`) / a `Date` up to which it counts as fresh
   * (a negative span, like a past `Date`, mints a token whose freshness has passed, e.g. to test it).
   * Default `false`.
   */
  fresh?: boolean | Duration | Date;
}

/** Options for {@link TokenFactory.createTokenPair}. */
export interface CreateTokenPairOptions extends CreateAccessTokenOptions {
  /**
   * The app's metadata of the session this login starts (user agent, IP, a
   * label), listed by `jwt.sessions()`: at most 16 entries of strings (cut to
   * 256 characters), finite numbers, booleans or null.
   */
  session?: SessionMetadata;
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

  /**
   * Creates an access token for `identity`, or for a user object through `userIdentityLoader`.
   * Rejects with 401 ({@link RevokedTokenError}) when it would outlive a revocation: in a refresh
   * route, when the refresh token the request verified was revoked since (a logout-everywhere
   * racing the refresh).
   */
  async createAccessToken(identity: Identity | User, options: CreateAccessTokenOptions = {}): Promise<string> {
    return this.standalone(identity, 'access', freshClaim(options.fresh ?? false, this.config.clock), options);
  }

  /** Creates a refresh token for `identity` (never fresh); under rotation it starts a session of its own. */
  async createRefreshToken(identity: Identity | User, options: CreateTokenOptions = {}): Promise<string> {
    if (!this.config.revocation.rotates) return this.standalone(identity, 'refresh', false, options);
    const subject = await this.identify(identity);
    const refresh = this.plan('refresh', options);
    const session = await this.checkedSession(subject.identity, refresh, [refresh.exp], {});
    return this.sign({ ...subject, generation: session.generation }, refresh, false, options, session.id);
  }

  /**
   * A login: starts a session (the token family; with or without rotation) and
   * answers its access token, its refresh token and its id. Both tokens carry the
   * session, so ending it (`revokeSession`, `revokeFamily`, reuse of a rotated
   * refresh token, the session's limits) ends both.
   *
   * `expiresIn` sets both tokens' lifetime (and, without `sessionMaxAge`, the
   * session's), but the access token never outlives the session: its `exp` is
   * at most the session's absolute end (`sessionMaxAge`) and its idle limit
   * (`sessionIdleTimeout`) from now. Every token of the session is refused
   * once the session is past either limit, whatever its `exp`.
   */
  async createTokenPair(identity: Identity | User, options: CreateTokenPairOptions = {}): Promise<TokenPair> {
    const { fresh, session: metadata, ...tokenOptions } = options;
    const subject = await this.identify(identity);
    const access = this.plan('access', tokenOptions);
    const refresh = this.plan('refresh', tokenOptions);
    const session = await this.checkedSession(subject.identity, refresh, [access.exp, refresh.exp], metadata ?? {});
    const stamped = { ...subject, generation: session.generation };
    return {
      accessToken: await this.sign(stamped, this.within(access, session.expiresAt), freshClaim(fresh ?? false, this.config.clock), tokenOptions, session.id),
      refreshToken: await this.sign(stamped, refresh, false, tokenOptions, session.id),
      sessionId: session.id,
    };
  }

  /**
   * The answer of a refresh route under rotation: a new, non-fresh access token
   * and a new refresh token in the same session as the refresh token just used
   * (whose claims are `claims`; the route has already used it up). Both keep
   * the session's custom claims (roles, tenant …) as given at login, like
   * {@link renew}; what `additionalClaimsLoader` gives for the identity, then
   * `options.additionalClaims`, add to them or replace them. They keep its
   * generation, so a logout-everywhere that ran meanwhile covers them too;
   * rejects with 401 when the session ended during the refresh. The access
   * token does not outlive the session (see {@link createTokenPair}). Anything
   * not shaped as claims (a token string, a number, an array) is refused (422).
   */
  async rotate(given: JwtClaims, tokenOptions: CreateTokenOptions = {}): Promise<TokenPair> {
    const claims = claimsShaped(given, this.config.identityClaim);
    if (claims.type !== 'refresh') throw new TypeError('rotate: pass the claims of the refresh token the route verified');
    const options = this.carrying(claims, tokenOptions);
    const subject = await this.identify(claims[this.config.identityClaim] as string, claims);
    const access = this.plan('access', options);
    const refresh = this.plan('refresh', options);
    let sessionId = typeof claims.fam === 'string' ? claims.fam : undefined;
    let expiresAt: number | undefined;
    if (sessionId === undefined) {
      // A refresh token from outside any session: its successor starts one; under rotation named after
      // it (used up, it starts one at most, and its reuse ends that one).
      const named = this.config.revocation.rotates && typeof claims.jti === 'string' ? successorSession(claims.jti) : undefined;
      const started = await this.startSession(subject.identity, refresh, [access.exp, refresh.exp], {}, named);
      await this.config.revocation.successorStarted(claims, started.id, started.generation);
      ({ id: sessionId, expiresAt } = started);
      subject.generation = started.generation;
    } else {
      expiresAt = await this.config.revocation.rotated(subject.identity, sessionId, refresh.jti, [access.exp, refresh.exp]);
    }
    return {
      accessToken: await this.sign(subject, this.within(access, expiresAt), false, options, sessionId),
      refreshToken: await this.sign(subject, refresh, false, options, sessionId),
      sessionId,
    };
  }

  /**
   * A new, non-fresh access token for the same identity, custom claims, session
   * and generation as the access token whose claims are given (implicit refresh uses it).
   * Rejects with 401 when that token is revoked by now, or its session ended or
   * is past its limits; a session's renewal counts as its use (an active
   * session is not idle) and does not outlive it (see {@link createTokenPair}).
   * Anything not shaped as claims (a token string, a number, an array) is refused (422).
   */
  async renew(given: JwtClaims, options: CreateTokenOptions = {}): Promise<string> {
    const claims = claimsShaped(given, this.config.identityClaim);
    const family = typeof claims.fam === 'string' ? claims.fam : undefined;
    const subject = await this.identify(claims[this.config.identityClaim] as string, claims);
    const renewed = this.carrying(claims, options);
    const latest = await this.config.revocation.renewing(claims);
    const plan = capped(this.plan('access', renewed), latest);
    // A renewal may outlive what the identity's cut-off covers, like any token minted alone.
    await this.config.revocation.issued(subject.identity, plan.exp);
    return this.sign(subject, plan, false, renewed, family);
  }

  /**
   * Verifies `token` and returns its claims; rejects with a {@link JwtError} when it is not valid,
   * a value that is not a string included (422), so request input can be passed as it came.
   */
  async decodeToken(token: unknown, options?: VerifyOptions): Promise<JwtClaims> {
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

  /**
   * A token outside sessions: stamped with the identity's generation (refused when a
   * refresh of the identity in flight was revoked meanwhile); a long-lived one extends its horizon.
   */
  private async standalone(identity: Identity | User, type: TokenType, fresh: boolean | number, options: CreateTokenOptions): Promise<string> {
    const subject = await this.identify(identity);
    subject.generation = await this.config.revocation.generation(subject.identity);
    const plan = this.plan(type, options);
    await this.config.revocation.issued(subject.identity, plan.exp);
    await this.config.revocation.parentsStillValid(subject.identity);
    return this.sign(subject, plan, fresh, options);
  }

  /**
   * A login's session, started once no refresh in flight for the identity was revoked
   * meanwhile (so a refused login leaves nothing behind) and checked again after (a
   * revocation in between ends the session it started).
   */
  private async checkedSession(identity: string, refresh: TokenPlan, exps: Array<number | undefined>, metadata: SessionMetadata) {
    await this.config.revocation.parentsStillValid(identity);
    const session = await this.startSession(identity, refresh, exps, metadata);
    await this.config.revocation.parentsStillValid(identity, session.id);
    return session;
  }

  private async startSession(identity: string, refresh: TokenPlan, exps: Array<number | undefined>, metadata: SessionMetadata, id: string = randomUUID()) {
    const { generation, expiresAt } = await this.config.revocation.startSession({
      identity, id, refreshJti: refresh.jti, exps, refreshLifetime: refresh.lifetime, metadata,
    });
    return { id, generation, expiresAt };
  }

  /** A session's access-token plan, its `exp` brought within the session's limits (`expiresAt`: its absolute end). */
  private within(plan: TokenPlan, expiresAt: number | undefined): TokenPlan {
    return capped(plan, this.config.revocation.latestAccessExp(expiresAt));
  }

  /** What a token is created for: as given (for the claims loaders) and its identity; the generation of `parent` when it has one. */
  private async identify(given: Identity | User, parent?: JwtClaims): Promise<Subject<User>> {
    const { userIdentityLoader } = this.config;
    const isIdentity = typeof given === 'string' || typeof given === 'number';
    const identity = identityClaim(userIdentityLoader && !isIdentity ? await userIdentityLoader(given as never) : given);
    return { given, identity, generation: typeof parent?.gen === 'number' ? parent.gen : 0 };
  }

  /** A token's id and times, decided before it is signed so that its session can be recorded first. */
  private plan(type: TokenType, options: CreateTokenOptions): TokenPlan {
    const config = this.config;
    const configured = type === 'access' ? config.accessTokenExpires : config.refreshTokenExpires;
    const lifetime = options.expiresIn === undefined ? configured : tokenLifetime(options.expiresIn);
    // The verifier requires `exp` unless the configuration issues non-expiring tokens of this type.
    if (lifetime === false && configured !== false) {
      throw new TypeError(`expiresIn: false needs ${type}TokenExpires: false in the configuration; tokens without exp are refused otherwise`);
    }
    const iat = now(config.clock);
    return { type, jti: randomUUID(), iat, lifetime, exp: lifetime === false ? undefined : iat + lifetime };
  }

  private async sign(
    { given, identity, generation }: Subject<User>,
    { type, jti, iat, exp }: TokenPlan,
    fresh: boolean | number,
    options: SignOptions,
    family?: string,
  ): Promise<string> {
    const config = this.config;
    // Flask-JWT-Extended's claim order, so tokens read the same side by side.
    const claims: Record<string, unknown> = { fresh, iat, jti, type, [config.identityClaim]: identity };
    if (config.encodeNbf) claims.nbf = iat;
    if (config.cookies.csrfProtect && config.tokenLocation.includes('cookies')) claims.csrf = randomUUID();
    if (config.encodeAudience !== undefined) claims.aud = config.encodeAudience;
    if (config.encodeIssuer !== undefined) claims.iss = config.encodeIssuer;
    if (family !== undefined) claims.fam = family;
    if (generation > 0) claims.gen = generation;
    if (exp !== undefined) claims.exp = exp;
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
  generation: number;
}

interface TokenPlan {
  readonly type: TokenType;
  readonly jti: string;
  readonly iat: number;
  /** Seconds, or `false`: no `exp`. */
  readonly lifetime: number | false;
  readonly exp: number | undefined;
}

/** `plan` with its `exp` at most `latest` (seconds; `undefined`: no bound). */
function capped(plan: TokenPlan, latest: number | undefined): TokenPlan {
  return latest === undefined || (plan.exp !== undefined && plan.exp <= latest) ? plan : { ...plan, exp: latest };
}

function identityClaim(identity: unknown): string {
  if (typeof identity === 'string') return identity;
  if (typeof identity === 'number' && Number.isFinite(identity)) return String(identity);
  throw new TypeError('identity must be a string or a finite number; configure `userIdentityLoader` to create tokens from user objects');
}

/** A per-token `expiresIn`: like the configured lifetimes, but zero and negative spans are allowed. */
function tokenLifetime(expiresIn: Duration | false): number | false {
  return expiresIn === false ? false : signedSeconds(expiresIn, 'expiresIn');
}

/** A per-token span (`expiresIn`, `fresh`) in seconds; a negative one (`-60`, `'-1h'`) lies in the past, e.g. to test expiry. */
function signedSeconds(span: Duration, name: string): number {
  const negative = typeof span === 'number' ? span < 0 : typeof span === 'string' && span.trim().startsWith('-');
  if (!negative) return toSeconds(span, name);
  return -toSeconds(typeof span === 'number' ? -span : span.trim().slice(1), name);
}

function freshClaim(fresh: boolean | Duration | Date, clock: Clock): boolean | number {
  if (typeof fresh === 'boolean') return fresh;
  if (fresh instanceof Date) return Math.floor(fresh.getTime() / 1000);
  return now(clock) + signedSeconds(fresh, 'fresh');
}
