import { expect } from 'chai';
import { Controller, CurrentUser, ForbiddenError, Get, JsonController, Post } from 'routing-controllers';
import {
  CurrentIdentity, FreshJwtRequired, JwtManager, JwtOptional, JwtRefreshTokenRequired, JwtRequired, type CallbackErrorHandler, type JwtConfig, type JwtErrorResponse,
} from '../src';
import type { Response } from 'supertest';
import { accessClaims, forEachDriver, getWithRawHeaders, hmacToken, SECRET, startServer, type TestServer } from './helpers';

/** The manager whose tokens `/json/login` issues (see 'app callbacks that throw'). */
let issuer: JwtManager | undefined;

@JsonController('/json')
class JsonRoutes {
  // A user object, so that a userIdentityLoader is asked too.
  @Post('/login') login() { return issuer!.tokens.createTokenPair({ name: 'alice' } as never); }
  @Get('/access') @JwtRequired() access(@CurrentIdentity() id: string) { return { id }; }
  @Get('/optional') @JwtOptional() optional(@CurrentIdentity() id?: string) { return { id: id ?? null }; }
  @Get('/user') @JwtRequired() user(@CurrentUser() user: unknown) { return { user }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return { id }; }
  @Post('/fresh') @FreshJwtRequired() fresh(@CurrentIdentity() id: string) { return { id }; }
  @Get('/admin') @JwtRequired({ roles: ['admin'] }) admin(@CurrentIdentity() id: string) { return { id }; }
}

// A plain (text) controller: routing-controllers would render errors as text,
// with a stack in development mode. Ours must still be the contract's JSON.
@Controller('/text')
class TextRoutes {
  @Get('/optional') @JwtOptional() optional(@CurrentIdentity() id?: string) { return `hello ${id ?? 'anonymous'}`; }
  @Get('/access') @JwtRequired() access(@CurrentIdentity() id: string) { return `hello ${id}`; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return `hello ${id}`; }
  @Post('/fresh') @FreshJwtRequired() fresh(@CurrentIdentity() id: string) { return `hello ${id}`; }
  @Get('/admin') @JwtRequired({ roles: ['admin'] }) admin(@CurrentIdentity() id: string) { return `hello ${id}`; }
}

interface Row {
  situation: string;
  method: 'get' | 'post';
  route: string;
  authorization?: (s: TestServer) => Promise<string>;
  status: number;
  msg: string;
}

const bearer = (token: string) => `Bearer ${token}`;
const now = () => Math.floor(Date.now() / 1000);

