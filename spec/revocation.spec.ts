import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Cluster, Redis } from 'ioredis';
import { Get, JsonController, Post } from 'routing-controllers';
import {
  CurrentIdentity, CurrentJwt, JwtManager, JwtRefreshTokenRequired, JwtRequired, MemoryRevocationStore,
  RedisRevocationStore, type JwtClaims, type JwtConfig, type RevocationStore,
} from '../src';
import { SECRET, startServer, type TestServer } from './helpers';
import { connectRedis, freePortBase, hasRedisServer, LocalCluster, requireService } from './services';

@JsonController('/rev')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Get('/unchecked') @JwtRequired({ skipRevocationCheck: true }) unchecked(@CurrentIdentity() id: string) { return { id }; }
  @Post('/refresh') @JwtRefreshTokenRequired() async refresh(@CurrentJwt() claims: JwtClaims) {
    const { accessToken, refreshToken } = await current.tokens.rotate(claims);
    return { access_token: accessToken, refresh_token: refreshToken };
  }
}

// The manager of the server under test, for the refresh route's rotate().
let current: JwtManager;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The behavioural suite every store must pass. */
function revocationSuite(name: string, makeStore: (ctx: Mocha.Context) => Promise<RevocationStore>): void {
  describe(`revocation with the ${name}`, function () {
    this.timeout(20_000);
    let server: TestServer;
    let store: RevocationStore;

    async function serve(config: Partial<JwtConfig> = {}): Promise<JwtManager> {
      await server?.close();
      server = await startServer([Routes], { secretKey: SECRET, revocationStore: store, ...config });
      current = server.jwt;
      return server.jwt;
    }

    beforeEach(async function () {
      store = await makeStore(this);
      await serve();
    });
    afterEach(async () => {
      await server?.close();
      server = undefined as unknown as TestServer;
    });

    it('a revoked token is refused from the next request on; others still work', async () => {
      const jwt = current;
      const revoked = await jwt.tokens.createAccessToken('alice');
      const other = await jwt.tokens.createAccessToken('alice');
      await server.request.get('/rev/me').set(bearer(revoked)).expect(200);
      await jwt.revokeToken(await jwt.tokens.decodeToken(revoked));
      const res = await server.request.get('/rev/me').set(bearer(revoked)).expect(401);
      expect(res.body).to.deep.equal({ msg: 'Token has been revoked' });
      expect(res.headers['www-authenticate']).to.equal('Bearer');
      await server.request.get('/rev/me').set(bearer(other)).expect(200);
    });

    it('revokes a raw token string, refresh tokens too; an expired token needs nothing', async () => {
      const jwt = current;
      const refresh = await jwt.tokens.createRefreshToken('alice');
      await jwt.revokeToken(refresh);
      expect((await server.request.post('/rev/refresh').set(bearer(refresh)).expect(401)).body).to.deep.equal({ msg: 'Token has been revoked' });
      const shortLived = await jwt.tokens.createAccessToken('alice', { expiresIn: 1 });
      await sleep(1100);
      await jwt.revokeToken(shortLived); // already expired: nothing to store, no error
    });

    it('entries expire with the token they revoke', async () => {
      await store.revokeToken('alice', 'jti-1', 300);
      expect(await store.status({ identity: 'alice', jti: 'jti-1', generation: 0 })).to.equal('revoked');
      await sleep(450);
      expect(await store.status({ identity: 'alice', jti: 'jti-1', generation: 0 })).to.equal('active');
    });

    it('revokeAllTokensFor: every token issued so far is refused, new logins work at once', async () => {
      const jwt = current;
      const access = await jwt.tokens.createAccessToken('alice');
      const refresh = await jwt.tokens.createRefreshToken('alice');
      const bob = await jwt.tokens.createAccessToken('bob');
      await jwt.revokeAllTokensFor('alice');
      await server.request.get('/rev/me').set(bearer(access)).expect(401);
      await server.request.post('/rev/refresh').set(bearer(refresh)).expect(401);
      await server.request.get('/rev/me').set(bearer(bob)).expect(200);
      const fresh = await jwt.tokens.createAccessToken('alice');
      expect((await server.request.get('/rev/me').set(bearer(fresh)).expect(200)).body).to.deep.equal({ id: 'alice' });
      // And a second wholesale revocation catches that one too.
      await jwt.revokeAllTokensFor('alice');
      await server.request.get('/rev/me').set(bearer(fresh)).expect(401);
    });

    it('checks are configurable per token type and skippable per route', async () => {
      const jwt = await serve({ revocationChecks: ['access'] });
      const access = await jwt.tokens.createAccessToken('alice');
      const refresh = await jwt.tokens.createRefreshToken('alice');
      await jwt.revokeToken(access);
      await jwt.revokeToken(refresh);
      await server.request.get('/rev/me').set(bearer(access)).expect(401);
      await server.request.get('/rev/unchecked').set(bearer(access)).expect(200);
      await server.request.post('/rev/refresh').set(bearer(refresh)).expect(200);
    });

    describe('refresh-token rotation', () => {
      let jwt: JwtManager;
      beforeEach(async () => { jwt = await serve({ refreshTokenRotation: true, rotationGracePeriod: '300ms' }); });

      it('rotates within the family; presenting a used refresh token revokes the whole family', async () => {
        const login = await jwt.tokens.createTokenPair('alice', { fresh: true });
        const first = (await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(200)).body;
        const [loginClaims, rotated] = await Promise.all([jwt.tokens.decodeToken(login.refreshToken), jwt.tokens.decodeToken(first.refresh_token)]);
        expect(rotated.fam).to.be.a('string').and.equal(loginClaims.fam);
        expect(rotated.jti).not.to.equal(loginClaims.jti);
        const second = (await server.request.post('/rev/refresh').set(bearer(first.refresh_token)).expect(200)).body;
        await server.request.get('/rev/me').set(bearer(second.access_token)).expect(200);

        await sleep(400); // past the grace interval: this is reuse, e.g. by a thief
        const reuse = await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(401);
        expect(reuse.body.msg).to.match(/reuse detected/);
        // The family is dead: its newest refresh token and its access tokens, the login's included.
        expect((await server.request.post('/rev/refresh').set(bearer(second.refresh_token)).expect(401)).body).to.deep.equal({ msg: 'Token has been revoked' });
        await server.request.get('/rev/me').set(bearer(second.access_token)).expect(401);
        await server.request.get('/rev/me').set(bearer(login.accessToken)).expect(401);
        // Other sessions of the same user live on.
        const other = await jwt.tokens.createTokenPair('alice');
        await server.request.post('/rev/refresh').set(bearer(other.refreshToken)).expect(200);
      });

      it('a second use within the grace interval is refused with 409 but the family lives on', async () => {
        const login = await jwt.tokens.createTokenPair('alice');
        const winner = (await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(200)).body;
        const race = await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(409);
        expect(race.body.msg).to.match(/already used/);
        await server.request.post('/rev/refresh').set(bearer(winner.refresh_token)).expect(200);
      });

      it('N parallel refreshes with the same token: exactly one wins', async () => {
        const login = await jwt.tokens.createTokenPair('alice');
        const results = await Promise.all(Array.from({ length: 20 }, () => server.request.post('/rev/refresh').set(bearer(login.refreshToken))));
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => s === 200)).to.have.length(1);
        expect(statuses.filter((s) => s !== 200).every((s) => s === 409)).to.equal(true);
      });

      it('a used refresh token stays used even with skipRevocationCheck-style settings (checks off for refresh)', async () => {
        jwt = await serve({ refreshTokenRotation: true, rotationGracePeriod: 0, revocationChecks: ['access'] });
        const login = await jwt.tokens.createTokenPair('alice');
        await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(200);
        await sleep(5);
        await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(401);
      });

      it('logout: revokeFamily ends the session of the presented token', async () => {
        const login = await jwt.tokens.createTokenPair('alice');
        await jwt.revokeFamily(login.accessToken);
        await server.request.get('/rev/me').set(bearer(login.accessToken)).expect(401);
        await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(401);
      });
    });
  });
}

