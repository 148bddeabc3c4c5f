import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import type { Server } from 'node:http';
import { Body, CurrentUser, Get, JsonController, Post, UploadedFile, useExpressServer, useKoaServer } from 'routing-controllers';
import supertest from 'supertest';
import { CurrentIdentity, CurrentJwt, JwtManager, JwtOptional, JwtRefreshTokenRequired, JwtRequired, type JwtClaims, type JwtConfig, type DriverContext } from '../src';
import { DriverObject, forEachDriver, getWithRawHeaders, SECRET, startServer, type Driver, type TestServer } from './helpers';

let current: JwtManager;
// @koa/multer and multer (routing-controllers' multipart parsers) ship no types: the one call used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const koaMulter = require('@koa/multer') as () => { none(): Koa.Middleware };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const expressMulter = require('multer') as () => { none(): express.RequestHandler };

@JsonController('/loc')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Post('/me') @JwtRequired() postMe(@CurrentIdentity() id: string) { return { id }; }
  @Post('/me-with-body') @JwtRequired() postMeWithBody(@CurrentIdentity() id: string, @Body() body: { note: string }) { return { id, note: body.note }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return { id }; }
  @Get('/query-only') @JwtRequired({ locations: ['query_string'] }) queryOnly(@CurrentIdentity() id: string) { return { id }; }
  @Get('/headers-only') @JwtRequired({ locations: ['headers'] }) headersOnly(@CurrentIdentity() id: string) { return { id }; }
  @Get('/cookies-first') @JwtRequired({ locations: ['cookies', 'headers'] }) cookiesFirst(@CurrentIdentity() id: string) { return { id }; }
  @Get('/optional') @JwtOptional() optional(@CurrentIdentity() id: string | undefined) { return { id: id ?? null }; }
  @Post('/login') async login(@DriverObject() ctx: DriverContext) {
    await current.setAccessCookies(ctx, await current.tokens.createAccessToken('alice'));
    await current.setRefreshCookies(ctx, await current.tokens.createRefreshToken('alice'));
    return { ok: true };
  }
  /** The cookie helpers' refusal, as the action sees it. */
  @Post('/login-refused') async loginRefused(@DriverObject() ctx: DriverContext) {
    const refused = await current.setAccessCookies(ctx, await current.tokens.createAccessToken('alice')).then(() => undefined, (error: Error) => error);
    return { refused: refused instanceof TypeError ? refused.message : null };
  }
  @Post('/login-short') async loginShort(@DriverObject() ctx: DriverContext) {
    await current.setAccessCookies(ctx, await current.tokens.createAccessToken('alice'), 120);
    return { ok: true };
  }
  @Post('/logout') @JwtRequired() logout(@DriverObject() ctx: DriverContext) { current.unsetJwtCookies(ctx); return { ok: true }; }
  @Post('/logout-access') logoutAccess(@DriverObject() ctx: DriverContext) { current.unsetAccessCookies(ctx); return { ok: true }; }
  @Post('/logout-refresh') logoutRefresh(@DriverObject() ctx: DriverContext) { current.unsetRefreshCookies(ctx); return { ok: true }; }
  @Get('/fail') @JwtRequired() fail(@CurrentUser() _user: unknown): never { throw new Error('boom'); }
  @Get('/claims') @JwtRequired() claims(@CurrentJwt() claims: JwtClaims) { return claims; }
  /** A logout that revokes the token (or its whole session) and leaves the cookies alone. */
  @Post('/revoke') @JwtRequired() async revoke(@CurrentJwt() claims: JwtClaims) { await current.revokeToken(claims); return { msg: 'Logged out' }; }
  @Post('/revoke-session') @JwtRequired() async revokeSession(@CurrentJwt() claims: JwtClaims) { await current.revokeFamily(claims); return { msg: 'Logged out' }; }
  @Post('/revoke-all') @JwtRequired() async revokeAll(@CurrentIdentity() id: string) { await current.revokeAllTokensFor(id); return { msg: 'Logged out' }; }
  @Get('/open') open() { return { ok: true }; }
}

async function serve(driver: Driver, config: Partial<JwtConfig>): Promise<TestServer> {
  const server = await startServer([Routes], { secretKey: SECRET, ...config }, {}, driver);
  current = server.jwt;
  return server;
}

const cookie = (pairs: Record<string, string>) => ({ Cookie: Object.entries(pairs).map(([k, v]) => `${k}=${v}`).join('; ') });
const setCookies = (res: supertest.Response): string[] => ([] as string[]).concat(res.headers['set-cookie'] ?? []);
const cookieLine = (res: supertest.Response, name: string) => setCookies(res).find((line) => line.startsWith(`${name}=`));
const csrfOf = async (jwt: JwtManager, token: string) => (await jwt.tokens.decodeToken(token)).csrf as string;

