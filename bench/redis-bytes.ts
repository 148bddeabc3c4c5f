/**
 * `npm run bench:redis-bytes`: what each RedisRevocationStore operation costs on
 * the wire: round trips (commands sent) and bytes sent to and received from
 * Redis, on a private redis-server (redis-server must be installed). Prints a
 * Markdown table: steady state (every script already in Redis' cache), then a
 * refresh right after `SCRIPT FLUSH`.
 */
import { Redis } from 'ioredis';
import { RedisRevocationStore, type RedisClientLike } from '../src';
import type { RefreshUse, StoredToken } from '../src/stores/store';
import { freePortBase, PrivateRedis } from '../spec/services';

/** Forwards the store's commands to `redis`, counting them (each one a round trip: the store awaits every call). */
function counting(redis: Redis): { client: RedisClientLike; commands: () => number } {
  let commands = 0;
  const client: RedisClientLike = {
    mget: (...keys) => { commands++; return redis.mget(...keys); },
    eval: (script, numberOfKeys, ...args) => { commands++; return redis.eval(script, numberOfKeys, ...args); },
    evalsha: (sha, numberOfKeys, ...args) => { commands++; return redis.evalsha(sha, numberOfKeys, ...args); },
    get status() { return redis.status; },
  };
  return { client, commands: () => commands };
}

interface Cost { operation: string; roundTrips: number; sent: number; received: number }

async function main(): Promise<void> {
  const server = new PrivateRedis(freePortBase() + 30);
  await server.start();
  const redis = new Redis({ port: server.port, host: '127.0.0.1' });
  try {
    await redis.ping();
    const { client, commands } = counting(redis);
    const store = new RedisRevocationStore(client, { prefix: 'bench', onWarning: () => undefined });
    const use: RefreshUse = { rotation: true, grace: 100, mark: { ttl: 3_600_000, maxPerIdentity: 100, cutoffTtl: 86_400_000 } };
    let n = 0;
    const measure = async (operation: string, run: () => Promise<unknown>): Promise<Cost> => {
      const [before, sent, received] = [commands(), redis.stream.bytesWritten, redis.stream.bytesRead];
      await run();
      return { operation, roundTrips: commands() - before, sent: redis.stream.bytesWritten - sent, received: redis.stream.bytesRead - received };
    };
    // One identity's life, every operation once; the same ids and lengths each round, so rounds compare.
    const round = async (): Promise<Cost[]> => {
      const identity = `user-${n++}`;
      const token = (jti: string): StoredToken => ({ identity, jti, family: 'session-0001', generation: 0 });
      return [
        await measure('login (startSession)', () => store.startSession(identity, {
          id: 'session-0001', refreshJti: 'refresh-0001', maxAge: 86_400_000, idleTimeout: undefined, ttl: 86_400_000, metadata: '{"label":"laptop"}', maxPerIdentity: 100,
        })),
        await measure('check (status, the hot path)', () => store.status(token('access-0001'))),
        await measure('refresh (useRefreshToken + rotated)', async () => {
          await store.useRefreshToken(token('refresh-0001'), use);
          await store.rotated(identity, 'session-0001', 'refresh-0002', 86_400_000);
        }),
        await measure('refresh outside sessions (useRefreshToken)', () => store.useRefreshToken({ identity, jti: 'refresh-9999', generation: 0 }, use)),
        await measure('sessions listing', () => store.sessions(identity)),
        await measure('revokeToken', () => store.revokeToken(identity, 'access-0001', use.mark)),
        await measure('logout (endSession)', () => store.endSession(identity, 'session-0001')),
        await measure('revokeAll', () => store.revokeAll(identity, 86_400_000)),
      ];
    };
    await round();
    const steady = await round();
    await redis.script('FLUSH');
    const [, , cold] = await round();
    const rows = [...steady, { ...cold, operation: `${cold.operation}, first after SCRIPT FLUSH` }];
    console.log('| operation | round trips | bytes sent | bytes received |\n| --- | ---: | ---: | ---: |');
    for (const row of rows) console.log(`| ${row.operation} | ${row.roundTrips} | ${row.sent} | ${row.received} |`);
  } finally {
    redis.disconnect();
    await server.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
