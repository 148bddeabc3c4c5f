import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import { Get, JsonController } from 'routing-controllers';
import supertest from 'supertest';
import {
  CurrentIdentity, JwtRequired, RedisRevocationStore, RevocationStoreError, type RedisClientLike, type RefreshUse,
} from '../src';
import { SECRET, startServer, type Driver, type TestServer } from './helpers';
import { freePortBase, hasRedisServer, LocalCluster, PrivateRedis, requireService } from './services';

@JsonController('/fault')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Redis faults: a private redis-server killed mid-run and restarted', function () {
  this.timeout(30_000);
  let redisServer: PrivateRedis;
  let client: Redis;
  let closed: TestServer;
  let open: TestServer;

  before(async function () {
    requireService(this, hasRedisServer(), 'redis-server/redis-cli not installed');
    redisServer = new PrivateRedis(freePortBase() + 10);
    await redisServer.start();
    // As the README recommends: no offline queue, so commands fail fast while Redis is away.
    client = new Redis({ port: redisServer.port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    await client.connect();
    const store = new RedisRevocationStore(client, { prefix: 'fault' });
    closed = await startServer([Routes], { secretKey: SECRET, revocationStore: store, revocationStoreTimeout: '300ms' });
    open = await startServer([Routes], { secretKey: SECRET, revocationStore: store, revocationStoreTimeout: '300ms', revocationFailOpen: true });
  });
  after(async () => {
    await closed?.close();
    await open?.close();
    client?.disconnect();
    await redisServer?.destroy();
  });

  it('answers 503 fast while Redis is down (or lets through with fail-open), and recovers by itself', async () => {
    const token = await closed.jwt.tokens.createAccessToken('alice');
    const auth = { Authorization: `Bearer ${token}` };
    await closed.request.get('/fault/me').set(auth).expect(200);

    const unavailable: unknown[] = [];
    closed.jwt.on('storeUnavailable', (event) => { unavailable.push(event); });
    await redisServer.stop();
    for (let i = 0; i < 5; i++) {
      const res = await closed.request.get('/fault/me').set(auth);
      expect(res.status).to.equal(503);
      expect(res.body).to.deep.equal({ msg: 'Token revocation store unavailable; try again later' });
      // Never a hang: each request is answered by the fail-closed path, once (the store's error or its
      // 300 ms timeout; a request left waiting would end the test at its timeout instead).
      expect(unavailable).to.have.length(i + 1);
      await open.request.get('/fault/me').set(auth).expect(200);
    }
    // Issuing needs the store too (the identity's generation): fails closed, never a 500.
    let error: unknown;
    await closed.jwt.tokens.createAccessToken('bob').catch((e: unknown) => { error = e; });
    expect(error).to.have.property('status', 503);

    await redisServer.start();
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      status = (await closed.request.get('/fault/me').set(auth)).status;
      if (status !== 200) {
        expect(status).to.equal(503);
        // A real redis-server coming back, and ioredis reconnecting every 100 ms: real time.
        await sleep(100);
      }
    }
    expect(status).to.equal(200);
  });
});

