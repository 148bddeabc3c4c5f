import { expect } from 'chai';
import fc from 'fast-check';
import { Body, HttpCode, JsonController, Param, Post } from 'routing-controllers';
import { JwtError, JwtManager, type DriverContext } from '../../src';
import { startDemoInProcess, type InProcessDemo } from '../demo-app';
import { DriverObject, forEachDriver, SECRET, startServer, type TestServer } from '../helpers';
import { ec, expectRefusal, SecurityRoutes } from './support';

/**
 * Property-based fuzzing over HTTP: whatever arrives, the answer is a 4xx with
 * the contract's body, and only the exact token issued is ever accepted.
 */
describe('fuzzing (fast-check)', () => forEachDriver(function (driver) {
  this.timeout(120_000);
  let hs: TestServer;
  let es: TestServer;
  const counts = { cases: 0, accepted: 0, refused: 0, fiveHundreds: 0, forgeriesAccepted: 0 };

  before(async () => {
    [hs, es] = await Promise.all([
      startServer([SecurityRoutes], { secretKey: SECRET }, {}, driver),
      startServer([SecurityRoutes], { algorithm: 'ES256', privateKey: ec.privateKey }, {}, driver),
    ]);
  });
  after(async () => {
    await Promise.all([hs.close(), es.close()]);
    console.log(`      fuzz: ${JSON.stringify(counts)}`);
  });

  async function send(server: TestServer, token: string): Promise<{ status: number; id?: string }> {
    counts.cases++;
    const res = await server.request.get('/sec/access').set('Authorization', `Bearer ${token}`);
    if (res.status >= 500) counts.fiveHundreds++;
    if (res.status === 200) {
      counts.accepted++;
      return { status: 200, id: res.body.id };
    }
    counts.refused++;
    expectRefusal(res, token);
    return { status: res.status };
  }

  it('arbitrary strings and bytes never crash decodeToken: always a 4xx JwtError', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.array(fc.base64String(), { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.'))), async (input) => {
      counts.cases++;
      let error: unknown;
      await hs.jwt.tokens.decodeToken(input).then(() => { counts.forgeriesAccepted++; }, (e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(JwtError);
      expect((error as JwtError).status).to.be.within(400, 499);
      counts.refused++;
    }), { numRuns: 1000 });
  });

  it('arbitrary header-safe strings as the bearer token: never a 5xx, never accepted', async () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 400 });
    await fc.assert(fc.asyncProperty(printable, async (token) => {
      expect((await send(hs, token)).status).to.be.within(400, 499);
    }), { numRuns: 300 });
  });

  for (const [name, server] of [['HS256', () => hs], ['ES256', () => es]] as const) {
    it(`${name}: mutated valid tokens (bit flips, character swaps, segment swaps, re-encodings) are accepted only when unchanged`, async () => {
      const original = await server().jwt.tokens.createAccessToken('alice');
      const other = await server().jwt.tokens.createRefreshToken('mallory');
      const [h, p, s] = original.split('.');
      const segments = [h, p, s];
      const mutation = fc.oneof(
        // Flip one bit of one decoded segment and re-encode it.
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, at, bit]) => {
          const bytes = Buffer.from(segments[i], 'base64url');
          if (bytes.length > 0) bytes[at % bytes.length] ^= 1 << bit;
          return segments.map((seg, j) => (j === i ? bytes.toString('base64url') : seg)).join('.');
        }),
        // Replace one character of the token with another.
        fc.tuple(fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ')).map(([at, c]) => {
          const i = at % original.length;
          return original.slice(0, i) + c + original.slice(i + 1);
        }),
        // Swap or borrow segments between two valid tokens.
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })).map(([i, j]) => {
          const theirs = other.split('.');
          return segments.map((seg, k) => (k === i ? theirs[j] : seg)).join('.');
        }),
        // Re-encode: padding, standard base64, a changed last character, surrounding junk.
        fc.constantFrom(
          `${h}.${p}.${s}=`, `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`, `${h}=.${p}.${s}`,
          `${h}.${p}.${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`, `${h}.${p}.${s}.`, `.${h}.${p}.${s}`, `${h}.${p}`, `${h}..${s}`,
        ),
      );
      await fc.assert(fc.asyncProperty(mutation, async (token) => {
        const { status, id } = await send(server(), token);
        if (token === original) {
          expect(status).to.equal(200);
          expect(id).to.equal('alice');
        } else {
          if (status === 200) counts.forgeriesAccepted++;
          expect(status, token).to.be.within(400, 499);
        }
      }), { numRuns: 400 });
    });
  }
}));

