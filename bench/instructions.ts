/**
 * `npm run bench:instructions`: CPU instructions per request, counted by
 * valgrind's callgrind, a measure that the machine's load does not move (unlike
 * req/s on shared cores, where client and server compete).
 *
 * Each scenario's server (bench/server.ts) runs under
 * `valgrind --tool=callgrind --instr-atstart=no`: uninstrumented through start-up
 * and a warm-up (JIT tiers, caches filled), then instrumentation is switched on
 * (`callgrind_control -i on`) for a fixed window of requests, off again, and the
 * window's count dumped. Every thread of the server counts (JIT compiler, GC):
 * windows go on until the last INSTR_WINDOWS of them agree within INSTR_STEADY.
 * The client runs natively in this process and is not counted.
 *
 * INSTR_REQUESTS (requests per window, default 2000; with tokens cycling, a window
 * is one whole cycle), INSTR_WINDOWS (windows counted
 * per scenario, default 3), INSTR_STEADY (how closely they must agree, default
 * 0.01 = 1 % of their median), INSTR_MAX_WINDOWS (default 8), INSTR_WARMUP
 * (warm-up requests, default 5000; the
 * many-token scenarios also go once through all their tokens), INSTR_CONNECTIONS
 * (keep-alive connections, default 4), INSTR_PARALLEL (servers measured at once,
 * default 2: counts do not depend on it), INSTR_ONLY (comma-separated scenario
 * names), INSTR_OUTPUT (default bench/instructions.json), INSTR_BASELINE (another
 * build's dist/bench/server.js, e.g. of an earlier commit in a second checkout:
 * each chosen scenario also runs on it, as "<scenario> [baseline]", for before and
 * after figures from one run).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { JwtManager } from '../src';
import { HS256_CONFIG, SCENARIOS } from './server';
import { serverReady, type RunningServer } from './ready';

const requestsPerWindow = Number(process.env.INSTR_REQUESTS ?? 2000);
const windows = Number(process.env.INSTR_WINDOWS ?? 3);
const warmup = Number(process.env.INSTR_WARMUP ?? 5000);
const connections = Number(process.env.INSTR_CONNECTIONS ?? 4);
const parallel = Number(process.env.INSTR_PARALLEL ?? 2);
const output = process.env.INSTR_OUTPUT ?? join(__dirname, '..', '..', 'bench', 'instructions.json');
const only = process.env.INSTR_ONLY?.split(',').map((name) => name.trim());
/** Windows agreeing within this (spread ÷ median) count as steady. */
const STEADY = Number(process.env.INSTR_STEADY ?? 0.01);
const MAX_WINDOWS = Math.max(windows, Number(process.env.INSTR_MAX_WINDOWS ?? 8));
const baseline = process.env.INSTR_BASELINE;
const BASELINE_SUFFIX = ' [baseline]';

/**
 * Which tokens the requests carry: the server's one token; distinct tokens in a
 * cycle (each window one whole cycle, so every window sends the same mix); one
 * hot token after many others; or a token never sent before on every request,
 * once the cache is full (every request a miss: a cache's worst case).
 */
type Traffic = { kind: 'one' } | { kind: 'cycle'; distinct: number } | { kind: 'hot'; others: number } | { kind: 'fresh' };

interface InstructionScenario {
  name: string;
  server: string;
  traffic: Traffic;
}

const one: Traffic = { kind: 'one' };
/** The verified-token cache's default size (`verifiedTokenCache.maxEntries`). */
const CACHE_ENTRIES = 10_000;
/** The no-op checker: routing-controllers' `@Authorized` with a checker that only looks for the header. The ceiling. */
const CEILING = 'no-op checker';
/** The same ceiling on routing-controllers' Express driver. */
const EXPRESS_CEILING = 'Express no-op checker';

