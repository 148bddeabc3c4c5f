import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Get, HttpCode, JsonController, Post, QueryParam } from 'routing-controllers';
import {
  CurrentIdentity, CurrentJwt, JwtManager, JwtRefreshTokenRequired, JwtRequired, MemoryRevocationStore,
  RevocationStoreError, RevokedTokenError, type JwtClaims, type JwtConfig, type RevocationStore,
} from '../src';
import { accessClaims, forEachDriver, hmacToken, SECRET, startServer, type TestServer } from './helpers';
import { InFlightRefreshes } from '../src/in-flight';
import type { StoredToken } from '../src/stores/store';
import { manualTime, TestClock, type TestTime } from './clock';

@JsonController('/rev')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Get('/unchecked') @JwtRequired({ skipRevocationCheck: true }) unchecked(@CurrentIdentity() id: string) { return { id }; }
  @Post('/refresh') @JwtRefreshTokenRequired() async refresh(@CurrentJwt() claims: JwtClaims) {
    const { accessToken, refreshToken } = await current.tokens.rotate(claims);
    return { access_token: accessToken, refresh_token: refreshToken };
  }
  /** A refresh that waits at `gate` between its checks and its new tokens: a refresh in flight. */
  @Post('/slow-refresh') @JwtRefreshTokenRequired() async slowRefresh(@CurrentJwt() claims: JwtClaims) {
    entered();
    await gate;
    const { accessToken, refreshToken } = await current.tokens.rotate(claims);
    return { access_token: accessToken, refresh_token: refreshToken };
  }
  /** The seed's refresh (a new access token for the identity alone), waiting at `gate` first; `?pair` logs in afresh instead. */
  @Post('/slow-seed-refresh') @JwtRefreshTokenRequired() async slowSeedRefresh(@CurrentIdentity() identity: string, @QueryParam('pair') pair?: string) {
    entered();
    await gate;
    if (pair) return current.tokens.createTokenPair(identity);
    return { access_token: await current.tokens.createAccessToken(identity) };
  }
  @Post('/logout') @JwtRequired() @HttpCode(200) async logout(@CurrentJwt() claims: JwtClaims) {
    await current.revokeToken(claims);
    return { msg: 'Logged out' };
  }
  @Post('/logout-session') @JwtRequired() @HttpCode(200) async logoutSession(@CurrentJwt() claims: JwtClaims) {
    await current.revokeFamily(claims);
    return { msg: 'Logged out' };
  }
}

// The manager of the server under test, for the routes' rotate() and revocations.
let current: JwtManager;
let gate: Promise<void> = Promise.resolve();
let entered: () => void = () => undefined;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * What a request through Koa or Express sees of revocation (status codes, messages,
 * events, the races of refreshes in flight), once per driver on the memory store,
 * whose clock the test moves. What the stores themselves promise, on memory, Redis
 * and Redis Cluster alike, is asserted without HTTP in store-contract.spec.ts; the
 * flows about a shared Redis (instances sharing it, Redis down) in sessions.spec.ts
 * and redis-instances.spec.ts.
 */
/** The store under test, how many entries it holds, and how time passes for it. */
interface StoreUnderTest {
  store: RevocationStore;
  held(): Promise<number>;
  time: TestTime;
}