describe('token locations', () => forEachDriver((driver) => {

  describe('each location alone', () => {
    let server: TestServer;
    afterEach(() => server.close());

    it('headers', async () => {
      server = await serve(driver, { tokenLocation: ['headers'] });
      const token = await server.jwt.tokens.createAccessToken('alice');
      await server.request.get('/loc/me').set('Authorization', `Bearer ${token}`).expect(200, { id: 'alice' });
      expect((await server.request.get('/loc/me').expect(401)).body).to.deep.equal({ msg: 'Missing Authorization Header' });
    });

    it('cookies', async () => {
      server = await serve(driver, { tokenLocation: ['cookies'] });
      const token = await server.jwt.tokens.createAccessToken('alice');
      await server.request.get('/loc/me').set(cookie({ access_token_cookie: token })).expect(200, { id: 'alice' });
      expect((await server.request.get('/loc/me').set('Authorization', `Bearer ${token}`).expect(401)).body).to.deep.equal({ msg: 'Missing cookie "access_token_cookie"' });
      const refresh = await server.jwt.tokens.createRefreshToken('alice');
      await server.request.post('/loc/refresh').set(cookie({ refresh_token_cookie: refresh })).set('X-CSRF-TOKEN', await csrfOf(server.jwt, refresh)).expect(200);
      expect((await server.request.post('/loc/refresh').set(cookie({ access_token_cookie: token })).expect(401)).body).to.deep.equal({ msg: 'Missing cookie "refresh_token_cookie"' });
    });

    it('query_string (name configurable), refusing a repeated parameter', async () => {
      server = await serve(driver, { tokenLocation: ['query_string'], queryStringName: 'token' });
      const token = await server.jwt.tokens.createAccessToken('alice');
      await server.request.get(`/loc/me?token=${token}`).expect(200, { id: 'alice' });
      expect((await server.request.get('/loc/me?jwt=x').expect(401)).body).to.deep.equal({ msg: "Missing 'token' query paramater" });
      expect((await server.request.get(`/loc/me?token=${token}&token=${token}`).expect(422)).body).to.deep.equal({ msg: 'Bad "token" query parameter: give it once' });
      // Bracket syntax: a missing parameter to Koa's parser, an object or a list to Express's; never a token.
      for (const query of [`token[a]=${token}`, `token[]=${token}`, `token[0]=${token}&token[1]=x`]) {
        expect((await server.request.get(`/loc/me?${query}`)).status).to.be.oneOf([401, 422]);
      }
    });

    it('json (access_token, and refresh_token on refresh routes), with clear 4xx for other bodies', async () => {
      server = await serve(driver, { tokenLocation: ['json'] });
      const token = await server.jwt.tokens.createAccessToken('alice');
      const refresh = await server.jwt.tokens.createRefreshToken('alice');
      await server.request.post('/loc/me').send({ access_token: token }).expect(200, { id: 'alice' });
      // With @Body() the driver parses the body itself, before the check.
      await server.request.post('/loc/me-with-body').send({ access_token: token, note: 'hi' }).expect(200, { id: 'alice', note: 'hi' });
      await server.request.post('/loc/refresh').send({ refresh_token: refresh }).expect(200, { id: 'alice' });
      expect((await server.request.post('/loc/refresh').send({ access_token: refresh }).expect(401)).body).to.deep.equal({ msg: 'Missing "refresh_token" key in json data.' });
      expect((await server.request.post('/loc/me').send({}).expect(401)).body).to.deep.equal({ msg: 'Missing "access_token" key in json data.' });
      expect((await server.request.post('/loc/me').type('form').send({ access_token: token }).expect(401)).body).to.deep.equal({ msg: 'Invalid content-type. Must be application/json.' });
      expect((await server.request.post('/loc/me').send({ access_token: 42 }).expect(422)).body).to.deep.equal({ msg: 'Bad "access_token" key in json data: expected a string' });
      expect((await server.request.post('/loc/me').send([token]).expect(401)).body).to.deep.equal({ msg: 'Missing "access_token" key in json data.' });
      const malformed = await server.request.post('/loc/me').set('Content-Type', 'application/json').send('{"access_token":');
      expect(malformed.status).to.be.within(400, 499);
      const huge = await server.request.post('/loc/me').send({ access_token: 'x'.repeat(200_000) });
      expect(huge.status).to.be.within(400, 499);
      expect((await server.request.get('/loc/me').expect(401)).body).to.deep.equal({ msg: 'Invalid content-type. Must be application/json.' });
    });
  });

  describe('combined', () => {
    let server: TestServer;
    afterEach(() => server.close());

    it('names every place looked at when none holds a token', async () => {
      server = await serve(driver, { tokenLocation: ['headers', 'cookies'] });
      expect((await server.request.get('/loc/me').expect(401)).body).to.deep.equal({
        msg: 'Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie "access_token_cookie")',
      });
      await server.close();
      server = await serve(driver, { tokenLocation: ['headers', 'cookies', 'query_string', 'json'] });
      expect((await server.request.post('/loc/me').send({}).expect(401)).body).to.deep.equal({
        msg: `Missing JWT in headers, cookies, query_string or json (Missing Authorization Header; Missing cookie "access_token_cookie"; Missing 'jwt' query paramater; Missing "access_token" key in json data.)`,
      });
    });

    it('the first location holding a token decides (precedence follows tokenLocation)', async () => {
      server = await serve(driver, { tokenLocation: ['cookies', 'headers'] });
      const alice = await server.jwt.tokens.createAccessToken('alice');
      const bob = await server.jwt.tokens.createAccessToken('bob');
      await server.request.get('/loc/me').set(cookie({ access_token_cookie: alice })).set('Authorization', `Bearer ${bob}`).expect(200, { id: 'alice' });
      await server.request.get('/loc/me').set('Authorization', `Bearer ${bob}`).expect(200, { id: 'bob' });
    });

    it('a bad token in the first location is never rescued by a good one in a later location', async () => {
      server = await serve(driver, { tokenLocation: ['cookies', 'headers'] });
      const good = await server.jwt.tokens.createAccessToken('alice');
      const res = await server.request.get('/loc/me').set(cookie({ access_token_cookie: 'garbage' })).set('Authorization', `Bearer ${good}`).expect(422);
      expect(res.body).to.deep.equal({ msg: 'Not enough segments' });
      // And a CSRF failure on the cookie is not rescued either.
      await server.request.post('/loc/me').set(cookie({ access_token_cookie: good })).set('Authorization', `Bearer ${good}`).expect(401, { msg: 'Missing CSRF token' });
    });

    it('a route can override the locations', async () => {
      server = await serve(driver, { tokenLocation: ['headers'] });
      const token = await server.jwt.tokens.createAccessToken('alice');
      await server.request.get('/loc/query-only').set('Authorization', `Bearer ${token}`).expect(401, { msg: "Missing 'jwt' query paramater" });
      await server.request.get(`/loc/query-only?jwt=${token}`).expect(200, { id: 'alice' });
    });
  });

  describe('CSRF double submit', () => {
    let server: TestServer;
    let token: string;
    afterEach(() => server.close());
    const start = async (config: Partial<JwtConfig> = {}) => {
      server = await serve(driver, { tokenLocation: ['headers', 'cookies'], ...config });
      token = await server.jwt.tokens.createAccessToken('alice');
    };

    it('tokens carry a csrf claim when cookies are a location', async () => {
      await start();
      expect(await csrfOf(server.jwt, token)).to.match(/^[0-9a-f-]{36}$/);
      const headersOnly = new JwtManager({ secretKey: SECRET });
      expect(await headersOnly.tokens.decodeToken(await headersOnly.tokens.createAccessToken('a'))).not.to.have.property('csrf');
    });

    it('safe methods need no CSRF value', async () => {
      await start();
      await server.request.get('/loc/me').set(cookie({ access_token_cookie: token })).expect(200);
    });

    it('POST, PUT, PATCH, DELETE with a cookie token: missing → 401 Missing CSRF token, mismatch → 401, match → 200', async () => {
      await start();
      const res = await server.request.post('/loc/me').set(cookie({ access_token_cookie: token })).expect(401);
      expect(res.body).to.deep.equal({ msg: 'Missing CSRF token' });
      expect(res.headers['www-authenticate']).to.equal('Bearer');
      await server.request.post('/loc/me').set(cookie({ access_token_cookie: token })).set('X-CSRF-TOKEN', 'forged').expect(401, { msg: 'CSRF double submit tokens do not match' });
      await server.request.post('/loc/me').set(cookie({ access_token_cookie: token })).set('X-CSRF-TOKEN', await csrfOf(server.jwt, token)).expect(200, { id: 'alice' });
    });

    it('tokens from headers are never CSRF-checked', async () => {
      await start();
      await server.request.post('/loc/me').set('Authorization', `Bearer ${token}`).expect(200);
    });

    it('a cookie token without a csrf claim is refused on unsafe methods', async () => {
      await start();
      const plain = await new JwtManager({ secretKey: SECRET }).tokens.createAccessToken('alice');
      await server.request.post('/loc/me').set(cookie({ access_token_cookie: plain })).set('X-CSRF-TOKEN', 'x').expect(422, { msg: 'Missing claim: csrf' });
    });

    it('the refresh cookie has its own CSRF value', async () => {
      await start();
      const refresh = await server.jwt.tokens.createRefreshToken('alice');
      await server.request.post('/loc/refresh').set(cookie({ refresh_token_cookie: refresh })).set('X-CSRF-TOKEN', await csrfOf(server.jwt, token)).expect(401, { msg: 'CSRF double submit tokens do not match' });
      await server.request.post('/loc/refresh').set(cookie({ refresh_token_cookie: refresh })).set('X-CSRF-TOKEN', await csrfOf(server.jwt, refresh)).expect(200);
    });

    it('configurable: methods, header name, form field, or off', async () => {
      await start({ csrfMethods: ['GET'], accessCsrfHeaderName: 'X-Custom-CSRF' });
      await server.request.get('/loc/me').set(cookie({ access_token_cookie: token })).expect(401, { msg: 'Missing CSRF token' });
      await server.request.get('/loc/me').set(cookie({ access_token_cookie: token })).set('X-Custom-CSRF', await csrfOf(server.jwt, token)).expect(200);
      await server.request.post('/loc/me').set(cookie({ access_token_cookie: token })).expect(200);
      await server.close();

      await start({ csrfCheckForm: true });
      await server.request.post('/loc/me').set(cookie({ access_token_cookie: token })).type('form').send({ csrf_token: await csrfOf(server.jwt, token) }).expect(200);
      await server.request.post('/loc/me').set(cookie({ access_token_cookie: token })).type('form').send({ csrf_token: 'nope' }).expect(401, { msg: 'CSRF double submit tokens do not match' });
      await server.close();

      await start({ cookieCsrfProtect: false });
      expect(await server.jwt.tokens.decodeToken(token)).not.to.have.property('csrf');
      await server.request.post('/loc/me').set(cookie({ access_token_cookie: token })).expect(200);
    });
  });

  describe('cookies on the wire', () => {
    let server: TestServer;
    afterEach(() => server.close());

    it('Flask-JWT-Extended defaults: HttpOnly token cookies, readable CSRF cookies, session cookies on /', async () => {
      server = await serve(driver, { tokenLocation: ['cookies'] });
      const res = await server.request.post('/loc/login').expect(200);
      const access = cookieLine(res, 'access_token_cookie')!;
      expect(access).to.match(/^access_token_cookie=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; HttpOnly$/);
      expect(cookieLine(res, 'refresh_token_cookie')).to.match(/^refresh_token_cookie=[\w.-]+; Path=\/; HttpOnly$/);
      const csrf = cookieLine(res, 'csrf_access_token')!;
      expect(csrf).to.match(/^csrf_access_token=[0-9a-f-]{36}; Path=\/$/);
      const token = access.split(';')[0].split('=')[1];
      expect(csrf.split(';')[0].split('=')[1]).to.equal(await csrfOf(server.jwt, token));
      expect(cookieLine(res, 'csrf_refresh_token')).to.match(/^csrf_refresh_token=[0-9a-f-]{36}; Path=\/$/);
    });

    it('a token without a csrf claim is never set as a cookie that CSRF protection would refuse: the helper says why', async () => {
      server = await serve(driver, { tokenLocation: ['headers'] });
      const res = await server.request.post('/loc/login-refused').expect(200);
      expect(res.body.refused).to.match(/carries no csrf claim.*tokenLocation includes 'cookies'/);
      expect(setCookies(res)).to.deep.equal([]);
      await server.close();
      server = await serve(driver, { tokenLocation: ['headers'], cookieCsrfProtect: false });
      expect((await server.request.post('/loc/login-refused').expect(200)).body).to.deep.equal({ refused: null });
    });

    it('names, paths, domain, Secure, SameSite and persistent Max-Age are configurable', async () => {
      server = await serve(driver, {
        tokenLocation: ['cookies'], accessCookieName: 'at', refreshCookieName: 'rt', refreshCookiePath: '/loc/refresh',
        refreshCsrfCookiePath: '/loc/refresh', cookieDomain: 'example.test', cookieSecure: true, cookieSameSite: 'Strict', sessionCookie: false,
      });
      const res = await server.request.post('/loc/login').expect(200);
      expect(cookieLine(res, 'at')).to.match(/^at=[\w.-]+; Path=\/; Domain=example\.test; Max-Age=31540000; Expires=[^;]+ GMT; HttpOnly; Secure; SameSite=Strict$/);
      expect(cookieLine(res, 'rt')).to.match(/^rt=[\w.-]+; Path=\/loc\/refresh; Domain=example\.test; Max-Age=31540000; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict$/);
      expect(cookieLine(res, 'csrf_refresh_token')).to.match(/; Path=\/loc\/refresh; .*Secure; SameSite=Strict$/);
      expect(cookieLine(res, 'csrf_refresh_token')).not.to.contain('HttpOnly');
    });

    it('__Host- names: Secure, on /, no Domain, set, read and unset', async () => {
      server = await serve(driver, {
        tokenLocation: ['cookies'], cookieSecure: true, accessCookieName: '__Host-access', accessCsrfCookieName: '__Host-csrf-access',
        refreshCookieName: '__Secure-refresh', refreshCookiePath: '/loc/refresh', refreshCsrfCookieName: '__Secure-csrf-refresh', refreshCsrfCookiePath: '/loc/refresh',
      });
      const res = await server.request.post('/loc/login').expect(200);
      expect(cookieLine(res, '__Host-access')).to.match(/^__Host-access=[\w.-]+; Path=\/; HttpOnly; Secure$/);
      expect(cookieLine(res, '__Host-csrf-access')).to.match(/^__Host-csrf-access=[0-9a-f-]{36}; Path=\/; Secure$/);
      expect(cookieLine(res, '__Secure-refresh')).to.match(/^__Secure-refresh=[\w.-]+; Path=\/loc\/refresh; HttpOnly; Secure$/);
      const token = cookieLine(res, '__Host-access')!.split(';')[0].split('=')[1];
      const csrf = cookieLine(res, '__Host-csrf-access')!.split(';')[0].split('=')[1];
      const logout = await server.request.post('/loc/logout').set(cookie({ '__Host-access': token, '__Host-csrf-access': csrf })).set('X-CSRF-TOKEN', csrf).expect(200);
      // A browser refuses to expire a __Host- cookie without Secure: the unset lines carry it too.
      expect(cookieLine(logout, '__Host-access')).to.match(/^__Host-access=; Path=\/; Max-Age=0; .*HttpOnly; Secure$/);
      expect(cookieLine(logout, '__Host-csrf-access')).to.match(/^__Host-csrf-access=; Path=\/; Max-Age=0; .*Secure$/);
    });

    it('persistent cookies can live exactly as long as their token; an explicit maxAge wins', async () => {
      server = await serve(driver, { tokenLocation: ['cookies'], sessionCookie: false, cookieMaxAgeFromToken: true, accessTokenExpires: '10m', refreshTokenExpires: '2d' });
      const res = await server.request.post('/loc/login').expect(200);
      const maxAge = (name: string) => Number(/Max-Age=(\d+)/.exec(cookieLine(res, name)!)![1]);
      expect(maxAge('access_token_cookie')).to.be.within(598, 600);
      expect(maxAge('csrf_access_token')).to.be.within(598, 600);
      expect(maxAge('refresh_token_cookie')).to.be.within(2 * 86400 - 2, 2 * 86400);
      const short = await server.request.post('/loc/login-short').expect(200);
      expect(cookieLine(short, 'access_token_cookie')).to.contain('Max-Age=120;');
    });

    it('unset helpers expire exactly their cookies', async () => {
      server = await serve(driver, { tokenLocation: ['cookies'] });
      const gone = (res: supertest.Response) => setCookies(res).filter((line) => /=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970/.test(line)).map((line) => line.split('=')[0]).sort();
      expect(gone(await server.request.post('/loc/logout-access').expect(200))).to.deep.equal(['access_token_cookie', 'csrf_access_token']);
      expect(gone(await server.request.post('/loc/logout-refresh').expect(200))).to.deep.equal(['csrf_refresh_token', 'refresh_token_cookie']);
      const token = await server.jwt.tokens.createAccessToken('alice');
      const res = await server.request.post('/loc/logout').set(cookie({ access_token_cookie: token })).set('X-CSRF-TOKEN', await csrfOf(server.jwt, token)).expect(200);
      expect(gone(res)).to.deep.equal(['access_token_cookie', 'csrf_access_token', 'csrf_refresh_token', 'refresh_token_cookie']);
    });

    it('a supertest agent (a cookie jar) logs in with cookies and calls with the CSRF header', async () => {
      server = await serve(driver, { tokenLocation: ['cookies'] });
      const agent = supertest.agent(server.url);
      const login = await agent.post('/loc/login').expect(200);
      const csrf = cookieLine(login, 'csrf_access_token')!.split(';')[0].split('=')[1];
      await agent.get('/loc/me').expect(200, { id: 'alice' });
      await agent.post('/loc/me').expect(401, { msg: 'Missing CSRF token' });
      await agent.post('/loc/me').set('X-CSRF-TOKEN', csrf).expect(200);
    });
  });
}));

