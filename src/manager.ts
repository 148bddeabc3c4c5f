import type { Action } from 'routing-controllers';
import { reportCallbackError } from './callbacks';
import { clientErrorHandler, expressErrorHandler, koaErrorHandler, type ClientErrorHandler, type ExpressErrorHandler } from './client-errors';
import { now, type JwtClaims, type TokenType } from './claims';
import { responseSetsCookie, setTokenCookies, unsetTokenCookies } from './cookies';
import { toSeconds, type Duration } from './duration';
import { resolveConfig, type Identity, type JwtConfig, type ResolvedConfig } from './config';
import { JwtDecodeError, JwtError, JwtRequirementMissingError } from './errors';
import type { JwtEventListener, JwtEventName } from './events';
import type { SessionInfo } from './revocation';
import { verifyRequest } from './guard';
import { CorsPreflightResponse, JsonHttpError, JwtHttpError } from './http-error';
import type { JsonWebKeySet } from './keys';
import {
  answerFailure, beforeHeadersSent, expressAdapter, type ExpressRequestLike, type ExpressResponseLike,
} from './request/adapter-express';
import type { KoaContextLike } from './request/adapter-koa';
import {
  actionKey, bindAction, bindRequest, driverMiddleware, type BoundRequest, type DriverContext, type JwtMiddleware, type KoaMiddleware,
} from './request/adapter';
import {
  recordAnonymous, requestDecider, requestState, restoreRequestState, saveRequestState, wasVerified, type JwtRequestState,
} from './request/state';
import { isThenable } from './thenable';
import { JwtRequirement, type JwtRequiredOptions } from './requirement';
import { errorResponse } from './responses';
import { cookieHeaders, headerLocation, tokenHeaders, type HeaderLocation } from './testing';
import { TokenFactory, type CreateAccessTokenOptions } from './tokens';
import { claimsShaped, tokenString } from './verify';

/** A dependency-injection container that registers a value for a class, such as typedi's `Container`. */
export interface ValueContainer {
  set(type: Function, value: unknown): unknown;
}

/** Options of {@link JwtManager.authHeaders}. */
export interface AuthHeadersOptions extends CreateAccessTokenOptions {
  /** Authenticate with a refresh token instead of an access token. */
  refresh?: boolean;
  /**
   * Carry the token in the Authorization header (`'headers'`), or in its cookie
   * with the CSRF header (`'cookies'`). Default: the first of the configured
   * `tokenLocation` that is one of them.
   */
  location?: HeaderLocation;
}

/** A cookie session for the app's tests: what a logged-in browser sends. See {@link JwtManager.cookieSession}. */
export interface CookieSession {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** For access routes: `Cookie` with both tokens' cookies and CSRF cookies, and the access token's CSRF header. */
  readonly headers: Record<string, string>;
  /** For refresh routes: the same `Cookie`, and the refresh token's CSRF header. */
  readonly refreshHeaders: Record<string, string>;
}

/** A renewed access token and its claims, for its cookies. */
interface Renewal {
  readonly token: string;
  readonly claims: JwtClaims;
}

let currentManager: JwtManager<unknown> | undefined;
/** The configuration of `currentManager`. */
let currentConfig: ResolvedConfig | undefined;

/**
 * The heart of the library: holds the checked configuration and the keys,
 * issues tokens (`tokens`) and decides every request (`authorizationChecker`,
 * `currentUserChecker`, both bound: pass them to routing-controllers as they are).
 *
 * @example
 * const jwt = new JwtManager({ secretKey: process.env.JWT_SECRET_KEY });
 * createKoaServer({ controllers, authorizationChecker: jwt.authorizationChecker, currentUserChecker: jwt.currentUserChecker });
 */
export class JwtManager<User = never> {
  /** Creates and decodes tokens. */
  readonly tokens: TokenFactory<User>;
  private readonly config: ResolvedConfig;

  /** Checks `config`; throws an `Error` that says what to fix when it is not usable. */
  constructor(config: JwtConfig<User>) {
    this.config = resolveConfig(config);
    this.tokens = new TokenFactory<User>(this.config);
    currentManager = this;
    currentConfig = this.config;
  }

