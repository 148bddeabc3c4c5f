import { expect } from 'chai';
import { IsArray, IsIn, IsString, Matches } from 'class-validator';
import { Ctx, CurrentUser, Get, JsonController, Post } from 'routing-controllers';
import {
  CurrentIdentity, CurrentJwt, FreshJwtRequired, JwtErrorCode, JwtManager, JwtRefreshTokenRequired, JwtRequired,
  type ErrorCallback, type ErrorKind, type JwtClaims, type JwtFailure,
} from '../src';
import { accessClaims, forEachDriver, hmacToken, SECRET, startServer, type TestServer } from './helpers';

interface User { id: number; name: string; roles: string[] }
const users = new Map<string, User>([['1', { id: 1, name: 'alice', roles: ['admin'] }], ['2', { id: 2, name: 'bob', roles: [] }]]);

class AppClaims {
  @Matches(/^\d+$/) sub!: string;
  @IsIn(['access']) type!: 'access';
  @IsArray() @IsString({ each: true }) roles!: string[];
  get isAdmin(): boolean { return this.roles.includes('admin'); }
}

@JsonController()
class Routes {
  @Get('/user') @JwtRequired() user(@CurrentUser() user: User) { return user; }
  @Get('/typed') @JwtRequired() typed(@CurrentJwt() claims: AppClaims) { return { isInstance: claims instanceof AppClaims, isAdmin: claims.isAdmin }; }
  @Get('/untyped') @JwtRequired() untyped(@CurrentJwt() claims: JwtClaims) { return { sub: claims.sub }; }
  @Get('/admin') @JwtRequired({ roles: ['admin'] }) admin(@CurrentIdentity() id: string) { return { id }; }
  @Post('/fresh') @FreshJwtRequired() fresh() { return { ok: true }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh() { return { ok: true }; }
  @Get('/ctx') ctx(@Ctx() ctx: object) { return { ctx: typeof ctx }; }
}

const config = {
  secretKey: SECRET,
  userIdentityLoader: (user: User) => user.id,
  additionalClaimsLoader: async (subject: string | number | User) => (typeof subject === 'object' ? { roles: subject.roles } : {}),
  additionalHeadersLoader: (subject: string | number | User) => (typeof subject === 'object' ? { 'x-user': subject.name } : {}),
  userLookupLoader: async (_header: unknown, claims: JwtClaims) => users.get(claims.sub!),
  tokenVerificationLoader: (_header: unknown, claims: JwtClaims) => claims.banned !== true,
};

describe('loaders, typed claims and error callbacks', () => forEachDriver((driver) => {
  let server: TestServer;
  let jwt: JwtManager<User>;
  const alice = users.get('1')!;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  before(async () => {
    server = await startServer([Routes], config, {}, driver);
    jwt = server.jwt as unknown as JwtManager<User>;
  });
  after(() => server.close());

  describe('claims loaders', () => {
    it('userIdentityLoader, additionalClaimsLoader and additionalHeadersLoader shape tokens made from a user', async () => {
      const token = await jwt.tokens.createAccessToken(alice);
      const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
      expect(payload).to.deep.include({ sub: '1', roles: ['admin'] });
      expect(header).to.include({ 'x-user': 'alice' });
    });

    it('explicit additionalClaims win over the loader\'s', async () => {
      const claims = await jwt.tokens.decodeToken(await jwt.tokens.createAccessToken(alice, { additionalClaims: { roles: ['reader'] } }));
      expect(claims.roles).to.deep.equal(['reader']);
    });
  });

  describe('userLookupLoader', () => {
    it('gives @CurrentUser() the loaded user', async () => {
      expect((await server.request.get('/user').set(as(await jwt.tokens.createAccessToken(alice))).expect(200)).body).to.deep.equal(alice);
    });

    it('refuses a token whose user is gone: 401 Error loading the user <identity>', async () => {
      const res = await server.request.get('/user').set(as(await jwt.tokens.createAccessToken(99))).expect(401);
      expect(res.body).to.deep.equal({ msg: 'Error loading the user 99' });
      expect(res.headers['www-authenticate']).to.equal('Bearer');
    });
  });

  it('tokenVerificationLoader: false refuses with 400 User claims verification failed', async () => {
    const res = await server.request.get('/user').set(as(await jwt.tokens.createAccessToken(alice, { additionalClaims: { banned: true } }))).expect(400);
    expect(res.body).to.deep.equal({ msg: 'User claims verification failed' });
  });

  describe('typed claims', () => {
    it('a @CurrentJwt() parameter typed with a class gets a validated instance', async () => {
      const res = await server.request.get('/typed').set(as(await jwt.tokens.createAccessToken(alice))).expect(200);
      expect(res.body).to.deep.equal({ isInstance: true, isAdmin: true });
    });

    it('claims that do not fit the class answer 422 with the validation messages', async () => {
      const bob = await jwt.tokens.createAccessToken(users.get('2')!, { additionalClaims: { roles: 'admin' } });
      expect((await server.request.get('/typed').set(as(bob)).expect(422)).body).to.deep.equal({ msg: 'Invalid claims: roles must be an array' });
      const mixed = await jwt.tokens.createAccessToken(users.get('2')!, { additionalClaims: { roles: ['admin', 7] } });
      expect((await server.request.get('/typed').set(as(mixed)).expect(422)).body).to.deep.equal({ msg: 'Invalid claims: each value in roles must be a string' });
    });

    it('an interface-typed parameter gets the plain claims', async () => {
      expect((await server.request.get('/untyped').set(as(await jwt.tokens.createAccessToken(alice))).expect(200)).body).to.deep.equal({ sub: '1' });
    });
  });

  it('roles come from a configurable claim, as an array or a space-separated string', async () => {
    const scoped = await startServer([Routes], { secretKey: SECRET, rolesClaim: 'scope' }, {}, driver);
    try {
      await scoped.request.get('/admin').set(as(await scoped.jwt.tokens.createAccessToken('a', { additionalClaims: { roles: ['admin'] } }))).expect(403);
      await scoped.request.get('/admin').set(as(await scoped.jwt.tokens.createAccessToken('a', { additionalClaims: { scope: 'read admin' } }))).expect(200);
    } finally {
      await scoped.close();
    }
  });
}));

describe('error callbacks', () => forEachDriver((driver) => {
  const seen: JwtFailure[] = [];
  const reshape = (kind: ErrorKind): ErrorCallback => async (failure) => {
    seen.push(failure);
    return { status: 499, body: { error: kind, code: failure.code }, headers: { 'X-Kind': kind } };
  };
  const kinds: ErrorKind[] = ['unauthorized', 'invalidToken', 'expired', 'needsFresh', 'roleMissing', 'userLookup', 'claimsVerification'];
  let server: TestServer;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  before(async () => {
    server = await startServer([Routes], {
      secretKey: SECRET,
      userLookupLoader: (_h, claims) => (claims.sub === 'ghost' ? undefined : claims.sub),
      tokenVerificationLoader: (_h, claims) => claims.sub !== 'banned',
      errorCallbacks: Object.fromEntries(kinds.map((kind) => [kind, reshape(kind)])),
    }, {}, driver);
  });
  after(() => server.close());
  beforeEach(() => { seen.length = 0; });

  const cases: Array<[ErrorKind, string, 'get' | 'post', (s: TestServer) => Promise<Record<string, string>>, string | undefined]> = [
    ['unauthorized', '/admin', 'get', async () => ({}), undefined],
    ['invalidToken', '/admin', 'get', async () => ({ Authorization: 'Bearer nope' }), undefined],
    ['invalidToken', '/admin', 'get', async (s) => as(await s.jwt.tokens.createRefreshToken('alice')), 'alice'],
    ['expired', '/admin', 'get', async () => as(hmacToken({ alg: 'HS256' }, accessClaims('alice', { exp: 1 }))), 'alice'],
    ['needsFresh', '/fresh', 'post', async (s) => as(await s.jwt.tokens.createAccessToken('alice')), 'alice'],
    ['roleMissing', '/admin', 'get', async (s) => as(await s.jwt.tokens.createAccessToken('alice')), 'alice'],
    ['userLookup', '/user', 'get', async (s) => as(await s.jwt.tokens.createAccessToken('ghost')), 'ghost'],
    ['claimsVerification', '/user', 'get', async (s) => as(await s.jwt.tokens.createAccessToken('banned')), 'banned'],
  ];

  for (const [kind, route, method, headers, sub] of cases) {
    it(`${kind}${sub ? '' : ' (no claims)'}: the callback re-shapes status, body and headers`, async () => {
      const res = await server.request[method](route).set(await headers(server));
      expect(res.status).to.equal(499);
      expect(res.body.error).to.equal(kind);
      expect(Object.values(JwtErrorCode)).to.include(res.body.code);
      expect(res.headers['x-kind']).to.equal(kind);
      expect(seen).to.have.length(1);
      expect(seen[0].kind).to.equal(kind);
      expect(seen[0].ctx).to.be.an('object').with.property('method');
      expect(seen[0].claims?.sub).to.equal(sub);
    });
  }

  it('a callback returning nothing keeps the default response', async () => {
    const quiet = await startServer([Routes], { secretKey: SECRET, errorCallbacks: { unauthorized: () => undefined } }, {}, driver);
    try {
      expect((await quiet.request.get('/admin').expect(401)).body).to.deep.equal({ msg: 'Missing Authorization Header' });
    } finally {
      await quiet.close();
    }
  });
}));

describe('rfc6750Errors', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => { server = await startServer([Routes], { secretKey: SECRET, rfc6750Errors: true }, {}, driver); });
  after(() => server.close());