/**
 * Cookie tossing: a sibling subdomain sets its own cookie of the app's name for
 * the parent domain on a longer path, and browsers send it first. Whichever
 * copy the library picked, the other could be the attacker's: a name the
 * library reads, sent with different values, is refused.
 */
describe('a cookie the library reads, sent twice with different values (cookie tossing)', () => forEachDriver((driver) => {
  let server: TestServer;
  let victim: string;
  let attacker: string;
  afterEach(() => server.close());
  const start = async (config: Partial<JwtConfig> = {}) => {
    server = await serve(driver, { tokenLocation: ['headers', 'cookies'], ...config });
    victim = await server.jwt.tokens.createAccessToken('alice');
    attacker = await server.jwt.tokens.createAccessToken('mallory');
  };
  const twice = (name: string) => ({ msg: `Bad cookie "${name}": sent more than once with different values` });
  const raw = async (path: string, headers: Array<[string, string]>) => {
    const res = await getWithRawHeaders(server.url, path, headers);
    return { status: res.status, body: JSON.parse(res.body) as unknown };
  };

  it('the access cookie, in either order, on safe and unsafe methods: 422', async () => {
    await start();
    for (const [first, second] of [[attacker, victim], [victim, attacker]]) {
      const header = { Cookie: `access_token_cookie=${first}; access_token_cookie=${second}` };
      await server.request.get('/loc/me').set(header).expect(422, twice('access_token_cookie'));
      await server.request.post('/loc/me').set(header).set('X-CSRF-TOKEN', await csrfOf(server.jwt, first)).expect(422, twice('access_token_cookie'));
    }
    // An empty copy beside the token is another value too (quoted and unquoted copies are one value).
    await server.request.get('/loc/me').set({ Cookie: `access_token_cookie=; access_token_cookie=${victim}` }).expect(422, twice('access_token_cookie'));
    await server.request.get('/loc/me').set({ Cookie: `access_token_cookie="${victim}"; access_token_cookie=${victim}` }).expect(200, { id: 'alice' });
  });

  it('across two Cookie field lines (node joins them with "; ")', async () => {
    await start();
    expect(await raw('/loc/me', [['Cookie', `access_token_cookie=${attacker}`], ['Cookie', `access_token_cookie=${victim}`]]))
      .to.deep.equal({ status: 422, body: twice('access_token_cookie') });
    expect(await raw('/loc/me', [['Cookie', `access_token_cookie=${victim}`], ['cookie', `theme=dark; access_token_cookie=${victim}`]]))
      .to.deep.equal({ status: 200, body: { id: 'alice' } });
  });

  it('the refresh cookie on a refresh route', async () => {
    await start();
    const own = await server.jwt.tokens.createRefreshToken('alice');
    const tossed = await server.jwt.tokens.createRefreshToken('mallory');
    await server.request.post('/loc/refresh').set({ Cookie: `refresh_token_cookie=${tossed}; refresh_token_cookie=${own}` })
      .set('X-CSRF-TOKEN', await csrfOf(server.jwt, tossed)).expect(422, twice('refresh_token_cookie'));
  });

  it('the CSRF cookie beside the token cookie, access and refresh, on every method', async () => {
    await start();
    const csrf = await csrfOf(server.jwt, victim);
    const header = { Cookie: `access_token_cookie=${victim}; csrf_access_token=forged; csrf_access_token=${csrf}` };
    await server.request.get('/loc/me').set(header).expect(422, twice('csrf_access_token'));
    await server.request.post('/loc/me').set(header).set('X-CSRF-TOKEN', csrf).expect(422, twice('csrf_access_token'));
    const refresh = await server.jwt.tokens.createRefreshToken('alice');
    const refreshCsrf = await csrfOf(server.jwt, refresh);
    await server.request.post('/loc/refresh').set({ Cookie: `refresh_token_cookie=${refresh}; csrf_refresh_token=${refreshCsrf}; csrf_refresh_token=forged` })
      .set('X-CSRF-TOKEN', refreshCsrf).expect(422, twice('csrf_refresh_token'));
    // Once each (the usual request), all is well.
    await server.request.post('/loc/me').set({ Cookie: `access_token_cookie=${victim}; csrf_access_token=${csrf}` }).set('X-CSRF-TOKEN', csrf).expect(200);
  });

  it('custom cookie names, __Host- ones included', async () => {
    await start({
      accessCookieName: '__Host-at', accessCsrfCookieName: '__Host-csrf-at', refreshCookieName: 'rt', refreshCsrfCookieName: 'csrf-rt', cookieSecure: true,
    });
    await server.request.get('/loc/me').set({ Cookie: `__Host-at=${attacker}; __Host-at=${victim}` }).expect(422, twice('__Host-at'));
    await server.request.get('/loc/me').set({ Cookie: `__Host-at=${victim}; __Host-csrf-at=a; __Host-csrf-at=b` }).expect(422, twice('__Host-csrf-at'));
    const refresh = await server.jwt.tokens.createRefreshToken('alice');
    const csrf = await csrfOf(server.jwt, refresh);
    await server.request.post('/loc/refresh').set({ Cookie: `rt=${refresh}; rt=x` }).set('X-CSRF-TOKEN', csrf).expect(422, twice('rt'));
    await server.request.post('/loc/refresh').set({ Cookie: `rt=${refresh}; csrf-rt=x; csrf-rt=${csrf}` }).set('X-CSRF-TOKEN', csrf).expect(422, twice('csrf-rt'));
    // The default names are no longer the library's: their copies are someone else's cookies.
    await server.request.get('/loc/me').set({ Cookie: `access_token_cookie=a; access_token_cookie=b; __Host-at=${victim}` }).expect(200, { id: 'alice' });
  });

  it('identical copies are one value: they pass', async () => {
    await start();
    const csrf = await csrfOf(server.jwt, victim);
    await server.request.post('/loc/me').set({ Cookie: `access_token_cookie=${victim}; csrf_access_token=${csrf}; access_token_cookie=${victim}; csrf_access_token=${csrf}` })
      .set('X-CSRF-TOKEN', csrf).expect(200, { id: 'alice' });
  });

  it('names are case-sensitive and never percent-decoded: other spellings are other cookies, never read', async () => {
    await start();
    for (const other of ['Access_Token_Cookie', 'ACCESS_TOKEN_COOKIE', 'access%5Ftoken%5Fcookie', '%61ccess_token_cookie']) {
      await server.request.get('/loc/me').set({ Cookie: `${other}=${attacker}; access_token_cookie=${victim}` }).expect(200, { id: 'alice' });
      await server.request.get('/loc/me').set({ Cookie: `${other}=${attacker}` }).expect(401);
    }
  });

  it('a route that does not read cookies is not concerned; one that reads them first refuses, whatever the header holds', async () => {
    await start();
    const tossed = { Cookie: `access_token_cookie=${attacker}; access_token_cookie=${victim}` };
    await server.request.get('/loc/headers-only').set(tossed).set('Authorization', `Bearer ${victim}`).expect(200, { id: 'alice' });
    // tokenLocation ['headers', 'cookies']: the header decides, the cookies are never read.
    await server.request.get('/loc/me').set(tossed).set('Authorization', `Bearer ${victim}`).expect(200, { id: 'alice' });
    await server.request.get('/loc/cookies-first').set(tossed).set('Authorization', `Bearer ${victim}`).expect(422, twice('access_token_cookie'));
  });

  it('an optional route refuses too, rather than reading either copy', async () => {
    await start();
    await server.request.get('/loc/optional').expect(200, { id: null });
    await server.request.get('/loc/optional').set({ Cookie: `access_token_cookie=${attacker}; access_token_cookie=${victim}` }).expect(422, twice('access_token_cookie'));
  });

  it('the CSRF header sent twice is refused too, even with the right value twice', async () => {
    await start({ csrfMethods: ['GET'] });
    const csrf = await csrfOf(server.jwt, victim);
    const cookies: [string, string] = ['Cookie', `access_token_cookie=${victim}`];
    expect(await raw('/loc/me', [cookies, ['X-CSRF-TOKEN', csrf]])).to.deep.equal({ status: 200, body: { id: 'alice' } });
    for (const second of [csrf, 'forged']) {
      expect(await raw('/loc/me', [cookies, ['X-CSRF-TOKEN', csrf], ['X-CSRF-TOKEN', second]]))
        .to.deep.equal({ status: 401, body: { msg: 'CSRF double submit tokens do not match' } });
    }
  });

  it('implicit refresh renews neither copy', async () => {
    server = await startServer([Routes], { secretKey: SECRET, tokenLocation: ['cookies'] }, {}, driver, (manager) => [manager.implicitRefresh({ within: '5m' })]);
    current = server.jwt;
    const expiring = (sub: string) => server.jwt.tokens.createAccessToken(sub, { expiresIn: '2m' });
    const res = await supertest(server.url).get('/loc/open').set({ Cookie: `access_token_cookie=${await expiring('mallory')}; access_token_cookie=${await expiring('alice')}` }).expect(200);
    expect(setCookies(res)).to.deep.equal([]);
  });
}));