// The contract's error table, row by row (revocation and CSRF rows come with their issues).
const rows: Row[] = [
  { situation: 'no token', method: 'get', route: '/access', status: 401, msg: 'Missing Authorization Header' },
  { situation: 'empty Authorization header', method: 'get', route: '/access', authorization: async () => '  ', status: 401, msg: 'Missing Authorization Header' },
  { situation: 'Basic credentials', method: 'get', route: '/access', authorization: async () => 'Basic dGVzdDp0ZXN0', status: 401, msg: "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'" },
  { situation: 'Token scheme', method: 'get', route: '/access', authorization: async (s) => `Token ${await s.jwt.tokens.createAccessToken('a')}`, status: 401, msg: "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'" },
  { situation: 'Bearer without a token', method: 'get', route: '/access', authorization: async () => 'Bearer', status: 422, msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" },
  { situation: 'Bearer with two tokens', method: 'get', route: '/access', authorization: async () => 'Bearer a b', status: 422, msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" },
  { situation: 'two Bearer credentials in one field', method: 'get', route: '/access', authorization: async (s) => `Bearer ${await s.jwt.tokens.createAccessToken('a')}, Bearer x`, status: 422, msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" },
  { situation: 'expired token', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims('a', { exp: now() - 10 }))), status: 401, msg: 'Token has expired' },
  { situation: 'bad signature', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims(), `${SECRET}-other`)), status: 422, msg: 'Signature verification failed' },
  { situation: 'not a JWT', method: 'get', route: '/access', authorization: async () => 'Bearer not-a-jwt', status: 422, msg: 'Not enough segments' },
  { situation: 'undecodable header', method: 'get', route: '/access', authorization: async () => 'Bearer aGVsbG8.e30.c2ln', status: 422, msg: 'Invalid header string' },
  { situation: 'algorithm not configured (HS512 on an HS256 app)', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS512' }, accessClaims(), SECRET, 'sha512')), status: 422, msg: 'The specified alg value is not allowed' },
  { situation: 'alg none', method: 'get', route: '/access', authorization: async () => bearer(`${hmacToken({ alg: 'none' }, accessClaims()).split('.').slice(0, 2).join('.')}.`), status: 422, msg: 'The specified alg value is not allowed' },
  { situation: 'non-string subject', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims('a', { sub: 42 }))), status: 422, msg: 'Subject must be a string' },
  { situation: 'missing identity claim', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims('a', { sub: undefined }))), status: 422, msg: 'Missing claim: sub' },
  { situation: 'future nbf', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims('a', { nbf: now() + 60 }))), status: 422, msg: 'The token is not yet valid (nbf)' },
  { situation: 'future iat', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims('a', { iat: now() + 86400 }))), status: 422, msg: 'The token is not yet valid (iat)' },
  { situation: 'exp not a number', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims('a', { exp: 'tomorrow' }))), status: 422, msg: 'Expiration Time claim (exp) must be a number' },
  { situation: 'unexpected audience', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims('a', { aud: 'someone-else' }))), status: 422, msg: 'Invalid audience: the token names an audience and this service accepts none (RFC 7519, section 4.1.3)' },
  { situation: 'unknown crit header', method: 'get', route: '/access', authorization: async () => bearer(hmacToken({ alg: 'HS256', crit: ['exp'] }, accessClaims())), status: 422, msg: 'Unsupported critical header parameter' },
  { situation: 'refresh token on an access route', method: 'get', route: '/access', authorization: async (s) => bearer(await s.jwt.tokens.createRefreshToken('a')), status: 422, msg: 'Only non-refresh tokens are allowed' },
  { situation: 'access token on a refresh route', method: 'post', route: '/refresh', authorization: async (s) => bearer(await s.jwt.tokens.createAccessToken('a')), status: 422, msg: 'Only refresh tokens are allowed' },
  { situation: 'non-fresh token on a fresh route', method: 'post', route: '/fresh', authorization: async (s) => bearer(await s.jwt.tokens.createAccessToken('a')), status: 401, msg: 'Fresh token required' },
  { situation: 'freshness window passed', method: 'post', route: '/fresh', authorization: async () => bearer(hmacToken({ alg: 'HS256' }, accessClaims('a', { fresh: now() - 1 }))), status: 401, msg: 'Fresh token required' },
  { situation: 'required role missing', method: 'get', route: '/admin', authorization: async (s) => bearer(await s.jwt.tokens.createAccessToken('a', { additionalClaims: { roles: ['user'] } })), status: 403, msg: 'Missing required role: admin' },
];

