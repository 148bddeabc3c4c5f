import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import type { IncomingMessage } from 'node:http';
import { Get, JsonController, Post, Req } from 'routing-controllers';
import {
  CurrentJwt, JwtManager, JwtRefreshTokenRequired, JwtRequired, MemoryRevocationStore, RedisRevocationStore, RevocationStoreError, JwtError,
  type JwtClaims, type JwtConfig, type JwtEventName, type JwtEvents, type RevocationStore,
} from '../src';
import { manualTime, redisTime, TestClock, type TestTime } from './clock';
import { SECRET, startServer, type Driver, type TestServer } from './helpers';
import { connectRedis, REDIS_URL, requireService } from './services';

// Each server's own manager, by its port, for the refresh route's rotate().
const managers = new Map<number, JwtManager>();

@JsonController('/s')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentJwt() claims: JwtClaims) { return { id: claims.sub, session: claims.fam }; }
  @Post('/refresh') @JwtRefreshTokenRequired() async refresh(@CurrentJwt() claims: JwtClaims, @Req() request: IncomingMessage | { req: IncomingMessage }) {
    // Koa hands its request object (node's under `req`), Express node's request itself.
    const jwt = managers.get(('req' in request ? request.req : request).socket.localPort!)!;
    const { accessToken, refreshToken } = await jwt.tokens.rotate(claims);
    return { access_token: accessToken, refresh_token: refreshToken };
  }
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const refreshLifetime = (claims: JwtClaims) => claims.exp! - claims.iat!;

/**
 * Two app instances sharing one store (one process each would share Redis the
 * same way): `a` on Koa, `b` on Express, so every behaviour holds on both drivers.
 */
interface Instances {
  a: TestServer;
  b: TestServer;
  events: Array<{ name: JwtEventName; instance: 'a' | 'b'; data: JwtEvents[JwtEventName] }>;
}

const EVENT_NAMES: JwtEventName[] = ['login', 'refresh', 'logout', 'sessionEnded', 'reuseDetected', 'revokedTokenUsed', 'storeUnavailable'];

/** Two stores on one storage, and how time passes for them. */
interface SharedStore {
  stores: [RevocationStore, RevocationStore];
  time: TestTime;
}

/**
 * The session flows through two app instances. `sharedOnly`: just the flows about
 * the storage the instances share (what one does, the other sees at once); the
 * session limits in time and the listeners' errors are the library's own, run on
 * the memory store, and the store's side of them is in the store contract suite.
 */