describe('implicit refresh (cookie sessions)', () => forEachDriver((driver) => {
  let server: TestServer;
  let jwt: JwtManager;
  let request: ReturnType<typeof supertest>;

  before(async () => {
    const config: JwtConfig = { secretKey: SECRET, tokenLocation: ['cookies'], accessTokenExpires: '10m' };
    server = await startServer([Routes], config, { development: false }, driver, (manager) => [manager.implicitRefresh({ within: '5m' })]);
    jwt = current = server.jwt;
    // No cookie jar: every request carries exactly the cookie the test gives it.
    request = supertest(server.url);
  });
  after(() => server.close());

  const withCookie = (token: string) => cookie({ access_token_cookie: token });

  it('outside the window: no new cookie', async () => {
    const token = await jwt.tokens.createAccessToken('alice');
    const res = await request.get('/loc/me').set(withCookie(token)).expect(200);
    expect(setCookies(res)).to.deep.equal([]);
  });

  it('inside the window: a new access cookie (and CSRF cookie) with the same identity and claims', async () => {
    const token = await jwt.tokens.createAccessToken('alice', { expiresIn: '2m', additionalClaims: { roles: ['admin'] } });
    const res = await request.get('/loc/me').set(withCookie(token)).expect(200);
    const renewed = cookieLine(res, 'access_token_cookie')!.split(';')[0].split('=')[1];
    const claims = await jwt.tokens.decodeToken(renewed);
    expect(claims).to.deep.include({ sub: 'alice', roles: ['admin'], type: 'access', fresh: false });
    expect(claims.exp! - claims.iat!).to.equal(600);
    expect(cookieLine(res, 'csrf_access_token')!.split(';')[0].split('=')[1]).to.equal(claims.csrf);
  });

  it('never on a response that unsets the cookie (the logout race)', async () => {
    const token = await jwt.tokens.createAccessToken('alice', { expiresIn: '2m' });
    const res = await request.post('/loc/logout').set(withCookie(token)).set('X-CSRF-TOKEN', await csrfOf(jwt, token)).expect(200);
    const lines = setCookies(res).filter((line) => line.startsWith('access_token_cookie='));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^access_token_cookie=; .*Max-Age=0/);
  });

  it('never for a token the action revoked, however it revoked it (a logout that leaves the cookies alone)', async () => {
    for (const [path, mint] of [
      ['/loc/revoke', () => jwt.tokens.createAccessToken('alice', { expiresIn: '2m' })],
      ['/loc/revoke-session', async () => (await jwt.tokens.createTokenPair('alice', { expiresIn: '2m' })).accessToken],
      ['/loc/revoke-all', () => jwt.tokens.createAccessToken('alice', { expiresIn: '2m' })],
    ] as const) {
      const token = await mint();
      const res = await request.post(path).set(withCookie(token)).set('X-CSRF-TOKEN', await csrfOf(jwt, token)).expect(200, { msg: 'Logged out' });
      expect(setCookies(res), path).to.deep.equal([]);
      await request.get('/loc/me').set(withCookie(token)).expect(401, { msg: 'Token has been revoked' });
    }
  });

  it('never on error responses', async () => {
    const token = await jwt.tokens.createAccessToken('alice', { expiresIn: '2m' });
    const res = await request.get('/loc/fail').set(withCookie(token));
    expect(res.status).to.equal(500);
    expect(setCookies(res)).to.deep.equal([]);
    const refresh = await jwt.tokens.createRefreshToken('alice');
    const wrongType = await request.get('/loc/me').set(cookie({ access_token_cookie: refresh })).expect(422);
    expect(setCookies(wrongType)).to.deep.equal([]);
  });

  it('on unprotected routes too, but never for a revoked token', async () => {
    const token = await jwt.tokens.createAccessToken('alice', { expiresIn: '2m' });
    expect(cookieLine(await request.get('/loc/open').set(withCookie(token)).expect(200), 'access_token_cookie')).to.be.a('string');
    await jwt.revokeToken(token);
    const res = await request.get('/loc/open').set(withCookie(token)).expect(200);
    expect(setCookies(res)).to.deep.equal([]);
  });
}));

