import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BodyParam, ContentType, Controller, CookieParam, createParamDecorator, Get, HeaderParam, HttpCode, JsonController, Param, Post, Req, type Action,
} from 'routing-controllers';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { Service } from 'typedi';
import {
  CurrentIdentity, CurrentJwt, FreshJwtRequired, JwtManager, JwtOptional, JwtRefreshTokenRequired, JwtRequired,
  TokenFactory, type DriverContext, type JwtClaims,
} from '../src';
import { JsonBody } from './json-body';
import { LoginThrottle } from './throttle';
import { UserStore } from './users';

export class LoginDto {
  @IsString() @MinLength(1) @MaxLength(200) username!: string;
  @IsString() @MinLength(1) @MaxLength(200) password!: string;
}

export class ChangePasswordDto {
  @IsString() @MinLength(8) @MaxLength(200) newPassword!: string;
}

/** What the demo reads of the request, on Koa's request and Express's alike (`@Req()`). */
interface ClientRequest {
  readonly ip?: string;
  readonly headers: { readonly 'user-agent'?: string };
}

/**
 * The object the cookie helpers take, on whichever driver runs the demo: Koa's
 * `ctx`, or Express's `res`. An app on one driver uses `@Ctx()` (Koa) or `@Res()` (Express).
 * Both set a response header with `set(name, value)`.
 */
type Http = DriverContext & { set(name: string, value: string): unknown };

function Http(): ParameterDecorator {
  const decorator = createParamDecorator({ value: (action: Action): DriverContext => action.context ?? action.response });
  return (target, method, index) => decorator(target, method as string, index);
}

/** The password check of every login route, behind the login throttle. */
@Service()
export class PasswordCheck {
  constructor(private readonly jwt: JwtManager, private readonly users: UserStore, private readonly throttle: LoginThrottle) {}

  /** Resolves when `body` holds the user's password; else 401, or 429 with Retry-After while the account or the client is throttled. */
  async verify(body: LoginDto, req: ClientRequest, http: Http): Promise<void> {
    // Behind a proxy, `ip` is the proxy's unless the app trusts it (Koa's `proxy`, Express's 'trust proxy').
    const attempt = this.throttle.begin(body.username, req.ip ?? 'unknown');
    if ('retryAfter' in attempt) {
      http.set('Retry-After', String(attempt.retryAfter));
      throw this.jwt.httpError(429, 'Too many failed logins; try again later');
    }
    if (!(await this.users.verify(body.username, body.password))) throw this.jwt.httpError(401, 'Bad username or password');
    attempt.succeeded();
  }
}

@Service()
@JsonController()
export class AuthController {
  // All of them come from the DI container: the demo registers them with typedi.
  constructor(private readonly jwt: JwtManager, private readonly tokens: TokenFactory, private readonly passwords: PasswordCheck) {}

  /** Password login: a fresh access token and a refresh token, one session (family). */
  @Post('/login')
  async login(@JsonBody() body: LoginDto, @Req() req: ClientRequest, @Http() http: Http) {
    await this.passwords.verify(body, req, http);
    const { accessToken, refreshToken } = await this.tokens.createTokenPair(body.username, { fresh: true });
    return { access_token: accessToken, refresh_token: refreshToken };
  }

  /**
   * Rotation: the refresh token is used up, the answer holds its successor.
   * Presenting a used one again revokes the whole session.
   */
  @Post('/refresh')
  @JwtRefreshTokenRequired()
  async refresh(@CurrentJwt() claims: JwtClaims) {
    const { accessToken, refreshToken } = await this.tokens.rotate(claims);
    return { access_token: accessToken, refresh_token: refreshToken };
  }

