import { createSecretKey } from 'node:crypto';
import { expect } from 'chai';
import { Get, JsonController, Post } from 'routing-controllers';
import { CurrentIdentity, CurrentJwt, FreshJwtRequired, JwtRequired, type JwtClaims, type JwtHeader } from '../src';
import { VerifiedTokenCache, type VerifiedToken } from '../src/cache';
import { TestClock } from './clock';
import { forEachDriver, SECRET, startServer, type TestServer } from './helpers';

@JsonController('/cache')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Post('/fresh') @FreshJwtRequired() fresh() { return { ok: true }; }
  @Get('/tamper') @JwtRequired() tamper(@CurrentJwt() claims: JwtClaims) {
    try {
      (claims as Record<string, unknown>).sub = 'admin';
      (claims.roles as string[] | undefined)?.push('admin');
      return { changed: true };
    } catch {
      return { changed: false };
    }
  }
}

describe('verified-token cache (on by default)', () => forEachDriver(function (driver) {
  this.timeout(10_000);
  let server: TestServer;
  const clock = new TestClock();
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  before(async () => { server = await startServer([Routes], { secretKey: SECRET, clock }, {}, driver); });
  after(() => server.close());

  it('a revoked token is refused on the very next request, with the cache warm', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice');
    await server.request.get('/cache/me').set(as(token)).expect(200);
    await server.request.get('/cache/me').set(as(token)).expect(200);
    await server.jwt.revokeToken(token);
    await server.request.get('/cache/me').set(as(token)).expect(401, { msg: 'Token has been revoked' });
  });

  it('type and freshness are checked on every request, outside the cache', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice');
    await server.request.get('/cache/me').set(as(token)).expect(200);
    await server.request.post('/cache/fresh').set(as(token)).expect(401, { msg: 'Fresh token required' });
    const refresh = await server.jwt.tokens.createRefreshToken('alice');
    await server.jwt.tokens.decodeToken(refresh);
    await server.request.get('/cache/me').set(as(refresh)).expect(422);
  });

  it('never serves a token past its exp', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice', { expiresIn: 3 });
    await server.request.get('/cache/me').set(as(token)).expect(200);
    const { exp } = await server.jwt.tokens.decodeToken(token);
    clock.advance((exp as number + 1) * 1000 - clock.now());
    await server.request.get('/cache/me').set(as(token)).expect(401, { msg: 'Token has expired' });
  });

  it('hands out claims nobody can change for the next request', async () => {
    const token = await server.jwt.tokens.createAccessToken('alice', { additionalClaims: { roles: ['user'] } });
    await server.request.get('/cache/me').set(as(token)).expect(200);
    expect((await server.request.get('/cache/tamper').set(as(token)).expect(200)).body).to.deep.equal({ changed: false });
    await server.request.get('/cache/me').set(as(token)).expect(200, { id: 'alice' });
    expect((await server.jwt.tokens.decodeToken(token)).roles).to.deep.equal(['user']);
  });
}));

describe('verified-token cache: eviction and admission', () => {
  it('is bounded in time by its ttl', () => {
    const clock = new TestClock();
    const cache = new VerifiedTokenCache({ maxEntries: 10, ttl: 50, clock });
    cache.set('a', verified('a'));
    expect(cache.get('a')).not.to.equal(undefined);
    clock.advance(80);
    expect(cache.get('a')).to.equal(undefined);
  });

  it('a hit rewrites nothing in the index, however many entries the cache holds', () => {
    for (const size of [10, 10_000]) {
      const cache = new VerifiedTokenCache({ maxEntries: size });
      for (let i = 0; i < size - 1; i++) cache.set(`other-${i}`, verified(`other-${i}`));
      cache.set('hot', verified('hot'));
      let found = 0;
      expect(indexWritesDuring(() => {
        for (let i = 0; i < 1000; i++) if (cache.get('hot')) found++;
      })).to.equal(0);
      expect(found).to.equal(1000);
    }
  });

  it('a working set larger than the cache keeps hitting on what it holds, and stops rewriting the cache', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 100 });
    const tokens = Array.from({ length: 1000 }, (_, i) => `token-${i}`);
    const pass = () => {
      let hits = 0;
      const writes = indexWritesDuring(() => {
        for (const token of tokens) {
          if (cache.get(token)) hits++;
          else cache.set(token, verified(token));
        }
      });
      return { hits, writes };
    };
    pass();
    for (let i = 0; i < 3; i++) expect(pass()).to.deep.equal({ hits: 100, writes: 0 });
  });

  it('while full, a new token takes the place of one unused since the hand passed, once seen a second time', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 3 });
    for (const token of ['a', 'b', 'c']) cache.set(token, verified(token));
    expect(cache.get('a')).not.to.equal(undefined); // a gets its second chance
    cache.set('d', verified('d'));
    expect(cache.get('d')).to.equal(undefined);
    cache.set('d', verified('d'));
    expect(['a', 'b', 'c', 'd'].map((token) => cache.get(token) !== undefined)).to.deep.equal([true, false, true, true]);
    expect(cache.size).to.equal(3);
  });

  it('a token used between newcomers stays, however many come', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10 });
    cache.set('hot', verified('hot'));
    for (let i = 0; i < 1000; i++) {
      expect(cache.get('hot'), `after ${i} newcomers`).not.to.equal(undefined);
      cache.set(`new-${i}`, verified(`new-${i}`));
      cache.set(`new-${i}`, verified(`new-${i}`));
    }
    expect(cache.get('new-999')).not.to.equal(undefined);
  });

  it('finds a token by its whole string: another ending alike (same index key) is never taken for it', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10 });
    const ending = '.signature-tail-0123456789';
    cache.set(`header.payload-a${ending}`, verified('a'));
    expect(cache.get(`header.payload-b${ending}`)).to.equal(undefined);
    expect(cache.get(`header.payload-a${ending}`)?.claims.sub).to.equal('a');
    cache.set(`header.payload-b${ending}`, verified('b'));
    expect(cache.get(`header.payload-b${ending}`)?.claims.sub).to.equal('b');
    expect(cache.get(`header.payload-a${ending}`)).to.equal(undefined);
  });

  it('an expired entry gives its place to the next token at once', () => {
    const clock = new TestClock();
    const cache = new VerifiedTokenCache({ maxEntries: 2, ttl: 30, clock });
    cache.set('a', verified('a'));
    cache.set('b', verified('b'));
    clock.advance(50);
    cache.set('c', verified('c'));
    expect(cache.get('c')).not.to.equal(undefined);
    expect(cache.size).to.equal(2);
  });
});