  /**
   * routing-controllers' `authorizationChecker`: verifies the request against the
   * route's `@JwtRequired()` (or plain `@Authorized()`) requirement. Answers
   * `true` or throws the error that becomes the response; never answers `false`,
   * whose default message would echo the URL (and a `?jwt=` token in it).
   */
  readonly authorizationChecker = (action: Action, roles: unknown[]): boolean | Promise<boolean> => {
    const { options, roles: required } = JwtRequirement.fromAuthorizedRoles(roles);
    // Synchronous when the request needs nothing asynchronous (a cached token, an in-process store, no loaders).
    const state = this.verify(bindAction(action), options, required);
    return isThenable(state) ? state.then(authorized) : true;
  };

  /**
   * routing-controllers' `currentUserChecker`: the user of the verified token, for
   * `@CurrentUser()`. On a request that nothing verified (an action without a JWT
   * requirement) it throws a {@link JwtRequirementMissingError} instead of
   * answering `undefined` in silence.
   */
  readonly currentUserChecker = (action: Action): unknown => {
    const key = actionKey(action);
    if (!wasVerified(key)) {
      const { adapter, ctx } = bindAction(action);
      const request = adapter.describe?.(ctx);
      throw new JwtRequirementMissingError(`@CurrentUser() on ${request ? `${request.method} ${request.path}` : 'this action'}`);
    }
    return requestState(key)?.user;
  };

  /**
   * Verifies the request's token for code outside decorated actions (middleware,
   * or an action deciding for itself). Resolves to the request's state, or to
   * `undefined` for an anonymous request when `optional`; rejects with a
   * {@link JwtHttpError} that routing-controllers and Koa render as the error response.
   * Takes Koa's `ctx`, or Express's `req`.
   */
  async verifyJwtInRequest(ctx: DriverContext, options: JwtRequiredOptions = {}): Promise<JwtRequestState | undefined> {
    return this.verify(bindRequest(ctx), options, options.roles ?? []);
  }

  /**
   * Middleware requiring what `@JwtRequired(options)` requires, on Koa or
   * Express: for routes in front of or outside routing-controllers'. A failure
   * answers as in a decorated action (status, headers, JSON body). On Express
   * it is answered here, since Express would neither catch a rejected promise
   * (Express 4) nor render an error as JSON; other errors go to `next(error)`.
   */
  jwtRequired(options: JwtRequiredOptions = {}): JwtMiddleware {
    return driverMiddleware(
      async (ctx, next) => {
        await this.verifyJwtInRequest(ctx, options);
        await next();
      },
      (req, res, next) => {
        this.verifyJwtInRequest(req, options).then(() => next(), (error: unknown) => {
          if (!answerFailure(res, error)) next(error);
        });
      },
    );
  }

  /**
   * For the app's tests: the headers of a request authenticated as `identity`,
   * where the configuration reads tokens: `{ Authorization: 'Bearer eyJ…' }`
   * (configured `headerName` and `headerType`), or, for a cookies-first
   * `tokenLocation`, `{ Cookie: 'access_token_cookie=eyJ…; csrf_access_token=…',
   * 'X-CSRF-TOKEN': … }` (configured names). Mints an access token, or a refresh
   * token with `{ refresh: true }`; `fresh` and the other token options apply.
   */
  async authHeaders(identity: Identity | User, options: AuthHeadersOptions = {}): Promise<Record<string, string>> {
    const { refresh, location, ...tokenOptions } = options;
    const where = headerLocation(this.config, location);
    const token = refresh
      ? await this.tokens.createRefreshToken(identity, tokenOptions)
      : await this.tokens.createAccessToken(identity, tokenOptions);
    const csrf = where === 'cookies' ? (await this.tokens.decodeToken(token)).csrf : undefined;
    return tokenHeaders(this.config, where, refresh ? 'refresh' : 'access', token, csrf);
  }

