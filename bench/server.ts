/**
 * One benchmark server: `node dist/bench/server.js <scenario>` listens on
 * 127.0.0.1 (an ephemeral port), prints `READY <port> <token>` and serves until
 * killed. Each scenario is the same routing-controllers route on Koa (or, for
 * the `Express …` ones, on Express) behind a different guard.
 */
import 'reflect-metadata';
import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSigner, createVerifier } from 'fast-jwt';
import express from 'express';
import Koa from 'koa';
import { verify as jsonwebtokenVerify } from 'jsonwebtoken';
import koaJwt from 'koa-jwt';
import { Redis } from 'ioredis';
import { Authorized, Get, JsonController, Post, useExpressServer, useKoaServer, type Action, type RoutingControllersOptions } from 'routing-controllers';
import { JwtManager, JwtRequired, RedisRevocationStore, type JwtConfig } from '../src';

export const SECRET = 'bench-secret-bench-secret-bench-secret-bench-secret-0123456789abcdef';
/** The configuration every HS256 scenario verifies with, and the instruction benchmark mints its tokens with. */
// The cache's ttl outlasts a run under valgrind, where going once through 20k tokens takes minutes.
export const HS256_CONFIG: JwtConfig = { secretKey: SECRET, accessTokenExpires: '1h', verifiedTokenCache: { ttl: '1h' } };

let issuer: JwtManager;

@JsonController()
class BenchController {
  @Get('/open') open() { return { ok: true }; }
  @Get('/rss') rss() { return { rss: process.memoryUsage().rss }; }
  @Get('/cpu') cpu() { const { user, system } = process.cpuUsage(); return { micros: user + system }; }
  @Get('/authorized') @Authorized() authorized() { return { ok: true }; }
  @Get('/jwt') @JwtRequired() jwt() { return { ok: true }; }
  @Post('/login') async login() {
    const { accessToken, refreshToken } = await issuer.tokens.createTokenPair('bench-user');
    return { access_token: accessToken, refresh_token: refreshToken };
  }
}

type Scenario = {
  path: string;
  method?: 'GET' | 'POST';
  /** routing-controllers' driver; Koa unless said. */
  driver?: 'koa' | 'express';
  setup(app: Koa): Promise<{ token?: string; checker?: (action: Action) => boolean | Promise<boolean>; jwt?: JwtManager }>;
};

/** A scenario on Express instead of Koa (its setup must not need the Koa app). */
const onExpress = (scenario: Scenario): Scenario => ({ ...scenario, driver: 'express' });

const ec = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

async function library(config: JwtConfig): Promise<{ token: string; jwt: JwtManager }> {
  const jwt = new JwtManager({ accessTokenExpires: '1h', ...config });
  return { jwt, token: await jwt.tokens.createAccessToken('bench-user') };
}

/** A session's access token (a login under rotation), checked against its session on every request. */
async function session(config: JwtConfig): Promise<{ token: string; jwt: JwtManager }> {
  const jwt = new JwtManager({ accessTokenExpires: '1h', refreshTokenRotation: true, ...config });
  return { jwt, token: (await jwt.tokens.createTokenPair('bench-user')).accessToken };
}

/** How many tokens {@link withRevocations} revokes: of 10,000 identities, and as many of the benchmark's own as one identity may hold. */
const REVOKED_TOKENS = 10_000;

/** HS256 with a memory store holding {@link REVOKED_TOKENS} revoked tokens: what each costs the request path. */
async function withRevocations(): Promise<{ token: string; jwt: JwtManager }> {
  const { jwt, token } = await library(HS256_CONFIG);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  // Claims, not signed tokens: revoking needs only what they name (minting 10,000 under valgrind takes minutes).
  const revoke = (sub: string, i: number) => jwt.revokeToken({ sub, jti: `revoked-${i}`, type: 'access', fresh: false, iat: exp - 3600, nbf: exp - 3600, exp });
  for (let i = 0; i < REVOKED_TOKENS - 99; i++) await revoke(`user-${i}`, i);
  // The benchmark's own identity too, up to the per-identity bound (maxSessionsPerIdentity, 100) less its live token.
  for (let i = 0; i < 99; i++) await revoke('bench-user', REVOKED_TOKENS + i);
  return { jwt, token };
}

/** The HS256 scenarios' token, so that checkers compared with the library get the very same header. */
async function hs256Token(): Promise<string> {
  return (await library(HS256_CONFIG)).token;
}

/** A hand-written checker: `verify` throws on a bad token. */
function bearerChecker(verify: (token: string) => unknown): (action: Action) => boolean {
  return (action) => {
    try {
      verify(String(action.request.headers.authorization).slice(7));
      return true;
    } catch {
      return false;
    }
  };
}

/** Revocations in Redis; a store call may take 30 s, as under valgrind (bench/instructions.ts) a round trip can take more than the default 1 s. */
async function redisRevocation(): Promise<Pick<JwtConfig, 'revocationStore' | 'revocationStoreTimeout'>> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true, lazyConnect: true, enableOfflineQueue: false });
  await redis.connect();
  // Workers of one cluster share their revocations (bench/cluster.ts); otherwise each server has its own.
  const revocationStore = new RedisRevocationStore(redis, { prefix: process.env.BENCH_REDIS_PREFIX ?? `bench:${process.pid}` });
  return { revocationStore, revocationStoreTimeout: '30s' };
}

