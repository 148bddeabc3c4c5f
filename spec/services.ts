import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';

/**
 * Real components for the tests. Without one, its tests skip and say why;
 * under REQUIRE_SERVICES=1 (CI) a missing component fails the run instead.
 */
export function requireService(ctx: Mocha.Context, available: boolean, reason: string): void {
  if (available) return;
  if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${reason}`);
  console.warn(`      skipped: ${reason}`);
  ctx.skip();
}

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A client for the shared Redis, or `undefined` when none answers. */
export async function connectRedis(url = REDIS_URL): Promise<Redis | undefined> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch {
    redis.disconnect();
    return undefined;
  }
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;
}

/** Ports no one else on the machine is likely to use, different per test process. */
export function freePortBase(): number {
  return 20000 + (process.pid % 3000) * 3;
}

/** A private redis-server on its own port, nothing on disk; `stop()` kills it hard, `start()` brings it back. */
export class PrivateRedis {
  private child?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'rcjwt-redis-'));

  constructor(readonly port: number, private readonly extraArgs: string[] = []) {}

  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, ...this.extraArgs], { stdio: 'ignore' });
    // Up to 20 s: a loaded machine (CI, several suites at once) starts it slowly.
    for (let attempt = 0; attempt < 400; attempt++) {
      if (spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A three-node Redis Cluster on loopback ports, built with redis-cli --cluster create. */
export class LocalCluster {
  readonly nodes: PrivateRedis[];

  constructor(base: number) {
    this.nodes = [0, 1, 2].map((i) => new PrivateRedis(base + i, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${base + i}.conf`]));
  }

  async start(): Promise<Cluster> {
    await Promise.all(this.nodes.map((node) => node.start()));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (let attempt = 0; attempt < 100; attempt++) {
      const info = spawnSync('redis-cli', ['-p', String(this.nodes[0].port), 'cluster', 'info'], { encoding: 'utf8' }).stdout;
      if (info.includes('cluster_state:ok')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const cluster = new Cluster(this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), { enableAutoPipelining: true });
    cluster.on('error', () => undefined);
    await cluster.ping();
    return cluster;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.destroy()));
  }
}