  /**
   * For the app's tests: a logged-in cookie session of `identity` (a token pair,
   * as `createTokenPair` makes it), as the request headers a browser sends —
   * `headers` for access routes, `refreshHeaders` for refresh routes — each
   * with the token cookies, the readable CSRF cookies and the matching CSRF
   * header, all under the configured names.
   */
  async cookieSession(identity: Identity | User, options: CreateAccessTokenOptions = {}): Promise<CookieSession> {
    const { accessToken, refreshToken } = await this.tokens.createTokenPair(identity, options);
    const tokens = [
      { type: 'access', token: accessToken, csrf: (await this.tokens.decodeToken(accessToken)).csrf },
      { type: 'refresh', token: refreshToken, csrf: (await this.tokens.decodeToken(refreshToken)).csrf },
    ] as const;
    return {
      accessToken,
      refreshToken,
      headers: cookieHeaders(this.config, tokens, 'access'),
      refreshHeaders: cookieHeaders(this.config, tokens, 'refresh'),
    };
  }

  /**
   * An error response in the library's shape for the app's own failures:
   * `throw jwt.httpError(401, 'Bad username or password')` answers 401
   * `{ "msg": "Bad username or password" }` (under the configured
   * `errorMessageKey`) from any action, JSON or plain controller, on every driver.
   */
  httpError(status: number, message: string): JsonHttpError {
    return new JsonHttpError(status, { [this.config.errorMessageKey]: message });
  }

  /**
   * Koa: answers a body the body parser refuses (malformed JSON, too large, an
   * unknown encoding) in the library's shape, e.g. 400 `{ "msg": "Malformed JSON body" }`,
   * instead of Koa's text/plain. `app.use(jwt.koaErrorHandler())` before `useKoaServer(app, …)`.
   */
  koaErrorHandler(): KoaMiddleware {
    return koaErrorHandler((status, message) => this.httpError(status, message));
  }

  /**
   * Express: the same for Express's HTML error page, and an end to every error
   * routing-controllers has answered already (its Express driver hands each one
   * on, and Express's final handler would close the keep-alive connection).
   * `app.use(jwt.expressErrorHandler())` after `useExpressServer(app, …)`.
   */
  expressErrorHandler(): ExpressErrorHandler {
    return expressErrorHandler((status, message) => this.httpError(status, message));
  }

  /**
   * The HTTP server: answers a request node's parser refuses before any
   * middleware runs (headers beyond `maxHeaderSize`, 16 KiB by default; a
   * malformed request) in the library's shape, e.g. 431
   * `{ "msg": "Request Header Fields Too Large" }`, and closes the connection
   * without resetting it, so that the client reads the answer on every Node
   * line. `server.on('clientError', jwt.clientErrorHandler())`.
   */
  clientErrorHandler(): ClientErrorHandler {
    return clientErrorHandler((status, message) => this.httpError(status, message));
  }

  /**
   * Revokes one token, given as its verified claims (from `@CurrentJwt()`,
   * `getJwt()` or `decodeToken`) or as the raw token (verified first). It is
   * refused with 401 `Token has been revoked` from then on, on every instance
   * sharing the store, until it would have expired. Anything else (a number, an
   * array, an object without a string identity, a token that does not verify)
   * rejects with a {@link JwtError} (422). An object is taken as verified claims:
   * hand request input over as the token string it should be, never as an object.
   */
  async revokeToken(token: unknown): Promise<void> {
    await this.config.revocation.revokeToken(await this.claimsOf(token));
  }

  /**
   * Revokes the token's whole session under rotation: every access and refresh
   * token of its family. A token without a family is revoked alone. Takes what
   * {@link revokeToken} takes.
   */
  async revokeFamily(token: unknown): Promise<void> {
    await this.config.revocation.revokeFamily(await this.claimsOf(token));
  }

  /**
   * Log out everywhere: every token of `identity` issued until now is refused
   * and its sessions end, on every instance; new logins work at once. With
   * `except`, that session (the current device's, say) lives on: "log out everywhere else".
   */
  async revokeAllTokensFor(identity: Identity, options?: { except?: string }): Promise<void> {
    const except = options?.except;
    await this.config.revocation.revokeAll(identityOf(identity), except === undefined ? undefined : sessionIdOf(except));
  }

  /**
   * The identity's live sessions, newest first: `{ id, createdAt, lastUsedAt,
   * expiresAt, metadata }`. One store call (a script on Redis).
   */
  async sessions(identity: Identity): Promise<SessionInfo[]> {
    return this.config.revocation.sessions(identityOf(identity));
  }