const INSTRUCTION_SCENARIOS: InstructionScenario[] = [
  { name: 'unprotected', server: 'unprotected', traffic: one },
  { name: CEILING, server: 'noop @Authorized', traffic: one },
  { name: 'HS256 cache (one token)', server: 'HS256', traffic: one },
  { name: 'HS256 cache (10k distinct tokens cycling)', server: 'HS256', traffic: { kind: 'cycle', distinct: 10_000 } },
  { name: 'HS256 no cache', server: 'HS256 no cache', traffic: one },
  { name: 'HS256 cache (one hot token among 10k others)', server: 'HS256', traffic: { kind: 'hot', others: 10_000 } },
  { name: 'HS256 cache (20k distinct tokens cycling: past its size)', server: 'HS256', traffic: { kind: 'cycle', distinct: 20_000 } },
  { name: 'HS256 cache (every token new: all misses; cache full)', server: 'HS256', traffic: { kind: 'fresh' } },
  { name: 'HS256 no cache (every token new)', server: 'HS256 no cache', traffic: { kind: 'fresh' } },
  { name: 'HS256 cache with 10k revoked tokens in the store', server: 'HS256 10k revoked', traffic: one },
  { name: 'RS256 cache', server: 'RS256', traffic: one },
  { name: 'RS256 no cache', server: 'RS256 no cache', traffic: one },
  { name: 'ES256 cache', server: 'ES256', traffic: one },
  { name: 'ES256 no cache', server: 'ES256 no cache', traffic: one },
  { name: 'fast-jwt checker (its cache)', server: 'fast-jwt checker', traffic: one },
  { name: 'jsonwebtoken checker (KeyObject)', server: 'jsonwebtoken checker', traffic: one },
  { name: 'issue a token pair HS256', server: 'issue pair HS256', traffic: one },
  { name: 'issue a token pair RS256', server: 'issue pair RS256', traffic: one },
  { name: 'issue a token pair ES256', server: 'issue pair ES256', traffic: one },
  { name: 'HS256 cache with Redis revocation', server: 'HS256 Redis revocation', traffic: one },
  { name: 'Express unprotected', server: 'Express unprotected', traffic: one },
  { name: EXPRESS_CEILING, server: 'Express noop @Authorized', traffic: one },
  { name: 'Express HS256 cache (one token)', server: 'Express HS256', traffic: one },
  { name: 'Express HS256 no cache', server: 'Express HS256 no cache', traffic: one },
  { name: 'Express HS256 cache with Redis revocation', server: 'Express HS256 Redis revocation', traffic: one },
];

interface Measured {
  scenario: string;
  /** Instructions per request of each window counted. */
  windows: number[];
  /** Those of the windows before, while V8 was still compiling. */
  discarded: number[];
  /** Whether the counted windows agreed within {@link STEADY}. */
  steady: boolean;
  /** Their median. */
  instructions: number;
}

// Killed on the way out, whatever failed.
const servers = new Set<ChildProcess>();
process.on('exit', () => servers.forEach((child) => child.kill()));