describe('verified-token cache and the keys that verified its entries', () => forEachDriver(function (driver) {
  this.timeout(10_000);
  const OTHER_SECRET = `${SECRET}-rotated`;
  const keys = new Map<string, string>();
  /** Looks the key up by kid, as a JWKS-backed loader does; a kid it no longer knows fails. */
  const decodeKeyLoader = (header: JwtHeader) => {
    const key = keys.get(String(header.kid));
    if (key === undefined) throw new Error('unknown kid');
    return key;
  };
  let cached: TestServer;
  let uncached: TestServer;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  const answer = async (server: TestServer, token: string) => {
    const res = await server.request.get('/cache/me').set(as(token));
    return { status: res.status, msg: (res.body as { msg?: unknown }).msg };
  };

  before(async () => {
    cached = await startServer([Routes], { secretKey: SECRET, decodeKeyLoader }, {}, driver);
    uncached = await startServer([Routes], { secretKey: SECRET, decodeKeyLoader, verifiedTokenCache: false }, {}, driver);
  });
  after(async () => {
    await cached.close();
    await uncached.close();
  });
  beforeEach(() => {
    keys.clear();
    keys.set('k1', SECRET);
  });

  const mint = () => cached.jwt.tokens.createAccessToken('alice', { additionalHeaders: { kid: 'k1' } });

  it('a cached token is refused as soon as the loader gives another key for it', async () => {
    const token = await mint();
    await cached.request.get('/cache/me').set(as(token)).expect(200, { id: 'alice' });
    await cached.request.get('/cache/me').set(as(token)).expect(200, { id: 'alice' });
    keys.set('k1', OTHER_SECRET);
    await cached.request.get('/cache/me').set(as(token)).expect(422, { msg: 'Signature verification failed' });
    keys.set('k1', SECRET);
    await cached.request.get('/cache/me').set(as(token)).expect(200, { id: 'alice' });
  });

  it('once the loader no longer knows the key, a cached token gets the answer it gets uncached', async () => {
    const token = await mint();
    await cached.request.get('/cache/me').set(as(token)).expect(200);
    keys.delete('k1');
    const answers = [await answer(cached, token), await answer(uncached, token)];
    expect(answers[0].status).not.to.equal(200);
    expect(answers[0]).to.deep.equal(answers[1]);
  });

  it('stays cached while the loader gives the same key again, as new material each time', async () => {
    const token = await mint();
    await cached.request.get('/cache/me').set(as(token)).expect(200, { id: 'alice' });
    keys.set('k1', SECRET); // a string: a new, equal KeyObject on every call
    await cached.request.get('/cache/me').set(as(token)).expect(200, { id: 'alice' });
  });
}));

const key = { algorithm: 'HS256' as const, key: createSecretKey(Buffer.alloc(32, 1)) };

function verified(sub: string): VerifiedToken {
  return { header: { alg: 'HS256' }, claims: { sub, type: 'access', fresh: false }, key };
}

/** How many times a Map (the cache's index) is written while `action` runs. */
function indexWritesDuring(action: () => void): number {
  const map = Map.prototype as unknown as Record<'set' | 'delete' | 'clear', Function>;
  const names = ['set', 'delete', 'clear'] as const;
  const originals = names.map((name) => map[name]);
  let writes = 0;
  names.forEach((name, i) => {
    map[name] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return originals[i].apply(this, args);
    };
  });
  try {
    action();
  } finally {
    names.forEach((name, i) => { map[name] = originals[i]; });
  }
  return writes;
}