  /**
   * Ends one session of `identity` ("log out that device"): its access and refresh tokens are refused at once,
   * on every instance. A session id that is not a string rejects with a {@link JwtError} (422).
   */
  async revokeSession(identity: Identity, sessionId: string): Promise<void> {
    await this.config.revocation.endSession(identityOf(identity), sessionIdOf(sessionId));
  }

  /**
   * Listens to an event: `login`, `refresh`, `logout`, `sessionEnded` (with its
   * reason), `reuseDetected`, `revokedTokenUsed`, `storeUnavailable` — the place
   * for audit logs and metrics. A listener that throws or rejects never breaks a
   * request: its error goes to `onCallbackError` (as `events.<name>`).
   */
  on<E extends JwtEventName>(event: E, listener: JwtEventListener<E>): this {
    this.config.events.on(event, listener);
    return this;
  }

  /** Stops a listener added with {@link on}. */
  off<E extends JwtEventName>(event: E, listener: JwtEventListener<E>): this {
    this.config.events.off(event, listener);
    return this;
  }

  /**
   * Sets the access-token cookie and its CSRF cookie on the response (Koa's `ctx`,
   * or Express's `res`); `maxAge` in seconds (or `'15m'`). A `token` that is not
   * a valid token (not a string, say) rejects with a {@link JwtError} and sets nothing.
   */
  async setAccessCookies(ctx: DriverContext, token: unknown, maxAge?: Duration): Promise<void> {
    await this.setCookies(bindRequest(ctx), 'access', token, maxAge);
  }

  /** Sets the refresh-token cookie and its CSRF cookie on the response; takes what {@link setAccessCookies} takes. */
  async setRefreshCookies(ctx: DriverContext, token: unknown, maxAge?: Duration): Promise<void> {
    await this.setCookies(bindRequest(ctx), 'refresh', token, maxAge);
  }

  /** Expires the access and refresh cookies (and their CSRF cookies) in the browser. */
  unsetJwtCookies(ctx: DriverContext): void {
    this.unsetAccessCookies(ctx);
    this.unsetRefreshCookies(ctx);
  }

  /** Expires the access cookie and its CSRF cookie. */
  unsetAccessCookies(ctx: DriverContext): void {
    const { adapter, ctx: request } = bindRequest(ctx);
    unsetTokenCookies(adapter, request, this.config.cookies, 'access');
  }

  /** Expires the refresh cookie and its CSRF cookie. */
  unsetRefreshCookies(ctx: DriverContext): void {
    const { adapter, ctx: request } = bindRequest(ctx);
    unsetTokenCookies(adapter, request, this.config.cookies, 'refresh');
  }

  /**
   * Middleware for cookie sessions, on Koa or Express: when a request's access
   * cookie is valid but expires within `within`, the response carries a new
   * access cookie, so an active browser session never sees an expiry while an
   * idle one does. It leaves alone error responses and responses that set or
   * unset the access cookie themselves (a logout is never undone). Put it
   * before the routes: `app.use(jwt.implicitRefresh({ within: '5m' }))`, then
   * `useKoaServer(app, …)` or `useExpressServer(app, …)`.
   *
   * A token revoked during the request (a logout that leaves the cookies
   * alone) is never renewed, and a renewal checks the token's revocation and its
   * session's limits. On Koa the renewal is made once the action has answered.
   * Express has no `await next()`: there the renewal is made before the action,
   * and added as the response's headers go out unless this process revoked
   * anything of the identity meanwhile (a revocation, an ended session, a
   * logout-everywhere).
   */
  implicitRefresh(options: { within: Duration }): JwtMiddleware {
    const within = toSeconds(options.within, 'implicitRefresh: `within`');
    const name = this.config.cookies.access.cookie;
    const wanted = ({ adapter, ctx }: BoundRequest) => adapter.status(ctx) < 400 && !responseSetsCookie(adapter, ctx, name);
    const setCookie = ({ adapter, ctx }: BoundRequest, renewal: Renewal) =>
      setTokenCookies(adapter, ctx, this.config.cookies, this.config.clock, 'access', renewal.token, renewal.claims);
    return driverMiddleware(
      async (ctx, next) => {
        await next();
        const request = bindRequest(ctx);
        if (!wanted(request)) return;
        const renewal = await this.renewal(request, within);
        if (renewal) setCookie(request, renewal);
      },
      async (req, res, next) => {
        const request: BoundRequest = { adapter: expressAdapter, ctx: req };
        const claims = await this.expiringCookie(request, within);
        if (claims) {
          // Watched before the renewal is made, so no revocation of this process slips between the two.
          const watch = this.config.revocation.watch(claims[this.config.identityClaim] as string);
          res.once('close', watch.stop);
          const renewal = await this.renewed(request, claims);
          if (renewal) beforeHeadersSent(res, () => { if (wanted(request) && !watch.revoked()) setCookie(request, renewal); });
        }
        next();
      },
    );
  }