  const cases: Array<[string, string, 'get' | 'post', (s: TestServer) => Promise<string | undefined>, number, string, string]> = [
    ['no token', '/admin', 'get', async () => undefined, 401, 'Bearer', 'Missing Authorization Header'],
    ['malformed header', '/admin', 'get', async () => 'Bearer a b', 400, 'Bearer error="invalid_request", error_description="Bad Authorization header. Expected \'Authorization: Bearer <JWT>\'"', "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"],
    ['bad signature', '/admin', 'get', async () => `Bearer ${hmacToken({ alg: 'HS256' }, accessClaims(), `${SECRET}x`)}`, 401, 'Bearer error="invalid_token", error_description="Signature verification failed"', 'Signature verification failed'],
    ['wrong type', '/admin', 'get', async (s) => `Bearer ${await s.jwt.tokens.createRefreshToken('a')}`, 401, 'Bearer error="invalid_token", error_description="Only non-refresh tokens are allowed"', 'Only non-refresh tokens are allowed'],
    ['expired', '/admin', 'get', async () => `Bearer ${hmacToken({ alg: 'HS256' }, accessClaims('a', { exp: 1 }))}`, 401, 'Bearer error="invalid_token", error_description="Token has expired"', 'Token has expired'],
    ['quote in the message', '/admin', 'get', async () => `Bearer ${hmacToken({ alg: 'HS256' }, accessClaims('a', { sub: undefined, identity: 'x' }))}`, 401, 'Bearer error="invalid_token", error_description="Missing claim: sub"', 'Missing claim: sub'],
    ['role missing', '/admin', 'get', async (s) => `Bearer ${await s.jwt.tokens.createAccessToken('a')}`, 403, 'Bearer error="insufficient_scope", error_description="Missing required role: admin"', 'Missing required role: admin'],
  ];
  for (const [situation, route, method, authorization, status, challenge, msg] of cases) {
    it(`${situation} → ${status} ${challenge.split(',')[0]}`, async () => {
      const value = await authorization(server);
      let req = server.request[method](route);
      if (value) req = req.set('Authorization', value);
      const res = await req;
      expect(res.status).to.equal(status);
      expect(res.headers['www-authenticate']).to.equal(challenge);
      expect(res.body).to.deep.equal({ msg });
    });
  }