/** A nested query parser as koa-qs (or Express's default) installs one: `a[b]=c` is `{ a: { b: 'c' } }`, `a[]=x` an array. */
function nestedQuery(querystring: string): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  for (const pair of querystring.split('&').filter(Boolean)) {
    const [rawKey, rawValue = ''] = pair.split('=');
    const key = decodeURIComponent(rawKey);
    const value = decodeURIComponent(rawValue);
    const nested = /^([^[]+)\[([^\]]*)\]$/.exec(key);
    if (!nested) query[key] = key in query ? ([] as unknown[]).concat(query[key], value) : value;
    else if (nested[2] === '') query[nested[1]] = [...((query[nested[1]] as unknown[]) ?? []), value];
    else query[nested[1]] = { ...(query[nested[1]] as object), [nested[2]]: value };
  }
  return query;
}

describe('token values that are not a string, and odd bodies', () => forEachDriver(function (driver) {
  this.timeout(20_000);
  let server: Server;
  let request: ReturnType<typeof supertest>;
  let token: string;

  before(async () => {
    current = new JwtManager({ secretKey: SECRET, tokenLocation: ['json'] });
    const options = { controllers: [Routes], authorizationChecker: current.authorizationChecker, currentUserChecker: current.currentUserChecker };
    if (driver === 'koa') {
      const app = new Koa();
      Object.defineProperty(app.request, 'query', { get(this: { querystring: string }) { return nestedQuery(this.querystring); } });
      server = useKoaServer(app, options).listen(0, '127.0.0.1');
    } else {
      // A nested query parser: Express 4's default ('extended'), which Express 5 must be asked for.
      const app = express();
      app.set('env', 'test');
      app.set('query parser', 'extended');
      server = useExpressServer(app, options).listen(0, '127.0.0.1');
    }
    await new Promise((resolve) => server.once('listening', resolve));
    request = supertest(server);
    token = await current.tokens.createAccessToken('alice');
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a query parameter made an object or an array by a nested parser is a clean 422', async () => {
    await request.get(`/loc/query-only?jwt=${token}`).expect(200, { id: 'alice' });
    await request.get('/loc/query-only?jwt[a]=x').expect(422, { msg: 'Bad "jwt" query parameter: expected a string' });
    await request.get(`/loc/query-only?jwt[a]=${token}`).expect(422, { msg: 'Bad "jwt" query parameter: expected a string' });
    await request.get(`/loc/query-only?jwt[]=${token}`).expect(422, { msg: 'Bad "jwt" query parameter: give it once' });
    await request.get(`/loc/query-only?jwt=${token}&jwt=${token}`).expect(422, { msg: 'Bad "jwt" query parameter: give it once' });
    await request.get('/loc/query-only?jwt=').expect(401, { msg: "Missing 'jwt' query paramater" });
  });

  it('a JSON value that is not a string: 401 missing where Python finds it false (as Flask-JWT-Extended), else a clean 422', async () => {
    const missing = { msg: 'Missing "access_token" key in json data.' };
    for (const value of [false, 0, '', null, [], {}]) {
      await request.post('/loc/me').send({ access_token: value }).expect(401, missing);
    }
    for (const value of [true, 1, -1.5, [token], { token }, ['x']]) {
      await request.post('/loc/me').send({ access_token: value }).expect(422, { msg: 'Bad "access_token" key in json data: expected a string' });
    }
    await request.post('/loc/me').send({ access_token: token }).expect(200, { id: 'alice' });
  });

  it('JSON media types as Werkzeug tells them: application/json and application/*+json, nothing else', async () => {
    const body = JSON.stringify({ access_token: token });
    for (const type of ['application/json', 'application/JSON; charset=utf-8', 'application/vnd.api+json']) {
      await request.post('/loc/me').set('Content-Type', type).send(body).expect(200, { id: 'alice' });
    }
    for (const type of ['application/json-seq', 'application/jsonx', 'text/json', 'application/x-json', 'text/plain', 'json']) {
      await request.post('/loc/me').set('Content-Type', type).send(body).expect(401, { msg: 'Invalid content-type. Must be application/json.' });
    }
  });
}));

