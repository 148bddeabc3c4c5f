import { expect } from 'chai';
import { Get, JsonController, Post } from 'routing-controllers';
import { CurrentJwt, JwtManager, JwtRefreshTokenRequired, JwtRequired, type JwtClaims } from '../src';
import { forEachDriver, SECRET, startServer, type TestServer } from './helpers';

// The README's roles recipe ("Users and claims"), with rotation on.
interface User { id: number; roles: string[]; tenant: string }
const ADMIN: User = { id: 42, roles: ['admin'], tenant: 'acme' };

let jwt: JwtManager<User>;

@JsonController('/flow')
class Routes {
  @Post('/refresh') @JwtRefreshTokenRequired() async refresh(@CurrentJwt() claims: JwtClaims) {
    const { accessToken, refreshToken } = await jwt.tokens.rotate(claims);
    return { access_token: accessToken, refresh_token: refreshToken };
  }

  @Get('/admin') @JwtRequired({ roles: ['admin'] }) admin(@CurrentJwt() claims: JwtClaims) {
    return { sub: claims.sub, tenant: claims.tenant };
  }
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('custom claims through login, rotation and renewal', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => {
    server = await startServer([Routes], {
      secretKey: SECRET,
      refreshTokenRotation: true,
      userIdentityLoader: (user: User) => user.id,
      additionalClaimsLoader: (subject: number | string | User) => (typeof subject === 'object' ? { roles: subject.roles, tenant: subject.tenant } : {}),
    } as never, {}, driver);
    jwt = server.jwt as unknown as JwtManager<User>;
  });
  after(() => server.close());

  it('rotate() keeps the claims the session was given at login: an admin stays an admin', async () => {
    const login = await jwt.tokens.createTokenPair(ADMIN, { fresh: true });
    await server.request.get('/flow/admin').set(bearer(login.accessToken)).expect(200, { sub: '42', tenant: 'acme' });

    const first = (await server.request.post('/flow/refresh').set(bearer(login.refreshToken)).expect(200)).body;
    await server.request.get('/flow/admin').set(bearer(first.access_token)).expect(200, { sub: '42', tenant: 'acme' });
    // And the rotated refresh token carries them on to the next rotation.
    const second = (await server.request.post('/flow/refresh').set(bearer(first.refresh_token)).expect(200)).body;
    await server.request.get('/flow/admin').set(bearer(second.access_token)).expect(200, { sub: '42', tenant: 'acme' });

    const claims = await jwt.tokens.decodeToken(second.refresh_token);
    expect(claims).to.include({ type: 'refresh', sub: '42', tenant: 'acme' });
    expect(claims.roles).to.deep.equal(['admin']);
  });

  it('rotate() and renew() never carry the token\'s own claims, and explicit additionalClaims win', async () => {
    const login = await jwt.tokens.createTokenPair(ADMIN, { fresh: true, additionalClaims: { plan: 'pro' } });
    const used = await jwt.tokens.decodeToken(login.refreshToken);
    const rotated = await jwt.tokens.rotate(used, { additionalClaims: { plan: 'free' } });
    const [access, refresh] = await Promise.all([jwt.tokens.decodeToken(rotated.accessToken), jwt.tokens.decodeToken(rotated.refreshToken)]);
    for (const claims of [access, refresh]) {
      expect(claims).to.include({ sub: '42', tenant: 'acme', plan: 'free', fam: used.fam });
      expect(claims.jti).not.to.equal(used.jti);
    }
    expect(access).to.include({ type: 'access', fresh: false });

    const renewed = await jwt.tokens.decodeToken(await jwt.tokens.renew(await jwt.tokens.decodeToken(login.accessToken)));
    expect(renewed).to.include({ type: 'access', fresh: false, sub: '42', tenant: 'acme', plan: 'pro' });
    expect(renewed.roles).to.deep.equal(['admin']);
  });

  it('a token created for the bare identity gets only what the loader gives for it', async () => {
    const refresh = await jwt.tokens.createRefreshToken(42);
    const rotated = (await server.request.post('/flow/refresh').set(bearer(refresh)).expect(200)).body;
    expect((await server.request.get('/flow/admin').set(bearer(rotated.access_token)).expect(403)).body)
      .to.deep.equal({ msg: 'Missing required role: admin' });
  });
}));

describe('custom claims: the loader has the last word over carried claims', () => forEachDriver((driver) => {
  const roles = new Map<string, string[]>([['7', ['admin']]]);
  let server: TestServer;
  before(async () => {
    server = await startServer([Routes], {
      secretKey: SECRET,
      refreshTokenRotation: true,
      additionalClaimsLoader: (identity: number | string) => ({ roles: roles.get(String(identity)) ?? [] }),
    }, {}, driver);
    jwt = server.jwt as unknown as JwtManager<User>;
  });
  after(() => server.close());

  it('a demoted admin loses the role at the next rotation', async () => {
    const login = await jwt.tokens.createTokenPair(7);
    await server.request.get('/flow/admin').set(bearer(login.accessToken)).expect(200);
    roles.set('7', []);
    const rotated = (await server.request.post('/flow/refresh').set(bearer(login.refreshToken)).expect(200)).body;
    await server.request.get('/flow/admin').set(bearer(rotated.access_token)).expect(403);
  });
}));
