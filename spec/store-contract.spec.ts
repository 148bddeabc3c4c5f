import { randomUUID } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import { MemoryRevocationStore, RedisRevocationStore } from '../src';
import { manualTime, redisTime } from './clock';
import { connectRedis, freePortBase, hasRedisServer, LocalCluster, requireService } from './services';
import { storeContract } from './stores/contract';

// One line per store: a store added later gets the whole contract by adding its own.

storeContract('memory store', async () => {
  const time = manualTime();
  const store = new MemoryRevocationStore({ clock: time.clock });
  return { store, held: async () => store.size, time, another: async () => store };
});

const clients: Array<Redis | Cluster> = [];
let redis: Redis | undefined;
storeContract('Redis store (single server)', async (ctx) => {
  redis ??= await connectRedis();
  requireService(ctx, redis !== undefined, 'no Redis answers on 127.0.0.1:6379 (TEST_REDIS_URL)');
  const prefix = `contract:${randomUUID()}`;
  const time = redisTime();
  const another = async () => {
    const client = (await connectRedis())!;
    clients.push(client);
    return new RedisRevocationStore(client, { prefix, clock: time.clock, onWarning: () => undefined });
  };
  return { store: new RedisRevocationStore(redis!, { prefix, clock: time.clock }), held: async () => (await redis!.keys(`${prefix}:*`)).length, time, another };
});

let cluster: Cluster | undefined;
let localCluster: LocalCluster | undefined;
storeContract('Redis store (three-node Redis Cluster)', async (ctx) => {
  requireService(ctx, hasRedisServer(), 'redis-server/redis-cli not installed');
  if (!cluster) {
    localCluster = new LocalCluster(freePortBase());
    cluster = await localCluster.start();
  }
  const prefix = `contract:${randomUUID()}`;
  const time = redisTime();
  const held = async () => (await Promise.all(cluster!.nodes('master').map((node) => node.keys(`${prefix}:*`)))).flat().length;
  const another = async () => {
    const client = new Cluster(localCluster!.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })));
    client.on('error', () => undefined);
    clients.push(client);
    await client.ping();
    return new RedisRevocationStore(client, { prefix, clock: time.clock, onWarning: () => undefined });
  };
  return { store: new RedisRevocationStore(cluster, { prefix, clock: time.clock }), held, time, another };
});

after(async () => {
  for (const client of clients) client.disconnect();
  redis?.disconnect();
  cluster?.disconnect();
  await localCluster?.destroy();
});