  it('keeps error_description free of double quotes', async () => {
    const aud = await startServer([Routes], { secretKey: SECRET, rfc6750Errors: true, decodeAudience: 'api' }, {}, driver);
    try {
      const res = await aud.request.get('/admin').set('Authorization', `Bearer ${hmacToken({ alg: 'HS256' }, accessClaims())}`).expect(401);
      expect(res.headers['www-authenticate']).to.equal('Bearer error="invalid_token", error_description="Token is missing the \'aud\' claim"');
      expect(res.body).to.deep.equal({ msg: 'Token is missing the "aud" claim' });
    } finally {
      await aud.close();
    }
  });

  it('lets only the characters RFC 6750 allows into the challenge, whatever the message holds; the body keeps it whole', async () => {
    const lookup = await startServer([Routes], { secretKey: SECRET, rfc6750Errors: true, userLookupLoader: () => null }, {}, driver);
    try {
      const subs = ['王小明', 'line\r\nX-Injected: 1', 'tab\there', 'nul\u0000', 'quote"back\\slash', 'é', '😀', 'del\u007f', '\u2028', 'x'.repeat(5000)];
      for (const sub of subs) {
        const res = await lookup.request.get('/user').set('Authorization', `Bearer ${hmacToken({ alg: 'HS256' }, accessClaims(sub))}`);
        expect(res.status, JSON.stringify(sub)).to.equal(401);
        expect(res.headers['www-authenticate']).to.match(/^Bearer error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]{1,210}"$/);
        expect(res.headers).not.to.have.property('x-injected');
        expect(res.body).to.deep.equal({ msg: `Error loading the user ${sub}` });
      }
    } finally {
      await lookup.close();
    }
  });
}));