  /**
   * Ends this session: the family of the access token in the header and of a
   * refresh token given in the body. Not behind @JwtRequired(): a logout is
   * exactly when the access token may have expired while the refresh token would
   * revive the session, so each token is accepted expired (its signature and
   * every other claim still checked).
   */
  @Post('/logout')
  @HttpCode(200)
  async logout(
    @HeaderParam('Authorization', { type: String }) authorization: string | undefined,
    @BodyParam('refresh_token', { required: false, type: String }) refreshToken: string | undefined,
  ) {
    const accessToken = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : undefined;
    if (!accessToken && !refreshToken) throw this.jwt.httpError(401, 'Missing Authorization Header');
    for (const token of [accessToken, refreshToken]) {
      if (token) await this.jwt.revokeFamily(await this.tokens.decodeToken(token, { allowExpired: true }));
    }
    return { msg: 'Logged out' };
  }

  /** Ends every session of the user, on every device. */
  @Post('/logout-everywhere')
  @JwtRequired()
  @HttpCode(200)
  async logoutEverywhere(@CurrentIdentity() identity: string) {
    await this.jwt.revokeAllTokensFor(identity);
    return { msg: 'Logged out everywhere' };
  }

  /** Password again, for a fresh access token only (no refresh token). */
  @Post('/fresh-login')
  async freshLogin(@JsonBody() body: LoginDto, @Req() req: ClientRequest, @Http() http: Http) {
    await this.passwords.verify(body, req, http);
    return { access_token: await this.tokens.createAccessToken(body.username, { fresh: true }) };
  }
}

@Service()
@JsonController()
export class AccountController {
  constructor(private readonly jwt: JwtManager, private readonly users: UserStore) {}

  @Get('/protected')
  @JwtRequired()
  protected(@CurrentIdentity() identity: string) {
    return { logged_in_as: identity };
  }

  /** The same, as a POST: with a cookie session it needs the CSRF header. */
  @Post('/whoami')
  @JwtRequired()
  @HttpCode(200)
  whoami(@CurrentIdentity() identity: string) {
    return { logged_in_as: identity };
  }

  /**
   * Sensitive: only with a fresh token, i.e. soon after typing the password.
   * Every other session ends: whoever held the old password (or a token stolen
   * under it) is out, on every device; this session lives on. A fresh token
   * from /fresh-login belongs to no session, so then every session ends.
   */
  @Post('/change-password')
  @FreshJwtRequired()
  @HttpCode(200)
  async changePassword(@CurrentIdentity() identity: string, @CurrentJwt() claims: JwtClaims, @JsonBody() body: ChangePasswordDto) {
    await this.users.add(identity, body.newPassword);
    await this.jwt.revokeAllTokensFor(identity, { except: claims.fam });
    return { msg: 'Password changed; every other session has ended' };
  }

  /** Anyone; a logged-in user gets a personal answer. */
  @Get('/optional')
  @JwtOptional()
  optional(@CurrentIdentity() identity: string | undefined) {
    return identity === undefined ? { msg: 'Hello, anonymous' } : { msg: `Hello, ${identity}`, logged_in_as: identity };
  }
}

@Service()
@JsonController()
export class KeysController {
  constructor(private readonly jwt: JwtManager) {}

  /** The public keys tokens are signed with, for other services that verify them. */
  @Get('/.well-known/jwks.json')
  jwks() {
    return this.jwt.jwks();
  }
}

/**
 * Browser sessions: the tokens travel in HttpOnly cookies, and every POST
 * carries the CSRF cookie's value in the X-CSRF-TOKEN header.
 */
@Service()
@JsonController('/cookie')
export class CookieAuthController {
  constructor(private readonly jwt: JwtManager, private readonly passwords: PasswordCheck) {}

  @Post('/login')
  @HttpCode(200)
  async login(@JsonBody() body: LoginDto, @Http() http: Http, @Req() req: ClientRequest) {
    await this.passwords.verify(body, req, http);
    // The session's metadata: what the sessions list shows to tell devices apart.
    const session = { userAgent: req.headers['user-agent'] ?? 'unknown device', ip: req.ip ?? null };
    const { accessToken, refreshToken } = await this.jwt.tokens.createTokenPair(body.username, { fresh: true, session });
    await this.jwt.setAccessCookies(http, accessToken);
    await this.jwt.setRefreshCookies(http, refreshToken);
    return { msg: 'Logged in', logged_in_as: body.username };
  }