/** Every public function that takes a token (or a session id), fed the `input` of a JSON body as it came. */
@JsonController('/input')
class TokenInputRoutes {
  @Post('/:fn')
  @HttpCode(200)
  async take(@Param('fn') fn: string, @Body() body: { input?: unknown }, @DriverObject() http: DriverContext) {
    const jwt = latest!;
    const calls: Record<string, () => Promise<unknown>> = {
      decodeToken: () => jwt.tokens.decodeToken(body.input),
      decodeExpired: () => jwt.tokens.decodeToken(body.input, { allowExpired: true }),
      revokeToken: () => jwt.revokeToken(body.input),
      revokeFamily: () => jwt.revokeFamily(body.input),
      setAccessCookies: () => jwt.setAccessCookies(http, body.input),
      setRefreshCookies: () => jwt.setRefreshCookies(http, body.input),
      revokeSession: () => jwt.revokeSession('alice', body.input as string),
      revokeAllExcept: () => jwt.revokeAllTokensFor('alice', { except: body.input as string }),
    };
    await calls[fn]();
    return { msg: 'done' };
  }
}
let latest: JwtManager | undefined;

/** Values a JSON body can hold where a token belongs, none of them a token. */
const NOT_TOKENS: unknown[] = [true, false, 0, 42, -1.5, 1e308, null, [], ['x'], [['a.b.c']], { a: 1 }, { toString: 'a.b.c' }];
const NOT_OBJECTS: unknown[] = [true, false, 0, 42, -1.5, null, [], ['x']];

describe('fuzzing: every public function that takes a token takes unknown input cleanly', () => forEachDriver(function (driver) {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startServer([TokenInputRoutes], { secretKey: SECRET, tokenLocation: ['headers', 'cookies'] }, {}, driver);
    latest = server.jwt;
  });
  after(() => server.close());

  const call = (fn: string, input: unknown) => server.request.post(`/input/${fn}`).send(input === undefined ? {} : { input });

  it('a non-string, an empty string or an over-long string: 422 { msg }, never a TypeError or a 500', async () => {
    const valid = await server.jwt.tokens.createAccessToken('alice');
    const wrapped = [[valid], { token: valid }];
    for (const fn of ['decodeToken', 'decodeExpired', 'setAccessCookies', 'setRefreshCookies']) {
      for (const input of [undefined, ...NOT_TOKENS, ...wrapped, '', 'x'.repeat(100_000)]) {
        const res = await call(fn, input);
        expect([res.status, typeof res.body.msg], `${fn}(${JSON.stringify(input)?.slice(0, 40)})`).to.deep.equal([422, 'string']);
        expect(res.headers['set-cookie'], fn).to.equal(undefined);
      }
    }
    // revokeToken and revokeFamily take verified claims too: an object is read as claims (a token without jti cannot be revoked alone).
    for (const fn of ['revokeToken', 'revokeFamily']) {
      for (const input of [undefined, ...NOT_OBJECTS, [valid], { a: 1 }, '', 'x'.repeat(100_000)]) {
        const res = await call(fn, input);
        expect([res.status, typeof res.body.msg], `${fn}(${JSON.stringify(input)?.slice(0, 40)})`).to.deep.equal([422, 'string']);
      }
    }
    for (const fn of ['revokeSession', 'revokeAllExcept']) {
      for (const input of NOT_TOKENS) {
        expect((await call(fn, input).expect(422)).body, `${fn}(${JSON.stringify(input)})`).to.deep.equal({ msg: 'Invalid session id: a session id is a string' });
      }
    }
    expect((await call('decodeToken', true)).body).to.deep.equal({ msg: 'Invalid token type: a token is a string' });
    await call('setAccessCookies', valid).expect(200);
  });

  it('claims and identities that are not: renew, rotate, sessions, revokeSession, revokeAllTokensFor reject with a JwtError, never a TypeError', async () => {
    const jwt = server.jwt;
    const throwing = { toString: () => { throw new Error('boom'); } };
    const notClaims = [undefined, null, 1, true, 'a.b.c', [], [{ sub: 'alice' }], { sub: 1 }, {}];
    const notIdentities = [undefined, null, true, NaN, Infinity, [], ['alice'], {}, throwing];
    const calls: Array<[string, () => Promise<unknown>]> = [
      ...notClaims.map((input): [string, () => Promise<unknown>] => [`renew(${String(input)})`, () => jwt.tokens.renew(input as never)]),
      ...notClaims.map((input): [string, () => Promise<unknown>] => [`rotate(${String(input)})`, () => jwt.tokens.rotate(input as never)]),
      ...notIdentities.flatMap((input): Array<[string, () => Promise<unknown>]> => [
        [`sessions(${typeof input})`, () => jwt.sessions(input as never)],
        [`revokeSession(${typeof input})`, () => jwt.revokeSession(input as never, 'id')],
        [`revokeAllTokensFor(${typeof input})`, () => jwt.revokeAllTokensFor(input as never)],
      ]),
    ];
    for (const [name, attempt] of calls) {
      let sync: unknown;
      let settled: PromiseSettledResult<unknown> | undefined;
      try {
        [settled] = await Promise.allSettled([attempt()]);
      } catch (error) {
        sync = error;
      }
      expect(sync, `${name} threw synchronously`).to.equal(undefined);
      expect(settled?.status, name).to.equal('rejected');
      const reason = (settled as PromiseRejectedResult).reason as JwtError;
      expect(reason, name).to.be.instanceOf(JwtError);
      expect(reason.httpCode, name).to.equal(422);
    }
    // Options given as null are no options.
    await jwt.revokeAllTokensFor('nobody', null as never);
    expect((await jwt.tokens.decodeToken(await jwt.tokens.createAccessToken('alice'), null as never)).sub).to.equal('alice');
  });

  it('any value that is not a string (fast-check): decodeToken, revokeToken and revokeFamily reject with a JwtError', async () => {
    const notString = fc.anything({ withBigInt: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withNullPrototype: true })
      .filter((value) => typeof value !== 'string');
    const jwt = server.jwt;
    await fc.assert(fc.asyncProperty(notString, async (input) => {
      const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
      const calls: Array<Promise<unknown>> = [jwt.tokens.decodeToken(input), jwt.tokens.decodeToken(input, { allowExpired: true })];
      if (!isObject) calls.push(jwt.revokeToken(input), jwt.revokeFamily(input));
      for (const result of await Promise.allSettled(calls)) {
        expect(result.status).to.equal('rejected');
        expect((result as PromiseRejectedResult).reason).to.be.instanceOf(JwtError);
      }
    }), { numRuns: 500 });
    for (const input of [Symbol('token'), () => 'a.b.c', undefined]) {
      const error = await jwt.tokens.decodeToken(input).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(JwtError);
    }
  });
}));