/** The server of `scenario` under callgrind, instrumentation off until asked. */
async function startServer(scenario: string, dir: string): Promise<RunningServer> {
  const onBaseline = baseline !== undefined && scenario.endsWith(BASELINE_SUFFIX);
  const child = spawn('valgrind', [
    '--tool=callgrind', '--instr-atstart=no',
    // V8 writes machine code at run time: valgrind must notice code that changes.
    '--smc-check=all-non-file',
    `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`, `--log-file=${join(dir, 'valgrind.%p.log')}`,
    process.execPath, onBaseline ? baseline : join(__dirname, 'server.js'), onBaseline ? scenario.slice(0, -BASELINE_SUFFIX.length) : scenario,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.add(child);
  child.once('exit', () => servers.delete(child));
  return serverReady(child, scenario);
}

/** Sends `count` requests of the server's method over `connections` keep-alive connections; every answer must be 200. */
async function send(agent: Agent, port: number, server: string, count: number, nextToken: () => string): Promise<void> {
  const { path, method = 'GET' } = SCENARIOS[server];
  let sent = 0;
  const one = (token: string) => new Promise<void>((resolve, reject) => {
    const req = request({ agent, host: '127.0.0.1', port, path, method, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: answered ${res.statusCode}`))));
    });
    req.once('error', reject);
    req.end();
  });
  await Promise.all(Array.from({ length: connections }, async () => {
    while (sent < count) {
      sent++;
      await one(nextToken());
    }
  }));
}

const control = (pid: number, ...args: string[]) => promisify(execFile)('callgrind_control', [...args, String(pid)]);

/** The instruction count of the dump callgrind just wrote for `pid`, the dump's file removed. */
function lastDumpTotal(dir: string, pid: number): number {
  const prefix = `callgrind.out.${pid}.`;
  const dumps = readdirSync(dir).filter((file) => file.startsWith(prefix)).sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)));
  const file = join(dir, dumps[dumps.length - 1]);
  const total = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
  rmSync(file);
  if (!total) throw new Error(`no totals in ${file}`);
  return Number(total[1]);
}

async function distinctTokens(count: number): Promise<string[]> {
  const minter = new JwtManager(HS256_CONFIG);
  return Promise.all(Array.from({ length: count }, (_, i) => minter.tokens.createAccessToken(`user-${i}`)));
}

async function measure(scenario: InstructionScenario, dir: string, token: string): Promise<Measured> {
  const { traffic } = scenario;
  const server = await startServer(scenario.server + (scenario.name.endsWith(BASELINE_SUFFIX) ? BASELINE_SUFFIX : ''), dir);
  const pid = server.child.pid!;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  try {
    // The checkers compared with the library get the library's HS256 token, the same header; RS and ES their server's own.
    const own = /^(RS|ES)/.test(scenario.server) ? server.token : token;
    let next: () => string = () => own;
    let warm = warmup;
    let perWindow = requestsPerWindow;
    if (traffic.kind === 'cycle') {
      const tokens = await distinctTokens(traffic.distinct);
      let i = 0;
      next = () => tokens[i++ % tokens.length];
      warm += traffic.distinct;
      perWindow = traffic.distinct;
    } else if (traffic.kind === 'fresh') {
      // Enough to fill the cache (its default size), warm up, and count every window.
      warm += CACHE_ENTRIES;
      const tokens = await distinctTokens(warm + MAX_WINDOWS * perWindow);
      let i = 0;
      next = () => tokens[i++];
    } else if (traffic.kind === 'hot') {
      const others = await distinctTokens(traffic.others);
      let i = 0;
      await send(agent, server.port, scenario.server, others.length, () => others[i++]);
    }
    await send(agent, server.port, scenario.server, warm, next);
    // V8 keeps compiling hot code on background threads for a while: windows go on until the
    // last `windows` of them agree within STEADY, at most MAX_WINDOWS in all.
    const counts: number[] = [];
    let last: number[] = [];
    do {
      await control(pid, '-i', 'on');
      await send(agent, server.port, scenario.server, perWindow, next);
      await control(pid, '-i', 'off');
      await control(pid, '-d');
      counts.push(lastDumpTotal(dir, pid) / perWindow);
      last = counts.slice(-windows);
    } while ((last.length < windows || spread(last) > STEADY) && counts.length < MAX_WINDOWS);
    const steady = last.length === windows && spread(last) <= STEADY;
    console.error(`${scenario.name}: ${counts.map((c) => (c / 1000).toFixed(1)).join(', ')} k instructions/request${steady ? '' : ' (not steady)'}`);
    // Never steady (garbage collection over a large heap falls into some windows, not others):
    // the median of every window after the first two (V8 still compiling), reported with their spread.
    const counted = steady ? last : counts.slice(2);
    return { scenario: scenario.name, windows: counted, discarded: counts.slice(0, counts.length - counted.length), steady, instructions: median(counted) };
  } finally {
    agent.destroy();
    server.child.kill();
    await once(server.child, 'exit');
  }
}

/** (largest − smallest) ÷ median. */
function spread(values: number[]): number {
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  // INSTR_ONLY separates names with commas: a name holding one could never be chosen.
  const unchoosable = INSTRUCTION_SCENARIOS.find((s) => s.name.includes(','));
  if (unchoosable) throw new Error(`scenario name with a comma: ${unchoosable.name}`);
  const named = INSTRUCTION_SCENARIOS.filter((s) => !only || only.includes(s.name));
  if (named.length === 0) throw new Error(`INSTR_ONLY names no scenario; the scenarios: ${INSTRUCTION_SCENARIOS.map((s) => s.name).join('; ')}`);
  const chosen = named.flatMap((s) => (baseline ? [s, { ...s, name: `${s.name}${BASELINE_SUFFIX}` }] : [s]));
  const dir = mkdtempSync(join(tmpdir(), 'callgrind-'));
  const [token] = await distinctTokens(1);
  const results: Measured[] = [];
  try {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(parallel, chosen.length) }, async () => {
      while (next < chosen.length) {
        const scenario = chosen[next++];
        results.push(await measure(scenario, dir, token));
      }
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  results.sort((a, b) => chosen.findIndex((s) => s.name === a.scenario) - chosen.findIndex((s) => s.name === b.scenario));

  const find = (name: string) => results.find((r) => r.scenario === name)?.instructions;
  const ceiling = find(CEILING);
  const rows = results.map((r) => ({
    ...r,
    spread: spread(r.windows),
    timesCeiling: ceiling === undefined ? undefined : r.instructions / ceiling,
  }));
  writeFileSync(output, `${JSON.stringify({
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
    settings: { requestsPerWindow, windows, warmup, connections },
    results: rows,
  }, null, 2)}\n`);

  const fixed = (value: number | undefined, digits: number) => (value === undefined ? '–' : value.toFixed(digits));
  console.log(`| scenario | k instr/req | spread of the windows counted | × ${CEILING} | ${CEILING} ÷ scenario |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const inverse = r.timesCeiling === undefined ? undefined : 1 / r.timesCeiling;
    const counted = r.steady ? '' : ` (not steady: median of ${r.windows.length} windows)`;
    console.log(`| ${r.scenario}${counted} | ${fixed(r.instructions / 1000, 1)} | ${fixed(r.spread * 100, 1)} % | ${fixed(r.timesCeiling, 3)} | ${fixed(inverse, 2)} |`);
  }
  const ratio = (a: string, b: string) => {
    const [x, y] = [find(a), find(b)];
    return x === undefined || y === undefined ? undefined : x / y;
  };
  console.log('');
  const checks: [string, string, string][] = [
    ['HS256 cache (one token)', CEILING, 'cache hit ÷ no-op checker'],
    ['HS256 no cache', 'jsonwebtoken checker (KeyObject)', 'no cache ÷ jsonwebtoken checker'],
    ['HS256 cache (20k distinct tokens cycling: past its size)', 'HS256 no cache', 'past the cache ÷ no cache'],
    ['HS256 cache (every token new: all misses; cache full)', 'HS256 no cache (every token new)', 'all misses ÷ no cache, the same tokens'],
    ['HS256 cache (one hot token among 10k others)', 'HS256 cache (one token)', 'hot token among 10k ÷ one token'],
    ['HS256 cache with 10k revoked tokens in the store', 'HS256 cache (one token)', '10k revoked in the store ÷ none'],
    ['HS256 cache with Redis revocation', 'HS256 cache (one token)', 'Redis store ÷ memory store'],
    ['HS256 cache (one token)', 'unprotected', 'Koa: cache hit ÷ unprotected'],
    ['Express HS256 cache (one token)', 'Express unprotected', 'Express: cache hit ÷ unprotected'],
    ['Express HS256 cache (one token)', EXPRESS_CEILING, 'Express: cache hit ÷ no-op checker'],
    ['HS256 no cache', 'unprotected', 'Koa: no cache ÷ unprotected'],
    ['Express HS256 no cache', 'Express unprotected', 'Express: no cache ÷ unprotected'],
    ['HS256 cache with Redis revocation', 'unprotected', 'Koa: Redis store ÷ unprotected'],
    ['Express HS256 cache with Redis revocation', 'Express unprotected', 'Express: Redis store ÷ unprotected'],
  ];
  if (baseline) checks.push(...named.map((s): [string, string, string] => [s.name, `${s.name}${BASELINE_SUFFIX}`, `${s.name}: this build ÷ baseline`]));
  for (const [a, b, label] of checks) {
    const value = ratio(a, b);
    if (value !== undefined) console.log(`${label}: ${value.toFixed(3)}`);
  }
  console.log(`\n${requestsPerWindow} requests per window (a whole cycle for cycling tokens), ${windows} windows after ${warmup} warm-up requests, ${connections} connections. Written to ${output}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
