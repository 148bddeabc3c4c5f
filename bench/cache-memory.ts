/**
 * `npm run bench:cache-memory`: heap bytes per token held in the verified-token
 * cache, against fast-jwt's cache. Each token is verified once as a request
 * would present it (sliced out of its `Authorization` header) into a cache big
 * enough to keep them all; the heap is measured after full collections, with
 * the tokens themselves already counted in the baseline.
 * CACHE_MEMORY_TOKENS (default 20 000).
 */
import { createVerifier } from 'fast-jwt';
import { JwtManager } from '../src';
import { HS256_CONFIG, SECRET } from './server';

const count = Number(process.env.CACHE_MEMORY_TOKENS ?? 20_000);

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Heap growth per token once `verify` has seen every token, and what stays alive of it. */
async function bytesPerToken(tokens: string[], makeVerifier: () => (token: string) => unknown): Promise<number> {
  const verify = makeVerifier();
  const before = heapUsed();
  for (const token of tokens) await verify(`Bearer ${token}`.slice(7));
  const after = heapUsed();
  verify(tokens[0]); // keeps the verifier, and so its cache, alive until measured
  return (after - before) / tokens.length;
}

async function main(): Promise<void> {
  const minter = new JwtManager(HS256_CONFIG);
  const minted = await Promise.all(Array.from({ length: count }, (_, i) => minter.tokens.createAccessToken(`user-${i}`)));
  // Minted tokens are ropes (concatenations) that a first use flattens, freeing their parts: flat, as a request's are.
  const tokens = minted.map((token) => Buffer.from(token, 'latin1').toString('latin1'));
  const rows: [string, number][] = [
    ['this library, verified-token cache', await bytesPerToken(tokens, () => {
      const jwt = new JwtManager({ ...HS256_CONFIG, verifiedTokenCache: { maxEntries: count } });
      return (token) => jwt.tokens.decodeToken(token);
    })],
    ['this library, no cache', await bytesPerToken(tokens, () => {
      const jwt = new JwtManager({ ...HS256_CONFIG, verifiedTokenCache: false });
      return (token) => jwt.tokens.decodeToken(token);
    })],
    ['fast-jwt, its cache', await bytesPerToken(tokens, () => createVerifier({ key: SECRET, algorithms: ['HS256'], cache: count }))],
  ];
  console.log(`| ${count} distinct tokens of ${tokens[0].length} characters | bytes per cached token |`);
  console.log('| --- | ---: |');
  for (const [name, bytes] of rows) console.log(`| ${name} | ${Math.round(bytes)} |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
