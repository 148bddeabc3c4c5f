import { expect } from 'chai';
import { Get, JsonController, Post } from 'routing-controllers';
import { CurrentIdentity, CurrentJwt, FreshJwtRequired, JwtRequired, type JwtClaims } from '../src';
import { VerifiedTokenCache } from '../src/cache';
import { forEachDriver, SECRET, startServer, type TestServer } from './helpers';

@JsonController('/cache')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Post('/fresh') @FreshJwtRequired() fresh() { return { ok: true }; }
  @Get('/tamper') @JwtRequired() tamper(@CurrentJwt() claims: JwtClaims) {
    try {
      (claims as Record<string, unknown>).sub = 'admin';
      (claims.roles as string[] | undefined)?.push('admin');
      return { changed: true };
    } catch {
      return { changed: false };
    }
  }
}

describe('verified-token cache (on by default)', () => forEachDriver(function (driver) {
  this.timeout(10_000);
  let server: TestServer;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  before(async () => { server = await startServer([Routes], { secretKey: SECRET }, {}, driver); });
  after(() => server.close());

  it('a revoked token is refused on the very next request, with the cache warm', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice');
    await server.request.get('/cache/me').set(as(token)).expect(200);
    await server.request.get('/cache/me').set(as(token)).expect(200);
    await server.jwt.revokeToken(token);
    await server.request.get('/cache/me').set(as(token)).expect(401, { msg: 'Token has been revoked' });
  });

  it('type and freshness are checked on every request, outside the cache', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice');
    await server.request.get('/cache/me').set(as(token)).expect(200);
    await server.request.post('/cache/fresh').set(as(token)).expect(401, { msg: 'Fresh token required' });
    const refresh = await server.jwt.tokens.createRefreshToken('alice');
    await server.jwt.tokens.decodeToken(refresh);
    await server.request.get('/cache/me').set(as(refresh)).expect(422);
  });

  it('never serves a token past its exp', async () => {
    // exp counts whole seconds, so `expiresIn: 1` may leave no time at all: wait for the exp itself instead.
    const token = await server.jwt.tokens.createAccessToken('alice', { expiresIn: 3 });
    await server.request.get('/cache/me').set(as(token)).expect(200);
    const { exp } = await server.jwt.tokens.decodeToken(token);
    await new Promise((resolve) => setTimeout(resolve, (exp as number + 1) * 1000 - Date.now()));
    await server.request.get('/cache/me').set(as(token)).expect(401, { msg: 'Token has expired' });
  });

  it('hands out claims nobody can change for the next request', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice', { additionalClaims: { roles: ['user'] } });
    await server.request.get('/cache/me').set(as(token)).expect(200);
    expect((await server.request.get('/cache/tamper').set(as(token)).expect(200)).body).to.deep.equal({ changed: false });
    await server.request.get('/cache/me').set(as(token)).expect(200, { id: 'alice' });
    expect((await server.jwt.tokens.decodeToken(token)).roles).to.deep.equal(['user']);
  });

  it('is bounded in size, dropping the least recently used', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 2, ttl: 60_000 });
    const decoded = (sub: string) => ({ header: { alg: 'HS256' }, claims: { sub, type: 'access' as const, fresh: false } });
    cache.set('a', decoded('a'));
    cache.set('b', decoded('b'));
    expect(cache.get('a')?.claims.sub).to.equal('a'); // a is now the most recent
    cache.set('c', decoded('c'));
    expect(cache.size).to.equal(2);
    expect(cache.get('b')).to.equal(undefined);
    expect(cache.get('a')?.claims.sub).to.equal('a');
    expect(cache.get('c')?.claims.sub).to.equal('c');
  });

  it('is bounded in time by its ttl', async () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, ttl: 50 });
    cache.set('a', { header: { alg: 'HS256' }, claims: { sub: 'a', type: 'access', fresh: false } });
    expect(cache.get('a')).not.to.equal(undefined);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(cache.get('a')).to.equal(undefined);
  });
}));
