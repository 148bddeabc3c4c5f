import { expect } from 'chai';
import { Get, JsonController, Post } from 'routing-controllers';
import { CurrentIdentity, CurrentJwt, FreshJwtRequired, JwtManager, JwtRefreshTokenRequired, JwtRequired, type JwtClaims } from '../src';
import { forEachDriver, SECRET, startServer, type TestServer } from './helpers';

@JsonController('/helpers')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return { id }; }
  @Post('/fresh') @FreshJwtRequired() fresh(@CurrentIdentity() id: string) { return { id }; }
  @Get('/admin') @JwtRequired({ roles: ['admin'] }) admin(@CurrentJwt() claims: JwtClaims) { return { roles: claims.roles }; }
}

describe('testing helper: jwt.authHeaders(identity, options)', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => { server = await startServer([Routes], undefined, {}, driver); });
  after(() => server.close());

  it('gives the headers of a request authenticated with an access token', async () => {
    const headers = await server.jwt.authHeaders('alice');
    expect(Object.keys(headers)).to.deep.equal(['Authorization']);
    expect(headers.Authorization).to.match(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    await server.request.get('/helpers/me').set(headers).expect(200, { id: 'alice' });
    await server.request.post('/helpers/fresh').set(headers).expect(401);
  });

  it('with { refresh: true }, a refresh token', async () => {
    const headers = await server.jwt.authHeaders('alice', { refresh: true });
    await server.request.post('/helpers/refresh').set(headers).expect(200, { id: 'alice' });
    await server.request.get('/helpers/me').set(headers).expect(422);
  });

  it('with { fresh: true } and token options such as additionalClaims', async () => {
    await server.request.post('/helpers/fresh').set(await server.jwt.authHeaders('alice', { fresh: true })).expect(200);
    const admin = await server.jwt.authHeaders('alice', { additionalClaims: { roles: ['admin'] } });
    await server.request.get('/helpers/admin').set(admin).expect(200, { roles: ['admin'] });
  });

  it('follows a custom headerName and headerType, or a bare token', async () => {
    const custom = await startServer([Routes], { secretKey: SECRET, headerName: 'X-Api-Token', headerType: 'JWT' }, {}, driver);
    const bare = await startServer([Routes], { secretKey: SECRET, headerType: '' }, {}, driver);
    try {
      const headers = await custom.jwt.authHeaders('alice');
      expect(headers['X-Api-Token']).to.match(/^JWT /);
      await custom.request.get('/helpers/me').set(headers).expect(200, { id: 'alice' });
      await custom.request.get('/helpers/me').set('X-Api-Token', headers['X-Api-Token'].replace('JWT', 'Bearer'))
        .expect(401, { msg: "Missing 'JWT' type in 'X-Api-Token' header. Expected 'X-Api-Token: JWT <JWT>'" });
      await custom.request.get('/helpers/me').expect(401, { msg: 'Missing X-Api-Token Header' });

      const plain = await bare.jwt.authHeaders('bob');
      expect(plain.Authorization).not.to.contain(' ');
      await bare.request.get('/helpers/me').set(plain).expect(200, { id: 'bob' });
      await bare.request.get('/helpers/me').set('Authorization', `Bearer ${plain.Authorization}`)
        .expect(422, { msg: "Bad Authorization header. Expected 'Authorization: <JWT>'" });
    } finally {
      await custom.close();
      await bare.close();
    }
  });
}));

@JsonController('/helpers-cookies')
class CookieRoutes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Post('/me') @JwtRequired() postMe(@CurrentIdentity() id: string) { return { id }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return { id }; }
  @Post('/cookie-refresh') @JwtRefreshTokenRequired({ locations: ['cookies'] }) cookieRefresh(@CurrentIdentity() id: string) { return { id }; }
  @Post('/cookie-me') @JwtRequired({ locations: ['cookies'] }) cookieMe(@CurrentIdentity() id: string) { return { id }; }
}