function sessionSuite(name: string, makeStores: (ctx: Mocha.Context) => Promise<SharedStore>, sharedOnly = false): void {
  /** A flow: `shared` when it is about the instances' shared storage. */
  const flow = (shared: boolean, title: string, test: Mocha.AsyncFunc) => { if (shared || !sharedOnly) it(title, test); };
  describe(`sessions with the ${name}, two app instances (Koa and Express)${sharedOnly ? ': what they share' : ''}`, function () {
    // Starting the Cluster in the first test's hook takes long on a loaded machine.
    this.timeout(60_000);
    let instances: Instances | undefined;
    let stores: [RevocationStore, RevocationStore];
    let time: TestTime;

    beforeEach(async function () {
      ({ stores, time } = await makeStores(this));
    });
    afterEach(async () => {
      await instances?.a.close();
      await instances?.b.close();
      instances = undefined;
    });

    async function serve(config: Partial<JwtConfig> = {}): Promise<Instances> {
      const events: Instances['events'] = [];
      const start = async (instance: 'a' | 'b', store: RevocationStore) => {
        const driver: Driver = instance === 'a' ? 'koa' : 'express';
        const server = await startServer([Routes], {
          secretKey: SECRET, revocationStore: store, clock: time.clock, refreshTokenRotation: true, rotationGracePeriod: '100ms', ...config,
        }, {}, driver);
        managers.set(Number(new URL(server.url).port), server.jwt);
        for (const event of EVENT_NAMES) server.jwt.on(event, (data) => { events.push({ name: event, instance, data }); });
        return server;
      };
      instances = { a: await start('a', stores[0]), b: await start('b', stores[1]), events };
      return instances;
    }

    flow(true, 'lists the identity\'s live sessions, newest first, with dates and bounded metadata', async () => {
      const { a, b } = await serve();
      const first = await a.jwt.tokens.createTokenPair('alice', { session: { userAgent: 'Firefox', ip: '10.0.0.1' } });
      await time.pass(5);
      const second = await b.jwt.tokens.createTokenPair('alice', { session: { userAgent: 'x'.repeat(5000), label: 'phone', trusted: true } });
      await b.jwt.tokens.createTokenPair('bob');
      const listed = await a.jwt.sessions('alice');
      expect(listed.map((session) => session.id)).to.deep.equal([second.sessionId, first.sessionId]);
      expect(listed[1].metadata).to.deep.equal({ userAgent: 'Firefox', ip: '10.0.0.1' });
      expect(listed[0].metadata).to.deep.equal({ userAgent: 'x'.repeat(256), label: 'phone', trusted: true });
      for (const session of listed) {
        expect(session.createdAt).to.be.instanceOf(Date);
        expect(session.lastUsedAt.getTime()).to.equal(session.createdAt.getTime());
        expect(session.expiresAt).to.be.instanceOf(Date);
        expect(session.expiresAt!.getTime() - session.createdAt.getTime()).to.equal(30 * 86400 * 1000);
      }
      // A refresh on the other instance moves lastUsedAt.
      await time.pass(5);
      await b.request.post('/s/refresh').set(bearer(first.refreshToken)).expect(200);
      const after = (await a.jwt.sessions('alice')).find((session) => session.id === first.sessionId)!;
      expect(after.lastUsedAt.getTime()).to.be.above(after.createdAt.getTime());
      let error: unknown;
      await a.jwt.tokens.createTokenPair('alice', { session: { nested: {} as unknown as string } }).catch((e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(TypeError);
    });

    flow(true, 'revokeSession on one instance ends that device at once on the other: access and refresh token', async () => {
      const { a, b } = await serve();
      const laptop = await a.jwt.tokens.createTokenPair('alice');
      const phone = await a.jwt.tokens.createTokenPair('alice');
      await a.request.get('/s/me').set(bearer(laptop.accessToken)).expect(200);
      await b.jwt.revokeSession('alice', laptop.sessionId);
      expect((await a.request.get('/s/me').set(bearer(laptop.accessToken)).expect(401)).body).to.deep.equal({ msg: 'Token has been revoked' });
      await a.request.post('/s/refresh').set(bearer(laptop.refreshToken)).expect(401);
      await a.request.get('/s/me').set(bearer(phone.accessToken)).expect(200);
      expect((await a.jwt.sessions('alice')).map((session) => session.id)).to.deep.equal([phone.sessionId]);
    });

    flow(true, 'revokeAllTokensFor(identity, { except }) ends every other session and token, the excepted one lives on', async () => {
      const { a, b } = await serve();
      const current = await a.jwt.tokens.createTokenPair('alice');
      const others = [await b.jwt.tokens.createTokenPair('alice'), await a.jwt.tokens.createTokenPair('alice')];
      const standalone = await a.jwt.tokens.createAccessToken('alice');
      await b.jwt.revokeAllTokensFor('alice', { except: current.sessionId });
      for (const other of others) {
        await a.request.get('/s/me').set(bearer(other.accessToken)).expect(401);
        await b.request.post('/s/refresh').set(bearer(other.refreshToken)).expect(401);
      }
      await b.request.get('/s/me').set(bearer(standalone)).expect(401);
      await b.request.get('/s/me').set(bearer(current.accessToken)).expect(200);
      const rotated = (await a.request.post('/s/refresh').set(bearer(current.refreshToken)).expect(200)).body;
      await b.request.get('/s/me').set(bearer(rotated.access_token)).expect(200);
      expect((await b.jwt.sessions('alice')).map((session) => session.id)).to.deep.equal([current.sessionId]);
      // And without except, that one ends too.
      await a.jwt.revokeAllTokensFor('alice');
      await b.request.get('/s/me').set(bearer(rotated.access_token)).expect(401);
      expect(await a.jwt.sessions('alice')).to.deep.equal([]);
    });

    flow(false, 'sessionMaxAge: no refresh, rotated or not, extends a session past login + max age', async () => {
      const { a, b, events } = await serve({ sessionMaxAge: 4 });
      const loggedIn = time.clock.now();
      const login = await a.jwt.tokens.createTokenPair('alice');
      let refreshToken = login.refreshToken;
      for (let i = 0; i < 3; i++) {
        await time.pass(300);
        refreshToken = (await (i % 2 ? a : b).request.post('/s/refresh').set(bearer(refreshToken)).expect(200)).body.refresh_token;
      }
      await time.pass(Math.max(0, loggedIn + 4300 - time.clock.now()));
      const res = await b.request.post('/s/refresh').set(bearer(refreshToken)).expect(401);
      expect(res.body).to.deep.equal({ msg: 'Session has expired; log in again' });
      expect(await a.jwt.sessions('alice')).to.deep.equal([]);
      const ended = events.filter((event) => event.name === 'sessionEnded');
      expect(ended).to.have.length(1);
      expect(ended[0]).to.deep.include({ instance: 'b' });
      expect(ended[0].data).to.deep.include({ identity: 'alice', sessionId: login.sessionId, reason: 'maxAge' });
      await a.request.post('/s/refresh').set(bearer(refreshToken)).expect(401);
    });

    flow(false, 'sessionIdleTimeout: a session not refreshed for that long ends; an active one lives on', async () => {
      const { a, b, events } = await serve({ sessionIdleTimeout: '3s' });
      const idle = await a.jwt.tokens.createTokenPair('alice');
      const loggedIn = time.clock.now();
      let active = (await a.jwt.tokens.createTokenPair('alice')).refreshToken;
      while (time.clock.now() - loggedIn < 3300) {
        await time.pass(400);
        active = (await b.request.post('/s/refresh').set(bearer(active)).expect(200)).body.refresh_token;
      }
      expect((await a.jwt.sessions('alice'))).to.have.length(1);
      const res = await a.request.post('/s/refresh').set(bearer(idle.refreshToken)).expect(401);
      expect(res.body).to.deep.equal({ msg: 'Session ended after inactivity; log in again' });
      const ended = events.filter((event) => event.name === 'sessionEnded');
      expect(ended.map((event) => event.data)).to.deep.equal([
        { identity: 'alice', sessionId: idle.sessionId, reason: 'idle', request: { method: 'POST', path: '/s/refresh', ip: ended[0].data.request?.ip } },
      ]);
      await a.request.post('/s/refresh').set(bearer(active)).expect(200);
    });

    flow(false, 'a session\'s limits hold for its access tokens: none is accepted past its end or idle limit, none minted to outlive it', async () => {
      // A leeway longer than the shifts below, so that only the session's limits can refuse the tokens.
      const { a, b } = await serve({ sessionMaxAge: 1, accessTokenExpires: 4, leeway: 30 });
      const login = await a.jwt.tokens.createTokenPair('alice', { expiresIn: '1h' });
      const access = await a.jwt.tokens.decodeToken(login.accessToken);
      // A pair's expiresIn sets its tokens' lifetimes, but the access token does not outlive the session.
      expect(access.exp! - access.iat!).to.be.at.most(1);
      expect(refreshLifetime(await a.jwt.tokens.decodeToken(login.refreshToken))).to.equal(3600);
      const renewed = await b.jwt.tokens.renew(access);
      expect((await b.jwt.tokens.decodeToken(renewed)).exp).to.be.at.most(access.exp!);
      await b.request.get('/s/me').set(bearer(login.accessToken)).expect(200);
      // The app's clock alone: past the session's limit, inside the tokens' leeway.
      time.clock.advance(1500);
      expect(await a.jwt.sessions('alice')).to.deep.equal([]);
      for (const server of [a, b]) {
        for (const token of [login.accessToken, renewed]) {
          await server.request.get('/s/me').set(bearer(token)).expect(401, { msg: 'Token has been revoked' });
        }
      }
    });

    flow(false, 'sessionIdleTimeout holds for access tokens too: a session not used for that long has no token that works', async () => {
      const { a, b } = await serve({ sessionIdleTimeout: '1s', accessTokenExpires: 4, leeway: 30 });
      const login = await a.jwt.tokens.createTokenPair('alice');
      const access = await a.jwt.tokens.decodeToken(login.accessToken);
      expect(access.exp! - access.iat!).to.be.at.most(1);
      await b.request.get('/s/me').set(bearer(login.accessToken)).expect(200);
      // The app's clock alone: past the session's limit, inside the tokens' leeway.
      time.clock.advance(1500);
      expect(await b.jwt.sessions('alice')).to.deep.equal([]);
      await a.request.get('/s/me').set(bearer(login.accessToken)).expect(401, { msg: 'Token has been revoked' });
      await b.request.get('/s/me').set(bearer(login.accessToken)).expect(401, { msg: 'Token has been revoked' });
    });

    flow(true, 'maxSessionsPerIdentity: beyond it the oldest session ends (evicted), on both instances', async () => {
      const { a, b, events } = await serve({ maxSessionsPerIdentity: 2 });
      const oldest = await a.jwt.tokens.createTokenPair('alice');
      await time.pass(2);
      const middle = await b.jwt.tokens.createTokenPair('alice');
      await time.pass(2);
      const newest = await a.jwt.tokens.createTokenPair('alice');
      await b.request.get('/s/me').set(bearer(oldest.accessToken)).expect(401);
      await b.request.get('/s/me').set(bearer(middle.accessToken)).expect(200);
      expect((await b.jwt.sessions('alice')).map((session) => session.id)).to.deep.equal([newest.sessionId, middle.sessionId]);
      const evicted = events.filter((event) => event.name === 'sessionEnded');
      expect(evicted).to.have.length(1);
      expect(evicted[0].data).to.deep.include({ identity: 'alice', sessionId: oldest.sessionId, reason: 'evicted' });
    });

    flow(true, 'events: each fired once, on the instance it happened on, with identity, session and request', async () => {
      const { a, b, events } = await serve();
      const login = await a.jwt.tokens.createTokenPair('alice', { session: { label: 'laptop' } });
      const rotated = (await b.request.post('/s/refresh').set(bearer(login.refreshToken)).expect(200)).body;
      await time.pass(150); // past the grace interval
      await a.request.post('/s/refresh').set(bearer(login.refreshToken)).expect(401); // reuse: the session ends
      await b.request.get('/s/me').set(bearer(rotated.access_token)).expect(401); // a revoked token used
      const other = await b.jwt.tokens.createTokenPair('alice');
      await b.jwt.revokeSession('alice', other.sessionId);
      const summary = events.map(({ name, instance, data }) => ({ name, instance, sessionId: data.sessionId }));
      expect(summary).to.deep.equal([
        { name: 'login', instance: 'a', sessionId: login.sessionId },
        { name: 'refresh', instance: 'b', sessionId: login.sessionId },
        { name: 'reuseDetected', instance: 'a', sessionId: login.sessionId },
        { name: 'sessionEnded', instance: 'a', sessionId: login.sessionId },
        { name: 'revokedTokenUsed', instance: 'b', sessionId: login.sessionId },
        { name: 'login', instance: 'b', sessionId: other.sessionId },
        { name: 'logout', instance: 'b', sessionId: other.sessionId },
        { name: 'sessionEnded', instance: 'b', sessionId: other.sessionId },
      ]);
      expect(events[0].data).to.deep.include({ identity: 'alice', metadata: { label: 'laptop' }, request: undefined });
      const refresh = events[1].data;
      expect(refresh.identity).to.equal('alice');
      expect(refresh.request).to.deep.include({ method: 'POST', path: '/s/refresh' });
      expect(refresh.request!.ip).to.match(/127\.0\.0\.1/);
      expect(events[3].data).to.deep.include({ reason: 'revoked' });
      expect(events[4].data.request).to.deep.include({ method: 'GET', path: '/s/me' });
      expect(events[7].data).to.deep.include({ identity: 'alice', reason: 'revoked' });
    });

    flow(false, 'a listener that throws or rejects never breaks a request; its error goes to onCallbackError', async () => {
      const reported: string[] = [];
      const { a } = await serve({ onCallbackError: (error, { callback }) => { reported.push(`${callback}: ${(error as Error).message}`); } });
      for (const event of EVENT_NAMES) {
        a.jwt.on(event, () => { throw new Error('listener bug'); });
        a.jwt.on(event, async () => { throw new Error('async listener bug'); });
      }
      const login = await a.jwt.tokens.createTokenPair('alice');
      const rotated = (await a.request.post('/s/refresh').set(bearer(login.refreshToken)).expect(200)).body;
      await a.request.get('/s/me').set(bearer(rotated.access_token)).expect(200);
      await a.jwt.revokeSession('alice', login.sessionId);
      expect((await a.request.get('/s/me').set(bearer(rotated.access_token)).expect(401)).body).to.deep.equal({ msg: 'Token has been revoked' });
      // An async listener's rejection is reported a few microtasks after the request: one turn of the event loop lets it.
      await new Promise(setImmediate);
      for (const event of ['login', 'refresh', 'logout', 'sessionEnded', 'revokedTokenUsed']) {
        expect(reported).to.include(`events.${event}: listener bug`).and.include(`events.${event}: async listener bug`);
      }
    });
  });
}

sessionSuite('memory store', async () => {
  const time = manualTime();
  const store = new MemoryRevocationStore({ clock: time.clock });
  return { stores: [store, store], time };
});

const clients: Redis[] = [];
sessionSuite('Redis store (single server)', async (ctx) => {
  const [first, second] = [await connectRedis(REDIS_URL), await connectRedis(REDIS_URL)];
  requireService(ctx, first !== undefined && second !== undefined, 'no Redis answers on 127.0.0.1:6379 (TEST_REDIS_URL)');
  clients.push(first!, second!);
  const prefix = `sessions:${randomUUID()}`;
  const time = redisTime();
  return { stores: [new RedisRevocationStore(first!, { prefix, clock: time.clock }), new RedisRevocationStore(second!, { prefix, clock: time.clock })], time };
}, true);

after(async () => {
  for (const client of clients) client.disconnect();
});

describe('sessions: rotate() and renew() outside a refresh route', () => {
  it('past the session\'s limits both are refused, whatever the tokens\' own exp (memory store, whose clock the test moves)', async () => {
    const clock = new TestClock();
    const jwt = new JwtManager({ secretKey: SECRET, refreshTokenRotation: true, sessionMaxAge: 60, leeway: 600, clock });
    const login = await jwt.tokens.createTokenPair('alice');
    const [access, refresh] = await Promise.all([jwt.tokens.decodeToken(login.accessToken), jwt.tokens.decodeToken(login.refreshToken)]);
    clock.advance(61_000);
    for (const attempt of [() => jwt.tokens.rotate(refresh), () => jwt.tokens.renew(access)]) {
      const refused = await attempt().then(() => undefined, (error: unknown) => error);
      expect(refused).to.be.instanceOf(JwtError);
      expect((refused as JwtError).httpCode).to.equal(401);
    }
    expect(await jwt.sessions('alice')).to.deep.equal([]);
  });
});

describe('sessions: the storeUnavailable event', () => {
  it('fires with identity, session and request when the store cannot answer', async () => {
    const store = new MemoryRevocationStore();
    const server = await startServer([Routes], { secretKey: SECRET, revocationStore: store });
    try {
      const login = await server.jwt.tokens.createTokenPair('alice');
      store.status = () => { throw new RevocationStoreError(); };
      const seen: Array<JwtEvents['storeUnavailable']> = [];
      server.jwt.on('storeUnavailable', (event) => { seen.push(event); });
      await server.request.get('/s/me').set(bearer(login.accessToken)).expect(503);
      expect(seen).to.have.length(1);
      expect(seen[0]).to.deep.include({ identity: 'alice', sessionId: login.sessionId });
      expect(seen[0].request).to.deep.include({ method: 'GET', path: '/s/me' });
      // Outside a request too: a login, ending a session, a logout everywhere, listing.
      store.startSession = () => { throw new RevocationStoreError(); };
      store.endSession = () => { throw new RevocationStoreError(); };
      store.revokeAll = () => { throw new RevocationStoreError(); };
      store.sessions = () => { throw new RevocationStoreError(); };
      seen.length = 0;
      const pair = await server.jwt.tokens.createTokenPair('bob').then(() => 'issued', (error: unknown) => error);
      expect(pair).to.have.property('status', 503);
      await server.jwt.revokeSession('carol', 'session-1').catch(() => undefined);
      await server.jwt.revokeAllTokensFor('dave').catch(() => undefined);
      await server.jwt.sessions('erin').catch(() => undefined);
      expect(seen.map(({ identity, sessionId }) => [identity, sessionId])).to.deep.equal([
        ['bob', seen[0]?.sessionId], ['carol', 'session-1'], ['dave', undefined], ['erin', undefined],
      ]);
      expect(seen[0].sessionId).to.be.a('string');
    } finally {
      await server.close();
    }
  });
});