function revocationSuite(name: string, makeStore: (ctx: Mocha.Context) => Promise<StoreUnderTest>): void {
  describe(`revocation with the ${name}`, () => forEachDriver(function (driver) {
    this.timeout(30_000);
    let server: TestServer;
    let store: RevocationStore;
    let held: () => Promise<number>;
    let time: TestTime;
    /** A manager beside the server's, on its store and clock. */
    const manager = (config: Partial<JwtConfig> = {}) => new JwtManager({ secretKey: SECRET, revocationStore: store, clock: time.clock, ...config });

    async function serve(config: Partial<JwtConfig> = {}): Promise<JwtManager> {
      await server?.close();
      server = await startServer([Routes], { secretKey: SECRET, revocationStore: store, clock: time.clock, ...config }, {}, driver);
      current = server.jwt;
      return server.jwt;
    }

    /** Refreshes at `path` (a route waiting at the gate between its checks and its new tokens), running `meanwhile` while it waits. */
    async function refreshWhile(path: string, token: string, meanwhile: () => Promise<unknown>) {
      let release!: () => void;
      gate = new Promise<void>((resolve) => { release = resolve; });
      const inside = new Promise<void>((resolve) => { entered = resolve; });
      const pending = server.request.post(path).set(bearer(token)).then((res) => res);
      await inside;
      await meanwhile();
      release();
      const res = await pending;
      gate = Promise.resolve();
      return res;
    }

    beforeEach(async function () {
      ({ store, held, time } = await makeStore(this));
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
      await time.pass(1100);
      await jwt.revokeToken(shortLived); // already expired: nothing to store, no error
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

    it('without rotation, a refresh token outside sessions rotated twice starts two sessions', async () => {
      const jwt = await serve();
      const claims = await jwt.tokens.decodeToken(await jwt.tokens.createRefreshToken('alice'));
      const first = await jwt.tokens.rotate(claims);
      const second = await jwt.tokens.rotate(claims);
      expect(second.sessionId).not.to.equal(first.sessionId);
      expect((await jwt.sessions('alice')).map((session) => session.id).sort()).to.deep.equal([first.sessionId, second.sessionId].sort());
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

        await time.pass(400); // past the grace interval: this is reuse, e.g. by a thief
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

      it('a refresh token outside any session is used up in one step: of 10 pipelined refreshes one wins, reuse ends its successor', async () => {
        // Minted before rotation was on (a manager without it, on the same store): it belongs to no session.
        const before = manager();
        const outside = await before.tokens.createRefreshToken('alice');
        expect((await jwt.tokens.decodeToken(outside)).fam).to.equal(undefined);
        const reuses: unknown[] = [];
        jwt.on('reuseDetected', (event) => { reuses.push(event.sessionId); });
        const results = await Promise.all(Array.from({ length: 10 }, () => server.request.post('/rev/refresh').set(bearer(outside))));
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((status) => status === 200), JSON.stringify(statuses)).to.have.length(1);
        expect(statuses.filter((status) => status !== 200).every((status) => status === 409), JSON.stringify(statuses)).to.equal(true);
        const winner = results.find((r) => r.status === 200)!.body;
        await server.request.get('/rev/me').set(bearer(winner.access_token)).expect(200);
        expect(await jwt.sessions('alice')).to.have.length(1);
        await time.pass(350); // past the grace interval
        const reuse = await server.request.post('/rev/refresh').set(bearer(outside)).expect(401);
        expect(reuse.body.msg).to.match(/reuse/i);
        expect(reuses).to.have.length(1);
        // Like a session's reuse: what its first use started ends.
        await server.request.get('/rev/me').set(bearer(winner.access_token)).expect(401);
        await server.request.post('/rev/refresh').set(bearer(winner.refresh_token)).expect(401);
        expect(await jwt.sessions('alice')).to.deep.equal([]);
      });

      it('a token outside sessions: a logout-everywhere during its refresh, or its reuse, refuses the session the refresh starts', async () => {
        const before = manager();
        for (const meanwhile of [
          () => jwt.revokeAllTokensFor('alice'),
          // Reuse past the grace interval while the first use's refresh has not started its session yet.
          async (token: string) => {
            await time.pass(350);
            await server.request.post('/rev/refresh').set(bearer(token)).expect(401, { msg: 'Refresh token reuse detected; every token of this session has been revoked' });
          },
        ]) {
          const outside = await before.tokens.createRefreshToken('alice');
          const res = await refreshWhile('/rev/slow-refresh', outside, () => meanwhile(outside));
          expect(res.status, JSON.stringify(res.body)).to.equal(401);
          expect(await jwt.sessions('alice')).to.deep.equal([]);
        }
      });

      it('rotate() of one refresh token outside sessions, twice: one session, the record replaced, never counted twice', async () => {
        const before = manager();
        const claims = await jwt.tokens.decodeToken(await before.tokens.createRefreshToken('alice'));
        const empty = await held();
        const first = await jwt.tokens.rotate(claims);
        const second = await jwt.tokens.rotate(claims);
        expect(second.sessionId).to.equal(first.sessionId);
        expect((await jwt.sessions('alice')).map((session) => session.id)).to.deep.equal([first.sessionId]);
        await jwt.revokeSession('alice', first.sessionId);
        expect(await jwt.sessions('alice')).to.deep.equal([]);
        expect(await held()).to.equal(empty);
        await server.request.get('/rev/me').set(bearer(second.accessToken)).expect(401);
      });

      it('N parallel refreshes with the same token: exactly one wins', async () => {
        // A grace interval longer than a loaded machine takes to serve all 20.
        jwt = await serve({ refreshTokenRotation: true, rotationGracePeriod: '10s' });
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
        await time.pass(5);
        await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(401);
      });

      it('logout: revokeFamily ends the session of the presented token', async () => {
        const login = await jwt.tokens.createTokenPair('alice');
        await jwt.revokeFamily(login.accessToken);
        await server.request.get('/rev/me').set(bearer(login.accessToken)).expect(401);
        await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(401);
      });
    });

    describe('bounds: what one identity or one session can occupy', () => {
      it('under rotation a session holds one record however often it is refreshed', async () => {
        const jwt = await serve({ refreshTokenRotation: true });
        let { refreshToken } = await jwt.tokens.createTokenPair('alice');
        const afterLogin = await held();
        for (let i = 0; i < 60; i++) {
          refreshToken = (await server.request.post('/rev/refresh').set(bearer(refreshToken)).expect(200)).body.refresh_token;
        }
        expect(await held()).to.equal(afterLogin);
      });

      it('maxSessionsPerIdentity: beyond it the oldest session ends; the store holds no more', async () => {
        const jwt = await serve({ refreshTokenRotation: true, maxSessionsPerIdentity: 3 });
        const pairs = [];
        // Logins follow each other within the same millisecond at times: the oldest still ends first.
        for (let i = 0; i < 3; i++) pairs.push(await jwt.tokens.createTokenPair('mallory'));
        const full = await held();
        for (let i = 0; i < 4; i++) pairs.push(await jwt.tokens.createTokenPair('mallory'));
        expect(await held()).to.equal(full);
        for (const old of pairs.slice(0, 4)) await server.request.get('/rev/me').set(bearer(old.accessToken)).expect(401);
        for (const kept of pairs.slice(4)) await server.request.post('/rev/refresh').set(bearer(kept.refreshToken)).expect(200);
      });

      it('revoking many tokens of one identity stays bounded, and nothing revoked comes back', async () => {
        const jwt = await serve({ maxSessionsPerIdentity: 3 });
        const tokens = await Promise.all(Array.from({ length: 8 }, () => jwt.tokens.createAccessToken('mallory')));
        const bob = await jwt.tokens.createAccessToken('bob');
        for (const token of tokens.slice(0, 3)) await jwt.revokeToken(token);
        const full = await held();
        for (const token of tokens.slice(3)) await jwt.revokeToken(token);
        expect(await held()).to.be.at.most(full);
        for (const token of tokens) await server.request.get('/rev/me').set(bearer(token)).expect(401);
        await server.request.get('/rev/me').set(bearer(bob)).expect(200);
        await server.request.get('/rev/me').set(bearer(await jwt.tokens.createAccessToken('mallory'))).expect(200);
      });
    });

    describe('every entry lives as long as a token it concerns is accepted', () => {
      it('with leeway: a revoked access token stays revoked while the leeway still accepts it', async () => {
        const jwt = await serve({ accessTokenExpires: 1, refreshTokenExpires: 1, leeway: 6 });
        const token = await jwt.tokens.createAccessToken('alice');
        await jwt.revokeToken(token);
        await time.pass(2100); // past exp, inside the leeway
        await server.request.get('/rev/unchecked').set(bearer(token)).expect(200); // still accepted but for revocation
        expect((await server.request.get('/rev/me').set(bearer(token)).expect(401)).body).to.deep.equal({ msg: 'Token has been revoked' });
      });

      it('with leeway: revokeToken on an expired but still accepted token revokes it', async () => {
        const jwt = await serve({ accessTokenExpires: 1, refreshTokenExpires: 1, leeway: 6 });
        const token = await jwt.tokens.createAccessToken('alice');
        await time.pass(2100);
        await server.request.get('/rev/me').set(bearer(token)).expect(200);
        await jwt.revokeToken(token);
        await server.request.get('/rev/me').set(bearer(token)).expect(401);
      });

      it('with leeway: a used refresh token replayed inside the leeway is reuse', async () => {
        const jwt = await serve({ refreshTokenRotation: true, rotationGracePeriod: 0, accessTokenExpires: 1, refreshTokenExpires: 1, leeway: 6 });
        const login = await jwt.tokens.createTokenPair('alice');
        await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(200);
        await time.pass(2100);
        expect((await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(401)).body.msg).to.match(/reuse detected/);
      });

      it('a "remember me" token (expiresIn beyond the configured lifetimes) stays revoked and logged out', async () => {
        const jwt = await serve({ accessTokenExpires: 1, refreshTokenExpires: 1 });
        const revoked = await jwt.tokens.createAccessToken('alice', { expiresIn: 60 });
        const everywhere = await jwt.tokens.createAccessToken('bob', { expiresIn: 60 });
        const session = await jwt.tokens.createTokenPair('carol', { expiresIn: 60 });
        // Renewed ("remember me" through renew, as an app's own implicit refresh might): outside any session.
        const renewed = await jwt.tokens.renew(await jwt.tokens.decodeToken(await jwt.tokens.createAccessToken('dave')), { expiresIn: 60 });
        await jwt.revokeToken(revoked);
        await jwt.revokeAllTokensFor('bob');
        await jwt.revokeFamily(session.accessToken);
        await jwt.revokeAllTokensFor('dave');
        await time.pass(2200); // past every configured lifetime
        await server.request.get('/rev/me').set(bearer(revoked)).expect(401);
        await server.request.get('/rev/me').set(bearer(everywhere)).expect(401);
        await server.request.get('/rev/me').set(bearer(renewed)).expect(401);
        await server.request.get('/rev/me').set(bearer(session.accessToken)).expect(401);
        await server.request.post('/rev/refresh').set(bearer(session.refreshToken)).expect(401);
      });

      it('logout-everywhere is monotonic: a second one catches tokens issued after the first expired', async () => {
        const jwt = await serve({ accessTokenExpires: 2, refreshTokenExpires: 2 });
        await jwt.revokeAllTokensFor('alice');
        await time.pass(1500);
        const later = await jwt.tokens.createAccessToken('alice', { expiresIn: 60 }); // carries the first cut-off
        await time.pass(800); // the first cut-off has expired now
        await server.request.get('/rev/me').set(bearer(later)).expect(200);
        await jwt.revokeAllTokensFor('alice');
        await server.request.get('/rev/me').set(bearer(later)).expect(401);
      });
    });

    describe('keys for any identity', () => {
      // '' and '%': an empty hash tag, and the character that marks an escape.
      const identities = ['\uD800', '\uDC00x', 'a\uD83D', '\uFFFD', '{alice}', 'a:b%41', '%uD800', ''.padEnd(300, '\u00e9'), '', '%'];

      it('lone surrogates and key syntax: every identity is revocable on its own, nothing collides', async () => {
        const jwt = await serve({ refreshTokenRotation: true });
        const pairs = await Promise.all(identities.map((identity) => jwt.tokens.createTokenPair(identity)));
        for (const pair of pairs) await server.request.get('/rev/me').set(bearer(pair.accessToken)).expect(200);
        await jwt.revokeAllTokensFor(identities[0]);
        await jwt.revokeFamily(pairs[4].accessToken);
        await server.request.get('/rev/me').set(bearer(pairs[0].accessToken)).expect(401);
        await server.request.get('/rev/me').set(bearer(pairs[4].accessToken)).expect(401);
        for (const i of [1, 2, 3, 5, 6, 7, 8, 9]) {
          await server.request.get('/rev/me').set(bearer(pairs[i].accessToken)).expect(200);
          expect(await jwt.sessions(identities[i])).to.have.length(1);
        }
        const standalone = await jwt.tokens.createAccessToken(identities[1]);
        await jwt.revokeToken(standalone);
        await server.request.get('/rev/me').set(bearer(standalone)).expect(401);
        // The empty identity (an empty {} is no hash tag to Redis Cluster) is revocable like any other.
        await jwt.revokeAllTokensFor('');
        await server.request.get('/rev/me').set(bearer(pairs[8].accessToken)).expect(401);
        await server.request.get('/rev/me').set(bearer(pairs[9].accessToken)).expect(200);
      });

      it('with fail-open, a refresh token of such an identity is still used only once', async () => {
        const jwt = await serve({ refreshTokenRotation: true, revocationFailOpen: true, rotationGracePeriod: 0 });
        const login = await jwt.tokens.createTokenPair('\uD800');
        await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(200);
        await time.pass(5);
        await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(401);
      });
    });

    describe('a refresh in flight during a logout-everywhere', () => {
      for (const rotation of [true, false]) {
        it(`returns no tokens that survive it (${rotation ? 'rotation' : 'no rotation'})`, async () => {
          const jwt = await serve({ refreshTokenRotation: rotation });
          const login = await jwt.tokens.createTokenPair('alice');
          const res = await refreshWhile('/rev/slow-refresh', login.refreshToken, () => jwt.revokeAllTokensFor('alice'));
          if (res.status === 200) {
            await server.request.get('/rev/me').set(bearer(res.body.access_token)).expect(401);
            await server.request.post('/rev/refresh').set(bearer(res.body.refresh_token)).expect(401);
          } else {
            expect(res.status).to.equal(401);
            expect(res.body).to.deep.equal({ msg: 'Token has been revoked' });
          }
        });
      }
    });

    describe('the seed\'s refresh (createAccessToken(identity)) in flight during a revocation', () => {
      /** Refreshes at /slow-seed-refresh (or `path`), running `meanwhile` while the route waits between its checks and its new token. */
      const seedRefresh = (refreshToken: string, meanwhile: () => Promise<void>, path = '/rev/slow-seed-refresh') => refreshWhile(path, refreshToken, meanwhile);

      const logins: Record<string, (jwt: JwtManager) => Promise<{ refreshToken: string; sessionId?: string }>> = {
        'a refresh token alone': async (jwt) => ({ refreshToken: await jwt.tokens.createRefreshToken('alice') }),
        'a session': (jwt) => jwt.tokens.createTokenPair('alice'),
      };
      for (const [kind, login] of Object.entries(logins)) {
        it(`${kind}: a logout-everywhere meanwhile leaves no new token alive (401)`, async () => {
          const jwt = await serve();
          const { refreshToken } = await login(jwt);
          const res = await seedRefresh(refreshToken, () => jwt.revokeAllTokensFor('alice'));
          expect(res.status, JSON.stringify(res.body)).to.equal(401);
          expect(res.body).to.deep.equal({ msg: 'Token has been revoked' });
          // A new login afterwards works at once.
          await server.request.get('/rev/me').set(bearer(await jwt.tokens.createAccessToken('alice'))).expect(200);
        });
      }

      it('a login refused that way leaves the store as it was: no session started, none evicted', async () => {
        const jwt = await serve({ maxSessionsPerIdentity: 2 });
        const first = await jwt.tokens.createTokenPair('alice');
        const second = await jwt.tokens.createTokenPair('alice');
        const res = await seedRefresh(first.refreshToken, () => jwt.revokeToken(first.refreshToken), '/rev/slow-seed-refresh?pair=1');
        expect(res.status, JSON.stringify(res.body)).to.equal(401);
        expect((await jwt.sessions('alice')).map((session) => session.id)).to.deep.equal([second.sessionId, first.sessionId]);
      });

      it('renew(claims) of the refresh token inherits its cut-off outright: a revoked one is not renewed', async () => {
        const jwt = await serve();
        const refresh = await jwt.tokens.decodeToken(await jwt.tokens.createRefreshToken('alice'));
        await jwt.revokeAllTokensFor('alice');
        const refused = await jwt.tokens.renew(refresh).then(() => undefined, (error: unknown) => error);
        expect(refused).to.be.instanceOf(RevokedTokenError);
        expect((refused as RevokedTokenError).message).to.equal('Token has been revoked');
      });

      it('a revocation of someone else, or one that spares the session, lets it through', async () => {
        const jwt = await serve();
        const { refreshToken, sessionId } = await jwt.tokens.createTokenPair('alice');
        for (const meanwhile of [() => jwt.revokeAllTokensFor('bob'), () => jwt.revokeAllTokensFor('alice', { except: sessionId })]) {
          const res = await seedRefresh(refreshToken, meanwhile);
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          await server.request.get('/rev/me').set(bearer(res.body.access_token)).expect(200);
        }
      });
    });

    it('an identity whose every session ended (logged out, reused, evicted) logs in again at once', async () => {
      const jwt = await serve({ refreshTokenRotation: true, rotationGracePeriod: 0 });
      const first = await jwt.tokens.createTokenPair('alice');
      // Other identities, so that the memory store's sweep is elsewhere when alice is next written.
      for (let i = 0; i < 10; i++) await jwt.tokens.createTokenPair(`other-${i}`);
      await jwt.revokeSession('alice', first.sessionId);
      const second = await jwt.tokens.createTokenPair('alice');
      await server.request.get('/rev/me').set(bearer(second.accessToken)).expect(200);
      await server.request.post('/rev/refresh').set(bearer(second.refreshToken)).expect(200);
      await server.request.post('/rev/refresh').set(bearer(second.refreshToken)).expect(401); // reuse ends it
      const third = await jwt.tokens.createTokenPair('alice');
      await server.request.get('/rev/me').set(bearer(third.accessToken)).expect(200);
    });

    it('revoking a token without jti (minted elsewhere) is a 422, not a 500', async () => {
      await serve({ secretKey: SECRET });
      // Minted on the suite's clock, which the memory store's runs stop: a real-time iat could fall a second ahead of it.
      const iat = Math.floor(time.clock.now() / 1000);
      const foreign = hmacToken({ alg: 'HS256', typ: 'JWT' }, accessClaims('alice', { jti: undefined, iat, nbf: iat, exp: iat + 900 }));
      expect((await server.request.post('/rev/logout').set(bearer(foreign)).expect(422)).body).to.deep.equal({ msg: 'Missing claim: jti (a token without one cannot be revoked alone)' });
      await server.request.post('/rev/logout-session').set(bearer(foreign)).expect(422);
    });
  }));
}

revocationSuite('memory store', async () => {
  const time = manualTime();
  const store = new MemoryRevocationStore({ clock: time.clock });
  return { store, held: async () => store.size, time };
});

describe('MemoryRevocationStore: a full store is never an outage and never turns a check off', () => {
  const full = async (config: Partial<JwtConfig> = {}) => {
    const clock = new TestClock();
    const store = new MemoryRevocationStore({ maxEntries: 10, clock });
    const server = await startServer([Routes], { secretKey: SECRET, revocationStore: store, clock, refreshTokenRotation: true, rotationGracePeriod: 0, ...config });
    current = server.jwt;
    // One user floods refreshes, then fills the store with sessions of many identities of their own making.
    let { refreshToken } = await server.jwt.tokens.createTokenPair('mallory');
    for (let i = 0; i < 30; i++) refreshToken = (await server.request.post('/rev/refresh').set(bearer(refreshToken)).expect(200)).body.refresh_token;
    for (let i = 0; i < 30; i++) await server.jwt.tokens.createTokenPair(`mallory-${i}`);
    expect(store.size).to.be.at.most(10);
    return { server, store, clock };
  };

  for (const failOpen of [false, true]) {
    it(`other users log in, refresh, log out and are logged out everywhere (fail-open ${failOpen})`, async () => {
      const { server, store, clock } = await full({ revocationFailOpen: failOpen });
      try {
        const login = await server.jwt.tokens.createTokenPair('alice');
        const rotated = (await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(200)).body;
        clock.advance(5);
        // Reuse detection is still on: the used token is refused and ends the session.
        expect((await server.request.post('/rev/refresh').set(bearer(login.refreshToken)).expect(401)).body.msg).to.match(/reuse detected/);
        await server.request.get('/rev/me').set(bearer(rotated.access_token)).expect(401);
        const again = await server.jwt.tokens.createTokenPair('alice');
        const standalone = await server.jwt.tokens.createAccessToken('alice');
        await server.request.post('/rev/logout').set(bearer(standalone)).expect(200);
        await server.request.get('/rev/me').set(bearer(standalone)).expect(401);
        await server.jwt.revokeAllTokensFor('alice');
        await server.request.get('/rev/me').set(bearer(again.accessToken)).expect(401);
        expect(store.size).to.be.at.most(10);
      } finally {
        await server.close();
      }
    });
  }

  it('expired entries make room without a full scan: they are dropped as identities are visited', async () => {
    const clock = new TestClock();
    const store = new MemoryRevocationStore({ maxEntries: 100, clock });
    for (let i = 0; i < 20; i++) await store.revokeToken(`u${i}`, 'j', { ttl: 30, maxPerIdentity: 5, cutoffTtl: 30 });
    clock.advance(60);
    for (let i = 0; i < 12; i++) await store.revokeToken('v', `j${i}`, { ttl: 10_000, maxPerIdentity: 100, cutoffTtl: 10_000 });
    expect(store.size).to.be.below(32);
  });
});

describe('refresh tokens in flight (the parents of tokens minted alone)', () => {
  const token = (identity: string): StoredToken => ({ identity, jti: randomUUID(), family: undefined, generation: 0 });

  it('are bounded per identity, in all, and in time, whether or not a response is seen to end', () => {
    const clock = new TestClock();
    const inFlight = new InFlightRefreshes(clock);
    const forget = Array.from({ length: 20 }, () => inFlight.add(token('alice')));
    expect(inFlight.of('alice')).to.have.length(8);
    for (const f of forget) f();
    expect(inFlight.of('alice')).to.deep.equal([]);
    for (let i = 0; i <= 10_000; i++) inFlight.add(token(`user-${i}`));
    expect(inFlight.of('user-0'), 'the oldest identity is forgotten when full').to.deep.equal([]);
    expect(inFlight.of('user-10000')).to.have.length(1);
    clock.advance(10_001);
    expect(inFlight.of('user-10000'), 'forgotten after its lifetime').to.deep.equal([]);
  });
});

describe('fail-open covers the store\'s own failures only', () => {
  const failing = (error: () => Error): RevocationStore => {
    const store = new MemoryRevocationStore();
    store.status = () => { throw error(); };
    return store;
  };

  it('a store that cannot answer: 503, or through with fail-open', async () => {
    for (const [failOpen, status] of [[false, 503], [true, 200]] as const) {
      const server = await startServer([Routes], { secretKey: SECRET, revocationStore: failing(() => new RevocationStoreError()), revocationFailOpen: failOpen });
      try {
        await server.request.get('/rev/me').set(bearer(await server.jwt.tokens.createAccessToken('alice'))).expect(status);
      } finally {
        await server.close();
      }
    }
  });

  it('any other error (a bug) is never taken for "unavailable" and never let through', async () => {
    const server = await startServer([Routes], { secretKey: SECRET, revocationStore: failing(() => new TypeError('bug')), revocationFailOpen: true });
    try {
      const res = await server.request.get('/rev/me').set(bearer(await server.jwt.tokens.createAccessToken('alice')));
      expect(res.status).not.to.equal(200);
      expect(res.status).not.to.equal(503);
    } finally {
      await server.close();
    }
  });
});