describe('testing helpers follow tokenLocation and the cookie configuration', () => forEachDriver((driver) => {
  it('authHeaders() of a cookies-only app: the cookies and the CSRF header, accepted on GET and POST', async () => {
    const server = await startServer([CookieRoutes], { secretKey: SECRET, tokenLocation: ['cookies'] }, {}, driver);
    try {
      const headers = await server.jwt.authHeaders('alice');
      expect(Object.keys(headers)).to.deep.equal(['Cookie', 'X-CSRF-TOKEN']);
      expect(headers.Cookie).to.match(/^access_token_cookie=[\w-]+\.[\w-]+\.[\w-]+; csrf_access_token=[\w-]+$/);
      expect(headers.Cookie).to.contain(`csrf_access_token=${headers['X-CSRF-TOKEN']}`);
      await server.request.get('/helpers-cookies/me').set(headers).expect(200, { id: 'alice' });
      await server.request.post('/helpers-cookies/me').set(headers).expect(200, { id: 'alice' });
      const refresh = await server.jwt.authHeaders('alice', { refresh: true });
      expect(refresh.Cookie).to.match(/^refresh_token_cookie=\S+; csrf_refresh_token=[\w-]+$/);
      await server.request.post('/helpers-cookies/refresh').set(refresh).expect(200, { id: 'alice' });
      await server.request.post('/helpers-cookies/me').set(refresh).expect(401);
    } finally {
      await server.close();
    }
  });

  it('uses the configured cookie and CSRF names, and leaves the CSRF parts out without CSRF protection', async () => {
    const named = await startServer([CookieRoutes], {
      secretKey: SECRET, tokenLocation: ['cookies', 'headers'], accessCookieName: 'sid', accessCsrfCookieName: 'sid_csrf', accessCsrfHeaderName: 'X-Sid-Csrf',
    }, {}, driver);
    const unprotected = await startServer([CookieRoutes], { secretKey: SECRET, tokenLocation: ['cookies'], cookieCsrfProtect: false }, {}, driver);
    try {
      const headers = await named.jwt.authHeaders('alice');
      expect(Object.keys(headers)).to.deep.equal(['Cookie', 'X-Sid-Csrf']);
      expect(headers.Cookie).to.match(/^sid=\S+; sid_csrf=[\w-]+$/);
      await named.request.post('/helpers-cookies/me').set(headers).expect(200, { id: 'alice' });

      const plain = await unprotected.jwt.authHeaders('bob');
      expect(Object.keys(plain)).to.deep.equal(['Cookie']);
      expect(plain.Cookie).to.match(/^access_token_cookie=[\w-]+\.[\w-]+\.[\w-]+$/);
      await unprotected.request.post('/helpers-cookies/me').set(plain).expect(200, { id: 'bob' });
    } finally {
      await named.close();
      await unprotected.close();
    }
  });

  it('the first location that travels in headers decides; { location } chooses', async () => {
    const server = await startServer([CookieRoutes], { secretKey: SECRET, tokenLocation: ['query_string', 'headers', 'cookies'] }, {}, driver);
    try {
      expect(Object.keys(await server.jwt.authHeaders('alice'))).to.deep.equal(['Authorization']);
      const cookies = await server.jwt.authHeaders('alice', { location: 'cookies' });
      await server.request.post('/helpers-cookies/cookie-me').set(cookies).expect(200, { id: 'alice' });
      const refresh = await server.jwt.authHeaders('alice', { location: 'cookies', refresh: true });
      await server.request.post('/helpers-cookies/cookie-refresh').set(refresh).expect(200, { id: 'alice' });
    } finally {
      await server.close();
    }
    const queryOnly = new JwtManager({ secretKey: SECRET, tokenLocation: ['query_string', 'json'] });
    let error: unknown;
    await queryOnly.authHeaders('alice').catch((caught: unknown) => { error = caught; });
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.contain("tokens travel in headers only with 'headers' or 'cookies'");
  });

  it('cookieSession(): a logged-in browser, headers for access routes and refreshHeaders for refresh routes', async () => {
    const server = await startServer([CookieRoutes], { secretKey: SECRET, tokenLocation: ['cookies'], refreshCsrfHeaderName: 'X-Refresh-Csrf' }, {}, driver);
    try {
      const session = await server.jwt.cookieSession('alice', { fresh: true });
      expect(session.headers.Cookie).to.equal(
        `access_token_cookie=${session.accessToken}; csrf_access_token=${session.headers['X-CSRF-TOKEN']}; `
        + `refresh_token_cookie=${session.refreshToken}; csrf_refresh_token=${session.refreshHeaders['X-Refresh-Csrf']}`,
      );
      expect(session.refreshHeaders.Cookie).to.equal(session.headers.Cookie);
      expect(session.refreshHeaders).not.to.have.property('X-CSRF-TOKEN');
      await server.request.post('/helpers-cookies/me').set(session.headers).expect(200, { id: 'alice' });
      await server.request.post('/helpers-cookies/refresh').set(session.refreshHeaders).expect(200, { id: 'alice' });
      // Each CSRF header goes with its own token only.
      await server.request.post('/helpers-cookies/refresh').set(session.headers).expect(401, { msg: 'Missing CSRF token' });
      expect((await server.jwt.tokens.decodeToken(session.accessToken)).fresh).to.equal(true);
    } finally {
      await server.close();
    }
  });
}));
