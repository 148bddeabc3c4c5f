/**
 * `npm run bench:cluster`: the HS256 scenario with the Redis revocation store,
 * served by one worker and then by two under node's cluster module, sharing one
 * port and one Redis. Checks that a revocation made through Redis is seen by
 * both workers at once, and measures throughput (autocannon) for each.
 * CLUSTER_DURATION (seconds per measurement, default 10), CLUSTER_CONNECTIONS (default 50),
 * REDIS_URL (default redis://127.0.0.1:6379).
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { get } from 'node:http';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { JwtManager, RedisRevocationStore } from '../src';
import { HS256_CONFIG } from './server';

const duration = Number(process.env.CLUSTER_DURATION ?? 10);
const connections = Number(process.env.CLUSTER_CONNECTIONS ?? 50);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCENARIO = 'HS256 Redis revocation';

/** `count` workers of the bench server sharing one port; resolves once every one listens. */
async function startWorkers(count: number, prefix: string): Promise<{ workers: Worker[]; port: number }> {
  cluster.setupPrimary({ exec: join(__dirname, 'server.js'), args: [SCENARIO], silent: true });
  const workers = Array.from({ length: count }, () => cluster.fork({ BENCH_REDIS_PREFIX: prefix }));
  const ports = await Promise.all(workers.map((worker) => new Promise<number>((resolve, reject) => {
    let out = '';
    worker.process.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const ready = /READY (\d+)/.exec(out);
      if (ready) resolve(Number(ready[1]));
    });
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  })));
  if (new Set(ports).size !== 1) throw new Error(`workers listen on different ports: ${ports.join(', ')}`);
  return { workers, port: ports[0] };
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map(async (worker) => {
    worker.kill();
    await once(worker, 'exit');
  }));
}

/** Status and answering worker of `count` requests, each on a connection of its own, so the primary spreads them over the workers. */
async function answers(port: number, token: string, count: number): Promise<{ status: number; worker: string }[]> {
  const one = () => new Promise<{ status: number; worker: string }>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/jwt', agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, worker: String(res.headers['x-worker']) }));
    }).once('error', reject);
  });
  const results = [];
  for (let i = 0; i < count; i++) results.push(await one());
  return results;
}

async function throughput(port: number, token: string): Promise<{ reqPerSec: number; p99Ms: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/jwt`, connections, duration, headers: { authorization: `Bearer ${token}` },
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { reqPerSec: Math.round(result.requests.average), p99Ms: result.latency.p99 };
}

async function main(): Promise<void> {
  const prefix = `bench-cluster:${process.pid}`;
  const redis = new Redis(redisUrl);
  const revoker = new JwtManager({ ...HS256_CONFIG, revocationStore: new RedisRevocationStore(redis, { prefix }) });
  try {
    const rows: string[] = [];
    for (const count of [1, 2]) {
      const { workers, port } = await startWorkers(count, prefix);
      try {
        const token = await revoker.tokens.createAccessToken('bench-user');
        const measured = await throughput(port, token);
        const victim = await revoker.tokens.createAccessToken('bench-victim');
        const before = await answers(port, victim, 20);
        await revoker.revokeToken(victim);
        const after = await answers(port, victim, 20);
        if (before.some((a) => a.status !== 200) || after.some((a) => a.status !== 401)) {
          throw new Error(`${count} worker(s): before revocation ${before.map((a) => a.status).join(' ')}; after ${after.map((a) => a.status).join(' ')}`);
        }
        const refusing = new Set(after.map((a) => a.worker)).size;
        if (refusing !== count) throw new Error(`${count} worker(s): only ${refusing} answered the revoked token`);
        rows.push(`| ${count} | ${measured.reqPerSec} | ${measured.p99Ms} | 200 before; 401 from all ${count} right after |`);
        console.error(`${count} worker(s): ${measured.reqPerSec} req/s`);
      } finally {
        await stopWorkers(workers);
      }
    }
    console.log(`| workers (${SCENARIO}) | req/s | p99 ms | revoked token through Redis, fresh connections |`);
    console.log('| ---: | ---: | ---: | --- |');
    for (const row of rows) console.log(row);
    console.log(`\n${duration} s, ${connections} connections, one shared Redis (${prefix})`);
  } finally {
    redis.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