  /**
   * The claims of the request's valid access cookie when it expires within
   * `within` seconds; leaves the request's state as it was. Its revocation is
   * left to {@link TokenFactory.renew}, which decides it with the session's limits.
   */
  private async expiringCookie({ adapter, ctx }: BoundRequest, within: number): Promise<JwtClaims | undefined> {
    const before = saveRequestState(ctx);
    let state: JwtRequestState | undefined;
    try {
      state = await verifyRequest(adapter, ctx, this.config, { optional: true, locations: ['cookies'], skipRevocationCheck: true }, []);
    } catch {
      state = undefined;
    } finally {
      restoreRequestState(ctx, before);
    }
    const exp = state?.claims.exp;
    return state && exp !== undefined && exp - now(this.config.clock) <= within ? state.claims : undefined;
  }

  /** A new access token for a request whose valid, unrevoked access cookie expires within `within` seconds. */
  private async renewal(request: BoundRequest, within: number): Promise<Renewal | undefined> {
    const claims = await this.expiringCookie(request, within);
    return claims && this.renewed(request, claims);
  }

  /** The renewal of the access cookie whose claims are given, or `undefined` when it cannot be made. */
  private async renewed({ ctx }: BoundRequest, claims: JwtClaims): Promise<Renewal | undefined> {
    try {
      const token = await this.tokens.renew(claims);
      return { token, claims: await this.tokens.decodeToken(token) };
    } catch (error) {
      // A renewal that cannot be made leaves the action's answer alone: a token revoked or a
      // session ended by now is the library's own answer; a loader that threw (TokenIssueError)
      // was reported under its own name already.
      if (!(error instanceof JwtError)) reportCallbackError(this.config.onCallbackError, error, { callback: 'implicitRefresh', ctx });
      return undefined;
    }
  }

  /**
   * The public verification keys as a JWK Set (RFC 7517), for `/.well-known/jwks.json`.
   * Never holds a private key or an HMAC secret.
   */
  jwks(): JsonWebKeySet {
    return this.config.keys.jwks();
  }

  /** Registers this manager and its `TokenFactory` in a DI container, e.g. `jwt.provideTo(Container)` with typedi. */
  provideTo(container: ValueContainer): void {
    container.set(JwtManager, this);
    container.set(TokenFactory, this.tokens);
  }

  private async setCookies(request: BoundRequest, type: TokenType, input: unknown, maxAge?: Duration): Promise<void> {
    const token = tokenString(input);
    const claims = await this.tokens.decodeToken(token);
    const seconds = maxAge === undefined ? undefined : toSeconds(maxAge, 'maxAge');
    setTokenCookies(request.adapter, request.ctx, this.config.cookies, this.config.clock, type, token, claims, seconds);
  }

  /** Claims as given (taken as verified); else the claims of the token `token` is; anything else rejects (422). */
  private async claimsOf(token: unknown): Promise<JwtClaims> {
    return typeof token === 'object' && token !== null
      ? claimsShaped(token, this.config.identityClaim) : this.tokens.decodeToken(token, { allowExpired: true });
  }

  /** The request's state, at once or later; a failure rejects with the response it becomes. */
  private verify(
    request: BoundRequest,
    options: Readonly<JwtRequiredOptions>,
    roles: readonly string[],
  ): JwtRequestState | undefined | Promise<JwtRequestState | undefined> {
    try {
      const state = verifyRequest(request.adapter, request.ctx, this.config, options, roles);
      return isThenable(state) ? state.then(undefined, (error: unknown) => refusal(this.config, request, error)) : state;
    } catch (error) {
      return refusal(this.config, request, error);
    }
  }
}

