/**
 * `npm run bench`: every scenario's server in its own process on 127.0.0.1,
 * driven by autocannon from this one; rounds interleave the scenarios so the
 * machine's drift hits all alike, and ratios come from the same run.
 * BENCH_DURATION (seconds per measurement, default 10), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 50), BENCH_ONLY (comma-separated scenario names),
 * BENCH_OUTPUT (default bench/results.json), BENCH_SOAK (seconds of the memory soak, default 60; 0 skips it),
 * BENCH_BASELINE (another build's dist/bench/server.js, e.g. of main in a second checkout: each scenario
 * also runs on it, interleaved in the same rounds, as "<scenario> [baseline]").
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { JwtManager } from '../src';
import { SCENARIOS, SECRET } from './server';
import { serverReady, type RunningServer } from './ready';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const output = process.env.BENCH_OUTPUT ?? join(__dirname, '..', '..', 'bench', 'results.json');
const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
const baseline = process.env.BENCH_BASELINE;
const BASELINE_SUFFIX = ' [baseline]';
const names = Object.keys(SCENARIOS).filter((name) => !only || only.includes(name))
  .flatMap((name) => (baseline ? [name, `${name}${BASELINE_SUFFIX}`] : [name]));
const soakSeconds = Number(process.env.BENCH_SOAK ?? 60);

interface Sample { requests: number; p50: number; p99: number; errors: number; non2xx: number; cpuMicrosPerRequest: number }

async function startServer(name: string): Promise<RunningServer> {
  const onBaseline = baseline !== undefined && name.endsWith(BASELINE_SUFFIX);
  const server = onBaseline ? baseline : join(__dirname, 'server.js');
  const child = spawn(process.execPath, [server, onBaseline ? name.slice(0, -BASELINE_SUFFIX.length) : name], { stdio: ['ignore', 'pipe', 'inherit'] });
  return serverReady(child, name);
}

async function serverCpu(port: number): Promise<number> {
  return ((await (await fetch(`http://127.0.0.1:${port}/cpu`)).json()) as { micros: number }).micros;
}

/**
 * One measurement: throughput and latency as autocannon sees them, and the
 * server's own CPU time per request, which a noisy shared machine disturbs far
 * less than throughput.
 */
async function load(port: number, name: string, token: string, seconds: number): Promise<Sample> {
  const scenario = SCENARIOS[name.replace(BASELINE_SUFFIX, '')];
  const cpuBefore = await serverCpu(port);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon({
      url: `http://127.0.0.1:${port}${scenario.path}`,
      method: scenario.method ?? 'GET',
      connections,
      duration: seconds,
      headers: token === '-' ? {} : { authorization: `Bearer ${token}` },
    }, (error, res) => (error ? reject(error) : resolve(res)));
  });
  const cpu = (await serverCpu(port)) - cpuBefore;
  return {
    requests: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx,
    cpuMicrosPerRequest: cpu / Math.max(1, result.requests.total),
  };
}

/**
 * Memory under a long load of many distinct tokens (twice the verified-token
 * cache's size), so every cache churns: RSS is sampled every 5 s.
 */