describe('bare tokens (headerType: \'\')', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => { server = await serve(driver, { headerType: '' }); });
  after(() => server.close());

  it('reads the token alone, ignoring whitespace and stray commas around it as Flask-JWT-Extended does', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice');
    for (const value of [token, `${token},`, `,${token}`, ` ${token} , `]) {
      await server.request.get('/loc/me').set('Authorization', value).expect(200, { id: 'alice' });
    }
    const bad = { msg: "Bad Authorization header. Expected 'Authorization: <JWT>'" };
    for (const value of [`Bearer ${token}`, `${token}, ${token}`, `${token} x`]) {
      await server.request.get('/loc/me').set('Authorization', value).expect(422, bad);
    }
  });
}));

describe('the CSRF value from a form field (csrfCheckForm)', () => forEachDriver(function (driver) {
  this.timeout(20_000);
  let server: Server;
  let request: ReturnType<typeof supertest>;
  let token: string;
  let csrf: string;

  before(async () => {
    current = new JwtManager({ secretKey: SECRET, tokenLocation: ['cookies'], csrfCheckForm: true });
    const options = { controllers: [Routes], authorizationChecker: current.authorizationChecker, currentUserChecker: current.currentUserChecker };
    // The app's multipart parser, ahead of the routes (fields only).
    if (driver === 'koa') {
      const app = new Koa();
      app.use(koaMulter().none());
      server = useKoaServer(app, options).listen(0, '127.0.0.1');
    } else {
      const app = express();
      app.set('env', 'test');
      app.use(expressMulter().none());
      server = useExpressServer(app, options).listen(0, '127.0.0.1');
    }
    await new Promise((resolve) => server.once('listening', resolve));
    request = supertest(server);
    token = await current.tokens.createAccessToken('alice');
    csrf = await csrfOf(current, token);
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is read from urlencoded and multipart/form-data bodies', async () => {
    await request.post('/loc/me').set(cookie({ access_token_cookie: token })).type('form').send({ csrf_token: csrf }).expect(200, { id: 'alice' });
    await request.post('/loc/me').set(cookie({ access_token_cookie: token })).field('csrf_token', csrf).expect(200, { id: 'alice' });
    await request.post('/loc/me').set(cookie({ access_token_cookie: token })).field('csrf_token', 'forged').expect(401, { msg: 'CSRF double submit tokens do not match' });
  });

  it('is never read from a JSON body, which no form can send', async () => {
    await request.post('/loc/me').set(cookie({ access_token_cookie: token })).send({ csrf_token: csrf }).expect(401, { msg: 'Missing CSRF token' });
    await request.post('/loc/me').set(cookie({ access_token_cookie: token })).set('Content-Type', 'application/vnd.api+json').send(JSON.stringify({ csrf_token: csrf })).expect(401, { msg: 'Missing CSRF token' });
  });

  it('a repeated field counts by its first value (as Flask); one that is not a string is no CSRF value', async () => {
    await request.post('/loc/me').set(cookie({ access_token_cookie: token })).type('form').send(`csrf_token=${csrf}&csrf_token=forged`).expect(200, { id: 'alice' });
    await request.post('/loc/me').set(cookie({ access_token_cookie: token })).type('form').send(`csrf_token=forged&csrf_token=${csrf}`).expect(401, { msg: 'CSRF double submit tokens do not match' });
    await request.post('/loc/me').set(cookie({ access_token_cookie: token })).type('form').send(`csrf_token[a]=${csrf}`).expect(401, { msg: 'Missing CSRF token' });
  });

}));