/**
 * The demo at volume: every route, bodies of every JSON shape and each field of
 * the wrong type. Nothing answers 5xx, everything answers JSON.
 */
describe('fuzzing the demo API: bad input on every route', () => forEachDriver(function (driver) {
  this.timeout(120_000);
  let demo: InProcessDemo;
  let bearer: Record<string, string>;
  before(async () => {
    // Limits high enough that the fuzzing of credentials meets the checks, not the throttle.
    demo = await startDemoInProcess(driver, { throttle: { perAccount: 1e6, perClient: 1e6 } });
    const fresh = (await demo.request.post('/fresh-login').send({ username: 'test', password: 'test' }).expect(200)).body.access_token as string;
    bearer = { Authorization: `Bearer ${fresh}` };
  });
  after(() => demo.close());

  const routes = ['/login', '/fresh-login', '/cookie/login', '/change-password', '/logout', '/refresh', '/logout-everywhere', '/whoami',
    '/cookie/refresh', '/cookie/logout', '/cookie/logout-others', '/cookie/sessions/x/end'];
  const dtoRoutes = ['/login', '/fresh-login', '/cookie/login', '/change-password'];

  async function post(path: string, body: string, authorized: boolean): Promise<{ status: number; body: unknown }> {
    // Never the session's own token on the routes that would end it.
    const headers = authorized && path === '/change-password' ? bearer : {};
    const res = await demo.request.post(path).set(headers).set('Content-Type', 'application/json').send(body);
    expect(res.status, `${path} ${body.slice(0, 80)}: ${JSON.stringify(res.body).slice(0, 200)}`).to.be.within(200, 499);
    expect(res.headers['content-type'], path).to.match(/^application\/json/);
    return res;
  }

  it('arrays, null, strings, numbers and nested values as the whole body: 400 on every DTO route, never 5xx anywhere', async () => {
    const shapes = ['[]', '[{"username":"test","password":"test"}]', '[[]]', '[1,2]', 'null', '"test"', '42', 'true', '{}', '{"a":{"b":{"c":[]}}}'];
    for (const path of routes) {
      for (const body of shapes) {
        const res = await post(path, body, true);
        if (dtoRoutes.includes(path)) expect(res.status, `${path} ${body}`).to.equal(400);
      }
    }
  });

  it('each field of the wrong type: 400 on the DTO routes, 422 or 401 for a refresh_token, never 5xx', async () => {
    const wrong: unknown[] = [true, 0, -1, 1.5, null, [], ['test'], {}, { $ne: '' }, 'x'.repeat(201), ''];
    for (const value of wrong) {
      for (const body of [{ username: value, password: 'test' }, { username: 'test', password: value }]) {
        for (const path of ['/login', '/fresh-login', '/cookie/login']) expect((await post(path, JSON.stringify(body), true)).status, `${path} ${JSON.stringify(body)}`).to.equal(400);
      }
      expect((await post('/change-password', JSON.stringify({ newPassword: value }), true)).status, JSON.stringify(value)).to.equal(400);
      expect((await post('/logout', JSON.stringify({ refresh_token: value }), false)).status, JSON.stringify(value)).to.be.oneOf([401, 422]);
    }
  });

  it('arbitrary JSON values (fast-check) on every route: never a 5xx, always a JSON answer', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 3 }), async (path, value) => {
      const res = await post(path, JSON.stringify(value), true);
      if (dtoRoutes.includes(path) && (typeof value !== 'object' || value === null || Array.isArray(value))) expect(res.status).to.equal(400);
    }), { numRuns: 300 });
  });
}));