describe('error table', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => { server = await startServer([JsonRoutes, TextRoutes], { secretKey: SECRET }, { development: true }, driver); });
  after(() => server.close());

  for (const prefix of ['/json', '/text']) {
    describe(`on a ${prefix === '/json' ? 'JSON' : 'plain (text)'} controller`, () => {
      for (const row of rows) {
        it(`${row.situation} → ${row.status} ${row.msg}`, async () => {
          const authorization = row.authorization ? await row.authorization(server) : undefined;
          let req = server.request[row.method](`${prefix}${row.route}?secret=query-${SECRET}`);
          if (authorization !== undefined) req = req.set('Authorization', authorization);
          const res = await req;
          expect(res.status).to.equal(row.status);
          expect(res.headers['content-type']).to.match(/^application\/json/);
          expect(res.body).to.deep.equal({ msg: row.msg });
          if (row.status === 401) expect(res.headers['www-authenticate']).to.equal('Bearer');
          else expect(res.headers).not.to.have.property('www-authenticate');
          // Nothing of the request, the secret or a stack comes back.
          expect(res.text).not.to.contain(SECRET.slice(0, 20));
          expect(res.text).not.to.contain('    at ');
          if (authorization && authorization.length > 20) expect(res.text).not.to.contain(authorization.slice(7, 40));
        });
      }
    });
  }

  it('accepts the scheme in any case (RFC 7235)', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice');
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const res = await server.request.get('/json/access').set('Authorization', `${scheme} ${token}`).expect(200);
      expect(res.body).to.deep.equal({ id: 'alice' });
    }
  });

  describe('one credential per request', () => {
    const bad = { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" };

    it('refuses a Bearer credential beside another one in the same field, in either order', async () => {
      const token = await server.jwt.tokens.createAccessToken('alice');
      for (const value of [`Basic dGVzdDp0ZXN0, Bearer ${token}`, `Bearer ${token}, Basic dGVzdDp0ZXN0`, `Bearer ${token}, Bearer ${token}`, `Digest a=1, Bearer ${token}`]) {
        await server.request.get('/json/access').set('Authorization', value).expect(422, bad);
      }
    });

    it('refuses two Authorization lines, whatever their schemes, instead of reading one', async () => {
      const token = await server.jwt.tokens.createAccessToken('alice');
      for (const other of ['Bearer other', 'Basic dGVzdDp0ZXN0', 'Token x']) {
        for (const lines of [[`Bearer ${token}`, other], [other, `Bearer ${token}`]]) {
          const res = await getWithRawHeaders(server.url, '/json/access', lines.map((line): [string, string] => ['Authorization', line]));
          expect(res.status).to.equal(422);
          expect(JSON.parse(res.body)).to.deep.equal(bad);
        }
      }
    });

    it('ignores whitespace and stray commas around the one credential, as Flask-JWT-Extended', async () => {
      const token = await server.jwt.tokens.createAccessToken('alice');
      for (const value of [`Bearer ${token},`, `,Bearer ${token}`, `Bearer \t ${token} ,, `, `Bearer\t${token}`]) {
        await server.request.get('/json/access').set('Authorization', value).expect(200, { id: 'alice' });
      }
    });

    it('without a Bearer credential, several others are still just "no Bearer" (401)', async () => {
      const res = await server.request.get('/json/access').set('Authorization', 'Digest username="a", realm="b"').expect(401);
      expect(res.body.msg).to.match(/^Missing 'Bearer' type/);
    });
  });

  it('uses the configured errorMessageKey', async () => {
    const custom = await startServer([JsonRoutes], { secretKey: SECRET, errorMessageKey: 'error' }, {}, driver);
    try {
      const res = await custom.request.get('/json/access').expect(401);
      expect(res.body).to.deep.equal({ error: 'Missing Authorization Header' });
    } finally {
      await custom.close();
    }
  });

  it('answers a 100 KB header with a 4xx, never a 5xx', async () => {
    const huge = `Bearer ${'a'.repeat(50_000)}.${'b'.repeat(50_000)}.c`;
    const res = await server.request.get('/json/access').set('Authorization', huge);
    expect(res.status).to.be.within(400, 499);
    // Beyond node's maxHeaderSize: the server's clientError handler (see helpers) answers, in the library's shape.
    expect([res.status, res.body]).to.deep.equal([431, { msg: 'Request Header Fields Too Large' }]);
  });
}));

/** What an app's callback might throw: a message, a code and a path that must never reach the client. */
function secretFailure(): Error {
  return Object.assign(new Error('db at /srv/secret/keys.db refused: password=hunter2'), { code: 'ESECRETCODE', path: '/srv/secret/keys.db' });
}

describe('claims and headers as PyJWT and Flask-JWT-Extended read them', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => { server = await startServer([JsonRoutes], { secretKey: SECRET }, {}, driver); });
  after(() => server.close());
  const exact = () => Date.now() / 1000;
  const get = (token: string) => server.request.get('/json/access').set('Authorization', bearer(token));
  const postFresh = (token: string) => server.request.post('/json/fresh').set('Authorization', bearer(token));
  const header = { alg: 'HS256', typ: 'JWT' };

  it('times with a fraction are compared with the time and its fraction: an exp or fresh just past is past', async () => {
    await get(hmacToken(header, accessClaims('alice', { exp: exact() - 0.3 }))).expect(401, { msg: 'Token has expired' });
    await get(hmacToken(header, accessClaims('alice', { nbf: exact() - 0.1, iat: exact() - 0.1 }))).expect(200, { id: 'alice' });
    await postFresh(hmacToken(header, accessClaims('alice', { fresh: exact() - 0.3 }))).expect(401, { msg: 'Fresh token required' });
    await postFresh(hmacToken(header, accessClaims('alice', { fresh: exact() + 60 }))).expect(200, { id: 'alice' });
  });

  it('a fresh claim that is neither a boolean nor a NumericDate: read nowhere but on fresh routes, where it is not fresh', async () => {
    for (const fresh of ['true', '123', [], {}, null]) {
      await get(hmacToken(header, accessClaims('alice', { fresh }))).expect(200, { id: 'alice' });
      await postFresh(hmacToken(header, accessClaims('alice', { fresh }))).expect(401, { msg: 'Fresh token required' });
    }
  });

  it('b64: false (RFC 7797) and a missing alg, with PyJWT\'s words', async () => {
    await get(hmacToken({ ...header, b64: false }, accessClaims())).expect(422, { msg: "Payload segment must be empty when 'b64' is false." });
    const unencoded = hmacToken({ ...header, b64: false }, accessClaims()).split('.');
    await get(`${unencoded[0]}..${unencoded[2]}`).expect(422, { msg: "The 'b64' header parameter requires 'b64' to be listed in 'crit'." });
    await get(hmacToken({ ...header, b64: true }, accessClaims())).expect(200, { id: 'alice' });
    await get(hmacToken({ typ: 'JWT' }, accessClaims())).expect(422, { msg: 'Algorithm not specified' });
  });
}));