revocationSuite('memory store', async () => new MemoryRevocationStore());

let redis: Redis | undefined;
revocationSuite('Redis store (single server)', async (ctx) => {
  redis ??= await connectRedis();
  requireService(ctx, redis !== undefined, 'no Redis answers on 127.0.0.1:6379 (TEST_REDIS_URL)');
  return new RedisRevocationStore(redis!, { prefix: `test:${randomUUID()}` });
});

let cluster: Cluster | undefined;
let localCluster: LocalCluster | undefined;
revocationSuite('Redis store (three-node Redis Cluster)', async (ctx) => {
  requireService(ctx, hasRedisServer(), 'redis-server/redis-cli not installed');
  if (!cluster) {
    localCluster = new LocalCluster(freePortBase());
    cluster = await localCluster.start();
  }
  return new RedisRevocationStore(cluster, { prefix: `test:${randomUUID()}` });
});

after(async () => {
  redis?.disconnect();
  cluster?.disconnect();
  await localCluster?.destroy();
});

describe('MemoryRevocationStore limits', () => {
  it('never holds more than maxEntries, and refuses (never forgets) a revocation when full', async () => {
    const store = new MemoryRevocationStore({ maxEntries: 3 });
    const jwt = new JwtManager({ secretKey: SECRET, revocationStore: store });
    for (let i = 0; i < 3; i++) await jwt.revokeToken(await jwt.tokens.createAccessToken(`u${i}`));
    expect(store.size).to.equal(3);
    let error: unknown;
    await jwt.revokeToken(await jwt.tokens.createAccessToken('u3')).catch((e: unknown) => { error = e; });
    expect(error).to.have.property('status', 503);
    expect(store.size).to.equal(3);
  });

  it('makes room by dropping expired entries', async () => {
    const store = new MemoryRevocationStore({ maxEntries: 2 });
    await store.revokeToken('a', 'j1', 50);
    await store.revokeToken('a', 'j2', 50);
    await sleep(80);
    await store.revokeToken('a', 'j3', 10_000);
    expect(store.size).to.equal(1);
  });
});