/** An identity as the stores take it: a string, or a finite number as its decimal string; anything else (it may come from a request) is refused (422). */
function identityOf(identity: unknown): string {
  if (typeof identity === 'string') return identity;
  if (typeof identity === 'number' && Number.isFinite(identity)) return String(identity);
  throw new JwtDecodeError('Invalid identity: a string or a finite number');
}

/** A session id as the stores take it: a string, whatever the caller passed (it may come from a request). */
function sessionIdOf(sessionId: unknown): string {
  if (typeof sessionId !== 'string') throw new JwtDecodeError('Invalid session id: a session id is a string');
  return sessionId;
}

function authorized(): true {
  return true;
}

/** Rejects with the response to `error` (a `JwtError`), or with `error` itself; the request counts as verified. */
async function refusal(config: ResolvedConfig, request: BoundRequest, error: unknown): Promise<never> {
  recordAnonymous(request.ctx);
  if (error instanceof JwtError) throw await httpErrorFor(config, request, error);
  if (error instanceof CorsPreflightResponse) request.adapter.prepareErrorResponse?.(request.ctx, error);
  throw error;
}

/** The response to `error` under `config`, its headers already set on the response. */
async function httpErrorFor(config: ResolvedConfig, { adapter, ctx }: BoundRequest, error: JwtError): Promise<JwtHttpError> {
  const { status, body, headers } = await errorResponse(error, ctx, config);
  for (const [name, value] of Object.entries(headers)) adapter.setHeader(ctx, name, value);
  const httpError = new JwtHttpError(error, status, body, headers);
  adapter.prepareErrorResponse?.(ctx, httpError);
  return httpError;
}

/** @internal The error response to a failure found after the checker passed, rendered by the configuration that decided the request. */
export async function rejectRequest(request: BoundRequest, error: JwtError): Promise<JwtHttpError> {
  const config = requestDecider<ResolvedConfig>(request.ctx) ?? currentConfig;
  if (!config) throw error;
  return httpErrorFor(config, request, error);
}

/** The claims of the request's verified token (Koa's `ctx`, or Express's `req`), or `undefined` (not verified, or anonymous). */
export function getJwt(ctx: DriverContext): JwtClaims | undefined {
  return requestState(bindRequest(ctx).ctx)?.claims;
}

/** The identity of the request's verified token (Koa's `ctx`, or Express's `req`), or `undefined`. */
export function getJwtIdentity(ctx: DriverContext): string | undefined {
  return requestState(bindRequest(ctx).ctx)?.identity;
}

/**
 * {@link JwtManager.verifyJwtInRequest} on the application's manager (the one
 * constructed last). An app with several managers calls the method on the one it means.
 */
export function verifyJwtInRequest(ctx: DriverContext, options?: JwtRequiredOptions): Promise<JwtRequestState | undefined>;
/**
 * As middleware, `app.use(verifyJwtInRequest)` on Koa or Express: requires an
 * access token ({@link JwtManager.jwtRequired} takes the options).
 */
export function verifyJwtInRequest(ctx: KoaContextLike, next: () => Promise<unknown>): Promise<void>;
export function verifyJwtInRequest(req: ExpressRequestLike, res: ExpressResponseLike, next: (error?: unknown) => void): void;
export function verifyJwtInRequest(
  ctx: DriverContext,
  second?: JwtRequiredOptions | ExpressResponseLike | (() => Promise<unknown>),
  third?: (error?: unknown) => void,
): Promise<JwtRequestState | undefined | void> | void {
  if (!currentManager) {
    const error = new Error('verifyJwtInRequest: construct a JwtManager first');
    return third ? third(error) : Promise.reject(error);
  }
  if (typeof second === 'function') return currentManager.jwtRequired()(ctx as KoaContextLike, second);
  if (third) return currentManager.jwtRequired()(ctx as ExpressRequestLike, second as ExpressResponseLike, third);
  return currentManager.verifyJwtInRequest(ctx, second as JwtRequiredOptions | undefined);
}