describe('implicit refresh whose renewal throws', () => forEachDriver((driver) => {
  it('leaves the action\'s answer alone and reports the error to the app', async () => {
    let failing = false;
    const reported: string[] = [];
    const server = await startServer([Routes], {
      secretKey: SECRET, tokenLocation: ['cookies'], accessTokenExpires: '10m',
      additionalClaimsLoader: () => { if (failing) throw new Error('claims db down: password=hunter2'); return {}; },
      onCallbackError: (_error, { callback }) => { reported.push(callback); },
    }, {}, driver, (jwt) => [jwt.implicitRefresh({ within: '5m' })]);
    try {
      current = server.jwt;
      const token = await server.jwt.tokens.createAccessToken('alice', { expiresIn: '2m' });
      failing = true;
      const res = await supertest(server.url).get('/loc/me').set(cookie({ access_token_cookie: token })).expect(200, { id: 'alice' });
      expect(setCookies(res)).to.deep.equal([]);
      expect(reported).to.deep.equal(['additionalClaimsLoader']);
    } finally {
      await server.close();
    }
  });
}));

@JsonController('/unparsed')
class UnparsedBodyRoutes {
  @Post('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Post('/upload') @JwtRequired() upload(@CurrentIdentity() id: string, @UploadedFile('file') file: { originalname: string; size: number }) {
    return { id, name: file.originalname, size: file.size };
  }
}

