import { expect } from 'chai';
import fc from 'fast-check';
import { JwtError } from '../../src';
import { forEachDriver, SECRET, startServer, type TestServer } from '../helpers';
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