  @Post('/refresh')
  @JwtRefreshTokenRequired({ locations: ['cookies'] })
  @HttpCode(200)
  async refresh(@CurrentJwt() claims: JwtClaims, @Http() http: DriverContext) {
    const { accessToken, refreshToken } = await this.jwt.tokens.rotate(claims);
    await this.jwt.setAccessCookies(http, accessToken);
    await this.jwt.setRefreshCookies(http, refreshToken);
    return { msg: 'Refreshed' };
  }

  /**
   * Always clears the cookies, and revokes the session of each cookie token the
   * request can vouch for — expired ones too: a logout is exactly when an
   * expired access cookie sits beside a refresh cookie that would revive it.
   * Vouching is the CSRF value of that token in the header (the page sends the
   * refresh token's): a forged cross-site form clears cookies, never revokes.
   */
  @Post('/logout')
  @HttpCode(200)
  async logout(
    // `type: String`: routing-controllers would try an untyped value as JSON (and echo it when it fails).
    @CookieParam('access_token_cookie', { type: String }) access: string | undefined,
    @CookieParam('refresh_token_cookie', { type: String }) refresh: string | undefined,
    @HeaderParam('X-CSRF-TOKEN', { type: String }) csrf: string | undefined,
    @Http() http: DriverContext,
  ) {
    this.jwt.unsetJwtCookies(http);
    for (const token of [refresh, access]) {
      const claims = token ? await this.jwt.tokens.decodeToken(token, { allowExpired: true }).catch(() => undefined) : undefined;
      if (claims && sameSecret(claims.csrf, csrf)) await this.jwt.revokeFamily(claims);
    }
    return { msg: 'Logged out' };
  }

  /** The user's sessions (devices), newest first, the one making the request marked. */
  @Get('/sessions')
  @JwtRequired({ locations: ['cookies'] })
  async sessions(@CurrentJwt() claims: JwtClaims) {
    const sessions = await this.jwt.sessions(claims.sub!);
    return sessions.map(({ id, createdAt, lastUsedAt, expiresAt, metadata }) => ({
      id, createdAt, lastUsedAt, expiresAt, userAgent: metadata.userAgent, ip: metadata.ip, current: id === claims.fam,
    }));
  }

  /** "Log out that device": its tokens are refused at once; ending this device's own session clears its cookies too. */
  @Post('/sessions/:id/end')
  @JwtRequired({ locations: ['cookies'] })
  @HttpCode(200)
  async endSession(@CurrentJwt() claims: JwtClaims, @Param('id') id: string, @Http() http: DriverContext) {
    await this.jwt.revokeSession(claims.sub!, id);
    if (id === claims.fam) this.jwt.unsetJwtCookies(http);
    return { msg: 'Session ended' };
  }

  /** "Log out everywhere else": every other session of the user ends, this one lives on. */
  @Post('/logout-others')
  @JwtRequired({ locations: ['cookies'] })
  @HttpCode(200)
  async logoutOthers(@CurrentJwt() claims: JwtClaims) {
    await this.jwt.revokeAllTokensFor(claims.sub!, { except: claims.fam });
    return { msg: 'Logged out everywhere else' };
  }
}

/** Whether the CSRF value sent is the token's own, compared in constant time. */
function sameSecret(expected: unknown, sent: string | undefined): boolean {
  if (typeof expected !== 'string' || !sent) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(expected), digest(sent));
}

const PAGE = readFileSync(join(__dirname, '..', '..', 'demo', 'public', 'index.html'), 'utf8');

/** The demo's page: logs in with cookies, calls a protected route with the CSRF header, logs out. */
@Service()
@Controller()
export class PageController {
  @Get('/')
  @ContentType('text/html; charset=utf-8')
  page() {
    return PAGE;
  }
}