describe('bodies no body parser read', function () {
  this.timeout(20_000);
  forEachDriver((driver) => {
    describe('the JSON location', () => {
      let server: TestServer;
      let token: string;
      before(async () => {
        server = await startServer([UnparsedBodyRoutes], { secretKey: SECRET, tokenLocation: ['json'] }, {}, driver);
        token = await server.jwt.tokens.createAccessToken('alice');
      });
      after(() => server.close());

      it('reads application/merge-patch+json and other +json bodies as Flask does', async () => {
        for (const type of ['application/merge-patch+json', 'application/problem+json', 'application/ld+json; charset=utf-8']) {
          await server.request.post('/unparsed/me').set('Content-Type', type).send(JSON.stringify({ access_token: token })).expect(200, { id: 'alice' });
        }
      });

      it('a malformed or oversized one holds no token: 401 in the library\'s shape', async () => {
        const missing = { msg: 'Missing "access_token" key in json data.' };
        await server.request.post('/unparsed/me').set('Content-Type', 'application/merge-patch+json').send('{"access_token":').expect(401, missing);
        await server.request.post('/unparsed/me').set('Content-Type', 'application/merge-patch+json').send(`{"access_token":"${token}","pad":"${'x'.repeat(70_000)}"}`).expect(401, missing);
        await server.request.post('/unparsed/me').set('Content-Type', 'application/merge-patch+json').send(JSON.stringify({ access_token: 42 })).expect(422);
      });
    });

    describe('the CSRF form field of a cookie token', () => {
      let server: TestServer;
      let token: string;
      let csrf: string;
      before(async () => {
        server = await startServer([UnparsedBodyRoutes], { secretKey: SECRET, tokenLocation: ['cookies'], csrfCheckForm: true }, {}, driver);
        token = await server.jwt.tokens.createAccessToken('alice');
        csrf = await csrfOf(server.jwt, token);
      });
      after(() => server.close());

      it('is read from a multipart/form-data body without any multipart parser', async () => {
        await server.request.post('/unparsed/me').set(cookie({ access_token_cookie: token })).field('csrf_token', csrf).expect(200, { id: 'alice' });
        await server.request.post('/unparsed/me').set(cookie({ access_token_cookie: token })).field('other', 'x').field('csrf_token', 'forged')
          .expect(401, { msg: 'CSRF double submit tokens do not match' });
        await server.request.post('/unparsed/me').set(cookie({ access_token_cookie: token })).field('csrf_token', csrf).field('csrf_token', 'forged')
          .expect(200, { id: 'alice' });
        await server.request.post('/unparsed/me').set(cookie({ access_token_cookie: token })).field('other', 'x').expect(401, { msg: 'Missing CSRF token' });
      });

      it('leaves the body whole for the upload the action receives after the check', async () => {
        const file = Buffer.alloc(20_000, 7);
        const res = await server.request.post('/unparsed/upload').set(cookie({ access_token_cookie: token }))
          .field('csrf_token', csrf).attach('file', file, 'a.bin').expect(200);
        expect(res.body).to.deep.equal({ id: 'alice', name: 'a.bin', size: 20_000 });
        await server.request.post('/unparsed/upload').set(cookie({ access_token_cookie: token }))
          .field('csrf_token', 'forged').attach('file', file, 'a.bin').expect(401, { msg: 'CSRF double submit tokens do not match' });
      });
    });
  });
});