async function soak(seconds: number): Promise<{ seconds: number; distinctTokens: number; rssMiB: number[] }> {
  const { child, port } = await startServer('HS256');
  try {
    const minter = new JwtManager({ secretKey: SECRET, accessTokenExpires: '1h' });
    const tokens = await Promise.all(Array.from({ length: 20_000 }, (_, i) => minter.tokens.createAccessToken(`user-${i}`)));
    const rss = async () => Math.round(((await (await fetch(`http://127.0.0.1:${port}/rss`)).json()) as { rss: number }).rss / 2 ** 20);
    let next = 0;
    const run = (duration: number) => new Promise<void>((resolve, reject) => {
      autocannon({
        url: `http://127.0.0.1:${port}/jwt`, connections, duration,
        requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` } }) }],
      }, (error, result) => (error ? reject(error) : result.non2xx > 0 ? reject(new Error(`soak: ${result.non2xx} non-2xx`)) : resolve()));
    });
    await run(Math.min(5, seconds)); // warm-up fills the caches
    const samples = [await rss()];
    for (let elapsed = 0; elapsed < seconds; elapsed += 5) {
      await run(Math.min(5, seconds - elapsed));
      samples.push(await rss());
    }
    return { seconds, distinctTokens: tokens.length, rssMiB: samples };
  } finally {
    child.kill();
    await once(child, 'exit');
  }
}

async function main(): Promise<void> {
  const samples = new Map<string, Sample[]>(names.map((name) => [name, []]));
  for (let round = 1; round <= rounds; round++) {
    // Rotate the order each round as well, so no scenario always runs first.
    const order = names.map((_, i) => names[(i + round - 1) % names.length]);
    for (const name of order) {
      const { child, port, token } = await startServer(name);
      try {
        await load(port, name, token, Math.min(2, duration)); // warm-up: JIT, caches, connections
        const sample = await load(port, name, token, duration);
        if (sample.errors > 0 || sample.non2xx > 0) throw new Error(`${name}: ${sample.errors} errors, ${sample.non2xx} non-2xx answers`);
        samples.get(name)!.push(sample);
        console.error(`round ${round}/${rounds} ${name}: ${Math.round(sample.requests)} req/s`);
      } finally {
        child.kill();
        await once(child, 'exit');
      }
    }
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  // Each scenario against the unprotected route of its own driver.
  const unprotectedOf = (name: string) => (SCENARIOS[name.replace(BASELINE_SUFFIX, '')].driver === 'express' ? 'Express unprotected' : 'unprotected');
  const results = names.map((name) => {
    const list = samples.get(name)!;
    const base = samples.get(unprotectedOf(name)) ?? [];
    const requests = median(list.map((s) => s.requests));
    const cpu = median(list.map((s) => s.cpuMicrosPerRequest));
    const range = (values: number[]): [number, number] => [Math.round(Math.min(...values)), Math.round(Math.max(...values))];
    return {
      scenario: name, reqPerSec: Math.round(requests), p50Ms: median(list.map((s) => s.p50)), p99Ms: median(list.map((s) => s.p99)),
      // The spread of the rounds: on a shared machine, what one figure alone hides.
      reqPerSecRange: range(list.map((s) => s.requests)), cpuRange: range(list.map((s) => s.cpuMicrosPerRequest)),
      ratio: Number((requests / median(base.map((s) => s.requests))).toFixed(2)),
      cpuMicrosPerRequest: Math.round(cpu), cpuRatio: Number((median(base.map((s) => s.cpuMicrosPerRequest)) / cpu).toFixed(2)),
    };
  });
  const memory = soakSeconds > 0 ? await soak(soakSeconds) : undefined;
  const report = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    settings: { durationSeconds: duration, rounds, connections },
    results,
    memory,
  };
  writeFileSync(output, `${JSON.stringify(report, null, 2)}\n`);
  console.log('| scenario | req/s (rounds: min–max) | p50 ms | p99 ms | × unprotected of its driver (req/s) | server CPU µs/req (min–max) | × unprotected (CPU) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const [reqMin, reqMax] = r.reqPerSecRange;
    const [cpuMin, cpuMax] = r.cpuRange;
    console.log(`| ${r.scenario} | ${r.reqPerSec} (${reqMin}–${reqMax}) | ${r.p50Ms} | ${r.p99Ms} | ${r.ratio.toFixed(2)} | ${r.cpuMicrosPerRequest} (${cpuMin}–${cpuMax}) | ${r.cpuRatio.toFixed(2)} |`);
  }
  if (memory) console.log(`\nMemory soak (HS256, ${memory.distinctTokens} distinct tokens, ${memory.seconds} s): RSS ${memory.rssMiB.join(' → ')} MiB`);
  console.log(`\n${report.machine}; ${rounds} rounds of ${duration} s, ${connections} connections; median of rounds. Written to ${output}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