describe('app callbacks that throw', () => forEachDriver((driver) => {
  const reported: Array<{ error: unknown; callback: string }> = [];
  const onCallbackError: CallbackErrorHandler = (error, { callback }) => { reported.push({ error, callback }); };
  let token: string;
  const servers: TestServer[] = [];
  const serve = async (config: Partial<JwtConfig>) => {
    const server = await startServer([JsonRoutes, TextRoutes], { secretKey: SECRET, onCallbackError, ...config }, { development: true }, driver);
    servers.push(server);
    return server;
  };
  beforeEach(async () => {
    reported.length = 0;
    token = await new JwtManager({ secretKey: SECRET }).tokens.createAccessToken('alice');
  });
  after(async () => { await Promise.all(servers.map((server) => server.close())); });

  /** The answer carries the library's message and nothing of the thrown error; the app got the error. */
  function expectClean(res: Response, status: number, msg: string, callback: string) {
    expect(res.status).to.equal(status);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    expect(res.body).to.deep.equal({ msg });
    for (const leak of ['/srv/secret', 'hunter2', 'ESECRETCODE', 'keys.db', '    at ']) expect(res.text).not.to.contain(leak);
    expect(reported.map((r) => r.callback)).to.deep.equal([callback]);
    expect((reported[0].error as Error).message).to.contain('hunter2');
    reported.length = 0;
  }

  const throwing = {
    'a sync throw': () => { throw secretFailure(); },
    'a rejected promise': () => Promise.reject(secretFailure()),
  };

  for (const [how, fail] of Object.entries(throwing)) {
    it(`decodeKeyLoader, ${how}: 422 on required and optional routes, JSON and text controllers`, async () => {
      const server = await serve({ decodeKeyLoader: fail });
      for (const route of ['/json/access', '/json/optional', '/text/optional']) {
        expectClean(await server.request.get(route).set('Authorization', `Bearer ${token}`), 422, 'No key to verify the token with', 'decodeKeyLoader');
      }
      // No token, no loader: the optional route answers anonymously.
      await server.request.get('/json/optional').expect(200, { id: null });
    });

    it(`userLookupLoader, ${how}: 401 Error loading the user`, async () => {
      const server = await serve({ userLookupLoader: fail });
      expectClean(await server.request.get('/json/user').set('Authorization', `Bearer ${token}`), 401, 'Error loading the user alice', 'userLookupLoader');
      expectClean(await server.request.get('/json/optional').set('Authorization', `Bearer ${token}`), 401, 'Error loading the user alice', 'userLookupLoader');
    });

    it(`tokenVerificationLoader, ${how}: 400 User claims verification failed`, async () => {
      const server = await serve({ tokenVerificationLoader: fail });
      expectClean(await server.request.get('/json/access').set('Authorization', `Bearer ${token}`), 400, 'User claims verification failed', 'tokenVerificationLoader');
    });

    it(`a callback that shapes a new token, ${how}: 503, no token issued, nothing of the error in the answer`, async () => {
      const userIdentityLoader = (user: { name: string }) => user.name;
      const loaders = ['userIdentityLoader', 'additionalClaimsLoader', 'additionalHeadersLoader', 'encodeKeyLoader'] as const;
      for (const loader of loaders) {
        const server = await serve({ userIdentityLoader, [loader]: fail } as Partial<JwtConfig>);
        issuer = server.jwt;
        expectClean(await server.request.post('/json/login'), 503, 'The token could not be issued; try again later', loader);
      }
      const working = await serve({ userIdentityLoader });
      issuer = working.jwt;
      await working.request.post('/json/login').expect(200);
    });

    it(`an error callback, ${how}: the default answer`, async () => {
      const server = await serve({ errorCallbacks: { unauthorized: fail, invalidToken: fail } });
      const res = await server.request.get('/json/access');
      expectClean(res, 401, 'Missing Authorization Header', 'errorCallbacks.unauthorized');
      expect(res.headers['www-authenticate']).to.equal('Bearer');
      expectClean(await server.request.get('/text/optional').set('Authorization', 'Bearer a b'), 422, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'", 'errorCallbacks.invalidToken');
    });
  }

  it('an error callback answering what node cannot send (a bad header value or name, a status out of range): the default answer', async () => {
    const answers: JwtErrorResponse[] = [
      { headers: { 'WWW-Authenticate': 'Bearer error_description="王小明"' } },
      { headers: { 'X-Reason': 'a\r\nSet-Cookie: session=stolen' } },
      { headers: { 'Bad Name': 'x' } },
      { status: 1000 },
      { status: 200 },
    ];
    for (const answer of answers) {
      const server = await serve({ errorCallbacks: { unauthorized: () => answer } });
      const res = await server.request.get('/json/access').expect(401, { msg: 'Missing Authorization Header' });
      expect(res.headers['www-authenticate']).to.equal('Bearer');
      expect(res.headers).not.to.have.property('set-cookie');
      expect(reported.map((r) => r.callback)).to.deep.equal(['errorCallbacks.unauthorized']);
      reported.length = 0;
    }
  });

  it('an error callback answering what cannot be rendered (a body JSON refuses, a getter that throws, not an object): the default answer, no 500, no crash', async () => {
    const circular: Record<string, unknown> = { reason: 'loop' };
    circular.self = circular;
    const answers: unknown[] = [
      { body: circular },
      { body: { count: 10n } },
      { body: { toJSON() { throw secretFailure(); } } },
      { body: 'hunter2' },
      { body: ['hunter2'] },
      { get status() { throw secretFailure(); } },
      { headers: 'hunter2' },
      'hunter2',
      42,
    ];
    for (const answer of answers) {
      const server = await serve({ errorCallbacks: { unauthorized: () => answer as JwtErrorResponse } });
      for (const route of ['/json/access', '/text/access']) {
        const res = await server.request.get(route).expect(401, { msg: 'Missing Authorization Header' });
        expect(res.text).not.to.contain('hunter2');
        expect(res.headers['www-authenticate']).to.equal('Bearer');
      }
      expect(reported.map((r) => r.callback)).to.deep.equal(['errorCallbacks.unauthorized', 'errorCallbacks.unauthorized']);
      reported.length = 0;
    }
  });

  it('an HttpError thrown on purpose passes through to the client', async () => {
    const server = await serve({ decodeKeyLoader: () => { throw new ForbiddenError('Tenant suspended'); }, userLookupLoader: () => { throw new ForbiddenError('User banned'); } });
    const res = await server.request.get('/json/access').set('Authorization', `Bearer ${token}`).expect(403);
    expect(res.body.message).to.equal('Tenant suspended');
    expect(reported).to.deep.equal([]);
  });

  it('a handler that throws too changes nothing; without a handler the error is logged, not sent', async () => {
    const server = await serve({ userLookupLoader: () => { throw secretFailure(); }, onCallbackError: () => { throw secretFailure(); } });
    const res = await server.request.get('/json/user').set('Authorization', `Bearer ${token}`).expect(401, { msg: 'Error loading the user alice' });
    expect(res.text).not.to.contain('hunter2');
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => { logged.push(args); };
    try {
      const quiet = await startServer([JsonRoutes], { secretKey: SECRET, tokenVerificationLoader: () => { throw secretFailure(); } }, {}, driver);
      servers.push(quiet);
      await quiet.request.get('/json/access').set('Authorization', `Bearer ${token}`).expect(400, { msg: 'User claims verification failed' });
    } finally {
      console.error = original;
    }
    expect(logged).to.have.length(1);
    expect(String(logged[0][0])).to.contain('tokenVerificationLoader');
  });
}));