/** The demo as a real process, sharing a Redis with its siblings. */
async function startDemo(redisPort: number, driver: Driver): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(__dirname, '..', 'demo', 'main.js')], {
    env: { ...process.env, PORT: '0', JWT_SECRET_KEY: SECRET, REDIS_URL: `redis://127.0.0.1:${redisPort}`, JWT_ROTATION_GRACE_PERIOD: '100ms', DRIVER: driver },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+) \((?:Koa|Express); revocations: Redis\)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}`)));
  });
  return { url, child };
}

describe('many instances: two demo processes sharing one Redis', function () {
  this.timeout(30_000);
  let redisServer: PrivateRedis;
  let a: supertest.Agent;
  let b: supertest.Agent;
  const children: ChildProcess[] = [];

  before(async function () {
    requireService(this, hasRedisServer(), 'redis-server/redis-cli not installed');
    redisServer = new PrivateRedis(freePortBase() + 11);
    await redisServer.start();
    // One on Koa, one on Express: the tokens and the revocations are the same on both.
    const [first, second] = await Promise.all([startDemo(redisServer.port, 'koa'), startDemo(redisServer.port, 'express')]);
    children.push(first.child, second.child);
    a = supertest.agent(first.url);
    b = supertest.agent(second.url);
  });
  after(async () => {
    await Promise.all(children.map(async (child) => { child.kill(); await once(child, 'exit'); }));
    await redisServer?.destroy();
  });

  const login = async (instance: supertest.Agent) =>
    (await instance.post('/login').send({ username: 'test', password: 'test' }).expect(200)).body as { access_token: string; refresh_token: string };
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('logout on one instance is refused on the other', async () => {
    const session = await login(a);
    await b.get('/protected').set(bearer(session.access_token)).expect(200);
    await a.post('/logout').set(bearer(session.access_token)).send({ refresh_token: session.refresh_token }).expect(200);
    expect((await b.get('/protected').set(bearer(session.access_token)).expect(401)).body).to.deep.equal({ msg: 'Token has been revoked' });
    await b.post('/refresh').set(bearer(session.refresh_token)).expect(401);
  });

  it('reuse detected on one instance kills the family on the other', async () => {
    const session = await login(a);
    const rotated = (await a.post('/refresh').set(bearer(session.refresh_token)).expect(200)).body;
    // Past the demo's 100 ms grace: the demo is a process of its own, on Redis' time, which no test can move.
    await sleep(150);
    expect((await b.post('/refresh').set(bearer(session.refresh_token)).expect(401)).body.msg).to.match(/reuse detected/);
    await a.post('/refresh').set(bearer(rotated.refresh_token)).expect(401);
    await a.get('/protected').set(bearer(rotated.access_token)).expect(401);
    await b.get('/protected').set(bearer(session.access_token)).expect(401);
  });

  it('logout-everywhere on one instance ends every session on both; a new login works', async () => {
    const [first, second] = [await login(a), await login(b)];
    await b.post('/logout-everywhere').set(bearer(second.access_token)).expect(200);
    await a.get('/protected').set(bearer(first.access_token)).expect(401);
    await a.post('/refresh').set(bearer(first.refresh_token)).expect(401);
    const again = await login(a);
    await b.get('/protected').set(bearer(again.access_token)).expect(200);
  });
});

describe('Redis eviction policy: revocation needs noeviction', function () {
  this.timeout(30_000);
  const servers: PrivateRedis[] = [];
  const clients: Redis[] = [];

  async function privateRedis(offset: number, args: string[]): Promise<Redis> {
    const redisServer = new PrivateRedis(freePortBase() + offset, args);
    servers.push(redisServer);
    await redisServer.start();
    const client = new Redis({ port: redisServer.port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  before(function () {
    requireService(this, hasRedisServer(), 'redis-server/redis-cli not installed');
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(servers.map((redisServer) => redisServer.destroy()));
  });

  it('warns at start under an evicting policy, and when CONFIG is refused (managed Redis), without crashing', async () => {
    const warnings: string[] = [];
    const onWarning = (message: string) => { warnings.push(message); };
    const evicting = new RedisRevocationStore(await privateRedis(12, ['--maxmemory-policy', 'volatile-lru']), { onWarning });
    await evicting.evictionPolicyChecked;
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/maxmemory-policy is volatile-lru; revocation needs maxmemory-policy noeviction/);
    const managed = new RedisRevocationStore(await privateRedis(13, ['--rename-command', 'CONFIG', '']), { onWarning });
    await managed.evictionPolicyChecked;
    expect(warnings).to.have.length(2);
    expect(warnings[1]).to.match(/could not read maxmemory-policy/);
    const safe = new RedisRevocationStore(await privateRedis(14, ['--maxmemory-policy', 'noeviction']), { onWarning });
    await safe.evictionPolicyChecked;
    expect(warnings).to.have.length(2);
  });

  it('under noeviction with memory full: writes answer 503, nothing revoked is accepted, sessions can still end', async () => {
    const client = await privateRedis(15, ['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction']);
    const store = new RedisRevocationStore(client, { prefix: 'oom' });
    const server = await startServer([Routes], { secretKey: SECRET, revocationStore: store, refreshTokenRotation: true });
    try {
      const { jwt } = server;
      const revoked = await jwt.tokens.createAccessToken('alice');
      await jwt.revokeToken(revoked);
      const session = await jwt.tokens.createTokenPair('alice');
      const other = await jwt.tokens.createTokenPair('alice');
      const live = await jwt.tokens.createAccessToken('alice');
      // Fill Redis until it refuses writes.
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; ; i++) {
        const full = await client.set(`filler:${i}`, chunk).then(() => false, (error: Error) => /OOM/.test(error.message));
        if (full) break;
      }
      // Firmly over the limit (failed writes free memory again and let small ones through at the edge).
      await client.config('SET', 'maxmemory', '1mb');
      const status = async (token: string) => (await server.request.get('/fault/me').set({ Authorization: `Bearer ${token}` })).status;
      expect(await status(revoked)).to.equal(401);
      expect(await status(live)).to.equal(200);
      for (const [name, write] of [
        ['revokeToken', () => jwt.revokeToken(live)],
        ['revokeAllTokensFor', () => jwt.revokeAllTokensFor('alice')],
        ['createTokenPair', () => jwt.tokens.createTokenPair('bob')],
        ['createRefreshToken', () => jwt.tokens.createRefreshToken('bob')],
        ['rotate', async () => { await jwt.tokens.rotate(await jwt.tokens.decodeToken(other.refreshToken)); }],
      ] as const) {
        let error: unknown;
        await write().catch((e: unknown) => { error = e; });
        expect(error, name).to.have.property('status', 503);
      }
      // A failed revocation is loud, never half done: the token works as before, the revoked one stays refused.
      expect(await status(live)).to.equal(200);
      expect(await status(revoked)).to.equal(401);
      // Ending a session only deletes: it works even now.
      await jwt.revokeSession('alice', session.sessionId);
      expect(await status(session.accessToken)).to.equal(401);
      expect(await status(other.accessToken)).to.equal(200);
    } finally {
      await server.close();
    }
  });
});

/** `redis` as the store sees it, recording the name of every command the store sends. */
function recording(redis: Redis | Cluster, withEvalsha = true): { client: RedisClientLike; sent: string[] } {
  const sent: string[] = [];
  const client: RedisClientLike = {
    mget: (...keys) => { sent.push('mget'); return redis.mget(...keys); },
    eval: (script, numberOfKeys, ...args) => { sent.push('eval'); return redis.eval(script, numberOfKeys, ...args); },
  };
  if (withEvalsha) client.evalsha = (sha, numberOfKeys, ...args) => { sent.push('evalsha'); return redis.evalsha(sha, numberOfKeys, ...args); };
  return { client, sent };
}

const USE: RefreshUse = { rotation: true, grace: 0, mark: { ttl: 60_000, maxPerIdentity: 100, cutoffTtl: 60_000 } };

/**
 * One identity's life through every script, checking each answer; `before`
 * runs ahead of each step (a SCRIPT FLUSH, say).
 */
async function lifeOfASession(store: RedisRevocationStore, identity: string, before: () => Promise<void>): Promise<void> {
  const step = async <T>(run: () => Promise<T>): Promise<T> => { await before(); return run(); };
  const token = (jti: string) => ({ identity, jti, family: 's1', generation: 0 });
  const session = { refreshJti: 'r1', maxAge: 60_000, idleTimeout: undefined, ttl: 60_000, metadata: '{}', maxPerIdentity: 100 };
  await step(() => store.startSession(identity, { id: 's1', ...session }));
  expect(await step(() => store.useRefreshToken(token('r1'), USE))).to.have.property('outcome', 'active');
  expect(await step(() => store.rotated(identity, 's1', 'r2', 60_000))).to.not.equal(undefined);
  // The used-up token again: reuse, which ends the session.
  expect(await step(() => store.useRefreshToken(token('r1'), USE))).to.have.property('outcome', 'reused');
  expect(await step(() => store.status(token('r2')))).to.equal('revoked');
  await step(() => store.startSession(identity, { id: 's2', ...session }));
  expect((await step(() => store.sessions(identity))).map((found) => found.id)).to.deep.equal(['s2']);
  expect(await step(() => store.useRefreshToken({ identity, jti: 'alone', generation: 0 }, USE))).to.have.property('outcome', 'active');
  expect(await step(() => store.revokeToken(identity, 'a1', USE.mark))).to.equal(undefined);
  expect(await step(() => store.status({ identity, jti: 'a1', generation: 0 }))).to.equal('revoked');
  expect(await step(() => store.endSession(identity, 's2'))).to.equal(true);
  const { generation } = await step(() => store.revokeAll(identity, 60_000));
  expect(await step(() => store.status({ identity, jti: 'a2', generation: generation - 1 }))).to.equal('revoked');
}

describe('Redis scripts run by SHA (EVALSHA, the text sent only on NOSCRIPT)', function () {
  this.timeout(30_000);
  let redisServer: PrivateRedis;
  let localCluster: LocalCluster;
  let redis: Redis;
  let cluster: Cluster;

  before(async function () {
    requireService(this, hasRedisServer(), 'redis-server/redis-cli not installed');
    redisServer = new PrivateRedis(freePortBase() + 16);
    localCluster = new LocalCluster(freePortBase() + 17);
    [, cluster] = await Promise.all([redisServer.start(), localCluster.start()]);
    redis = new Redis({ port: redisServer.port, host: '127.0.0.1' });
    redis.on('error', () => undefined);
  });
  after(async () => {
    redis?.disconnect();
    cluster?.disconnect();
    await Promise.all([redisServer?.destroy(), localCluster?.destroy()]);
  });

  it('after SCRIPT FLUSH before every call, every operation still works: NOSCRIPT falls back to EVAL, never a 503', async () => {
    const { client, sent } = recording(redis);
    const store = new RedisRevocationStore(client, { prefix: 'flush', onWarning: () => undefined });
    await lifeOfASession(store, 'alice', async () => { await redis.script('FLUSH'); });
    // Each script call: EVALSHA refused, then EVAL.
    expect(sent.filter((command) => command !== 'mget').join(' ')).to.match(/^(evalsha eval ?)+$/);
  });

  it('on Redis Cluster, after SCRIPT FLUSH on every node before every call, every operation still works', async () => {
    const { client, sent } = recording(cluster);
    const store = new RedisRevocationStore(client, { prefix: 'flush', onWarning: () => undefined });
    const flushAll = async () => { await Promise.all(cluster.nodes('master').map((node) => node.script('FLUSH'))); };
    // Identities in different slots, so the scripts run on different nodes.
    for (const identity of ['alice', 'bob', 'carol']) await lifeOfASession(store, identity, flushAll);
    expect(sent.filter((command) => command !== 'mget').join(' ')).to.match(/^(evalsha eval ?)+$/);
    // Then warm (the same identity, so the same node, under another prefix): by SHA alone.
    await lifeOfASession(store, 'dave', async () => undefined);
    sent.length = 0;
    await lifeOfASession(new RedisRevocationStore(client, { prefix: 'warm', onWarning: () => undefined }), 'dave', async () => undefined);
    expect(sent).to.include('evalsha').and.not.include('eval');
  });

  it('a steady-state refresh sends EVALSHA and never the script text (seen by MONITOR)', async () => {
    const store = new RedisRevocationStore(redis, { prefix: 'monitor', onWarning: () => undefined });
    const session = { id: 's1', refreshJti: 'r1', maxAge: 60_000, idleTimeout: undefined, ttl: 60_000, metadata: '{}', maxPerIdentity: 100 };
    const refresh = async (jti: string, next: string) => {
      expect(await store.useRefreshToken({ identity: 'alice', jti, family: 's1', generation: 0 }, USE)).to.have.property('outcome', 'active');
      await store.rotated('alice', 's1', next, 60_000);
    };
    await store.startSession('alice', session);
    await refresh('r1', 'r2');
    const monitor = await redis.monitor();
    try {
      const seen: string[][] = [];
      const done = new Promise<void>((resolve) => monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (args[0]?.toLowerCase() === 'echo' && args[1] === 'end of refresh') resolve();
        // What the scripts call inside Redis shows too, from 'lua'; only what came over the wire counts.
        else if (source !== 'lua') seen.push(args);
      }));
      await refresh('r2', 'r3');
      await redis.echo('end of refresh');
      await done;
      expect(seen.map(([command]) => command.toLowerCase())).to.deep.equal(['evalsha', 'evalsha']);
      for (const args of seen) {
        expect(args[1]).to.match(/^[0-9a-f]{40}$/);
        expect(args.join(' ')).to.not.include('redis.call');
      }
    } finally {
      monitor.disconnect();
    }
  });

  it('a client with eval only (no evalsha) still works, sending every script whole', async () => {
    const { client, sent } = recording(redis, false);
    const store = new RedisRevocationStore(client, { prefix: 'evalonly', onWarning: () => undefined });
    await lifeOfASession(store, 'alice', async () => undefined);
    expect(sent).to.include('eval').and.not.include('evalsha');
  });

  it('fails closed: an EVALSHA error other than NOSCRIPT, or a failed EVAL after it, is a RevocationStoreError', async () => {
    const evals: string[] = [];
    const failing = (evalshaError: string): RedisClientLike => ({
      mget: () => Promise.reject(new Error('not used')),
      eval: (script) => { evals.push(script); return Promise.reject(new Error('Connection is closed.')); },
      evalsha: () => Promise.reject(new Error(evalshaError)),
    });
    const attempt = (client: RedisClientLike) => new RedisRevocationStore(client, { onWarning: () => undefined })
      .revokeAll('alice', 60_000).then(() => undefined, (error: unknown) => error);
    const refused = await attempt(failing('OOM command not allowed when used memory > \'maxmemory\'.'));
    expect(refused).to.be.instanceOf(RevocationStoreError);
    expect(evals, 'no EVAL after an error that is not NOSCRIPT').to.have.length(0);
    const failedFallback = await attempt(failing('NOSCRIPT No matching script. Please use EVAL.'));
    expect(failedFallback).to.be.instanceOf(RevocationStoreError);
    expect(evals).to.have.length(1);
  });
});