export const SCENARIOS: Record<string, Scenario> = {
  'unprotected': { path: '/open', setup: async () => ({ token: await hs256Token() }) },
  'noop @Authorized': {
    path: '/authorized',
    setup: async () => ({ token: await hs256Token(), checker: (action) => typeof action.request.headers.authorization === 'string' }),
  },
  'HS256': { path: '/jwt', setup: () => library(HS256_CONFIG) },
  'HS256 no cache': { path: '/jwt', setup: () => library({ ...HS256_CONFIG, verifiedTokenCache: false }) },
  'HS256 10k revoked': { path: '/jwt', setup: withRevocations },
  'HS256 no revocation': { path: '/jwt', setup: () => library({ ...HS256_CONFIG, revocationChecks: [] }) },
  'HS256 Redis revocation': { path: '/jwt', setup: async () => library({ ...HS256_CONFIG, ...await redisRevocation() }) },
  'HS256 session': { path: '/jwt', setup: () => session(HS256_CONFIG) },
  'HS256 Redis session': { path: '/jwt', setup: async () => session({ ...HS256_CONFIG, ...await redisRevocation() }) },
  'RS256': { path: '/jwt', setup: () => library({ algorithm: 'RS256', privateKey: rsa() }) },
  'RS256 no cache': { path: '/jwt', setup: () => library({ algorithm: 'RS256', privateKey: rsa(), verifiedTokenCache: false }) },
  'ES256': { path: '/jwt', setup: () => library({ algorithm: 'ES256', privateKey: ec() }) },
  'ES256 no cache': { path: '/jwt', setup: () => library({ algorithm: 'ES256', privateKey: ec(), verifiedTokenCache: false }) },
  'issue pair HS256': { path: '/login', method: 'POST', setup: async () => ({ jwt: (issuer = new JwtManager({ secretKey: SECRET })) }) },
  'issue pair RS256': { path: '/login', method: 'POST', setup: async () => ({ jwt: (issuer = new JwtManager({ algorithm: 'RS256', privateKey: rsa() })) }) },
  'issue pair ES256': { path: '/login', method: 'POST', setup: async () => ({ jwt: (issuer = new JwtManager({ algorithm: 'ES256', privateKey: ec() })) }) },
  'Express unprotected': onExpress({ path: '/open', setup: async () => ({ token: await hs256Token() }) }),
  'Express noop @Authorized': onExpress({
    path: '/authorized',
    setup: async () => ({ token: await hs256Token(), checker: (action) => typeof action.request.headers.authorization === 'string' }),
  }),
  'Express HS256': onExpress({ path: '/jwt', setup: () => library(HS256_CONFIG) }),
  'Express HS256 no cache': onExpress({ path: '/jwt', setup: () => library({ ...HS256_CONFIG, verifiedTokenCache: false }) }),
  'Express HS256 Redis revocation': onExpress({ path: '/jwt', setup: async () => library({ ...HS256_CONFIG, ...await redisRevocation() }) }),
  'koa-jwt': {
    path: '/open',
    // As koa-jwt's README configures it: a string secret, in front of every route.
    setup: async (app) => {
      app.use(koaJwt({ secret: SECRET }).unless({ path: ['/cpu', '/rss'] }));
      return { token: createSigner({ key: SECRET, expiresIn: 3_600_000 })({ sub: 'bench-user' }) };
    },
  },
  'fast-jwt checker': {
    path: '/authorized',
    // A hand-written checker with fast-jwt and its verified-token cache.
    setup: async () => ({ token: await hs256Token(), checker: bearerChecker(createVerifier({ key: SECRET, algorithms: ['HS256'], cache: true })) }),
  },
  'jsonwebtoken checker': {
    path: '/authorized',
    // The reference for the uncached path: jsonwebtoken's verify with a KeyObject made once, no cache.
    setup: async () => {
      const key = createSecretKey(Buffer.from(SECRET));
      return { token: await hs256Token(), checker: bearerChecker((token) => jsonwebtokenVerify(token, key, { algorithms: ['HS256'] })) };
    },
  },
};

async function main(): Promise<void> {
  const name = process.argv[2];
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario "${name}"; one of: ${Object.keys(SCENARIOS).join(', ')}`);
  const koa = new Koa();
  if (cluster.isWorker) {
    koa.use(async (ctx, next) => {
      ctx.set('x-worker', String(process.pid)); // which worker answered, for bench/cluster.ts
      await next();
    });
  }
  const { token, checker, jwt } = await scenario.setup(koa);
  const options: RoutingControllersOptions = {
    controllers: [BenchController],
    authorizationChecker: checker ?? jwt?.authorizationChecker ?? (() => false),
    currentUserChecker: jwt?.currentUserChecker,
    development: false,
  };
  const app: { listen(port: number, host: string, listening: () => void): Server } = scenario.driver === 'express'
    ? useExpressServer(express().set('env', 'production'), options)
    : useKoaServer(koa, options);
  // Exit cleanly on a signal, so `node --cpu-prof` writes its profile.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
  const server = app.listen(0, '127.0.0.1', () => {
    console.log(`READY ${(server.address() as AddressInfo).port} ${token ?? '-'}`);
  });
  // Load generators keep their connections; under valgrind a pause between windows outlasts node's 5 s default.
  server.keepAliveTimeout = 0;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
