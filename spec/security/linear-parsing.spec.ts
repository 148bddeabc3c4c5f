import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Get, JsonController, Post, useKoaServer } from 'routing-controllers';
import fc from 'fast-check';
import { CurrentIdentity, JwtManager, JwtRequired } from '../../src';
import { urlencodedFields } from '../../src/request/body';
import { forEachDriver, getWithRawHeaders, SECRET, startServer, type TestServer } from '../helpers';

@JsonController('/linear')
class LinearRoutes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  // No @Body(): a cookie token's CSRF form field is read from the body by the library itself.
  @Post('/me') @JwtRequired() post(@CurrentIdentity() id: string) { return { id }; }
}

/**
 * The work of parsing untrusted input must grow linearly with its length.
 * Wall-clock thresholds would fail on a busy machine, so this compares the
 * process's own CPU time for a crafted input against an ordinary input of the
 * same length, at two lengths: quadratic parsing makes the crafted one cost
 * hundreds of times more, and the gap grows with the length; linear parsing
 * keeps both within a small factor of each other at every length.
 */
describe('parsing cost is linear in the input\'s length', function () {
  this.timeout(120_000);
  let server: Server;
  let url: string;

  before(async () => {
    const jwt = new JwtManager({ secretKey: SECRET, tokenLocation: ['headers', 'cookies'] });
    const app = new Koa();
    useKoaServer(app, { controllers: [LinearRoutes], authorizationChecker: jwt.authorizationChecker, currentUserChecker: jwt.currentUserChecker });
    // Room for headers far beyond node's 16 KiB default, so the library's own caps are what answers.
    server = createServer({ maxHeaderSize: 1 << 20 }, app.callback()).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** CPU microseconds (user + system, this process: client and server) for `rounds` requests with these headers. */
  async function cost(headers: Array<[string, string]>, rounds: number): Promise<number> {
    const start = process.cpuUsage();
    for (let i = 0; i < rounds; i++) {
      const res = await getWithRawHeaders(url, '/linear/me', headers);
      expect(res.status, res.body).to.be.within(400, 499);
    }
    const used = process.cpuUsage(start);
    return used.user + used.system;
  }

  /** The cheapest of several interleaved measurements of each input: noise only ever adds. */
  async function costs(inputs: Array<Array<[string, string]>>, rounds = 10, repeats = 5): Promise<number[]> {
    const best = inputs.map(() => Infinity);
    for (let r = 0; r < repeats; r++) {
      for (const [i, headers] of inputs.entries()) best[i] = Math.min(best[i], await cost(headers, rounds));
    }
    return best;
  }

  const crafted: Record<string, (n: number) => string> = {
    'Bearer + spaces': (n) => `Bearer${' '.repeat(n)}x`,
    'Bearer + tabs': (n) => `Bearer${'\t'.repeat(n)}x`,
    'spaces and commas': (n) => `Bearer x${' ,'.repeat(n / 2)}`,
    'commas and spaces, then Bearer': (n) => `${', '.repeat(n / 2)}Bearer x`,
    'Basic + spaces + comma': (n) => `Basic${' '.repeat(n)},Bearer`,
    'many short credentials': (n) => 'a b,'.repeat(n / 4),
  };

  /** Crafted against ordinary values of the same length, at each length: the ratios of their costs. */
  async function ratios(field: string, make: (n: number) => string, ordinary: (length: number) => string, lengths: number[]): Promise<number[]> {
    const found: number[] = [];
    for (const n of lengths) {
      const value = make(n);
      const [slow, normal] = await costs([[[field, value]], [[field, ordinary(value.length)]]]);
      found.push(slow / normal);
    }
    return found;
  }

  for (const [name, make] of Object.entries(crafted)) {
    it(`Authorization: ${name}`, async () => {
      const found = await ratios('Authorization', make, (length) => `Bearer ${'a'.repeat(length - 7)}`, [2_000, 8_000]);
      // Quadratic parsing costs 30× and more at 8,000 characters, growing with the length; linear, about 1×.
      expect(found.every((ratio) => ratio < 5), `cost ratios ${found.map((r) => r.toFixed(2)).join(', ')}`).to.equal(true);
    });
  }

  it('Authorization beyond the length cap is refused unread', async () => {
    const found = await ratios('Authorization', (n) => `Bearer${' '.repeat(n)}x`, (length) => `Bearer ${'a'.repeat(length - 7)}`, [100_000]);
    expect(found[0], `cost ratio ${found[0].toFixed(2)}`).to.be.below(5);
    const res = await getWithRawHeaders(url, '/linear/me', [['Authorization', `Bearer${' '.repeat(100_000)}x`]]);
    expect(JSON.parse(res.body)).to.deep.equal({ msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" });
  });

  const craftedCookies: Record<string, (n: number) => string> = {
    'separators': (n) => ' ;'.repeat(n / 2),
    'equals signs': (n) => `access_token_cookie${'='.repeat(n)}`,
    'spaces around the name': (n) => `${' '.repeat(n)}access_token_cookie ${' '.repeat(n)}= x`,
    'many cookies': (n) => 'a=b; '.repeat(n / 5),
    'quotes': (n) => `access_token_cookie="${'"'.repeat(n)}`,
    // Every copy of a name the library reads is compared with the first (cookie tossing), so the header is read to its end.
    'the token cookie, many identical copies': (n) => 'access_token_cookie=x; '.repeat(n / 23),
    'its CSRF cookie, many identical copies': (n) => `access_token_cookie=x; ${'csrf_access_token=y; '.repeat(n / 21)}`,
    'long identical copies': (n) => `access_token_cookie=${'a'.repeat(n / 4)}; `.repeat(4),
  };

  for (const [name, make] of Object.entries(craftedCookies)) {
    it(`Cookie: ${name}`, async () => {
      const found = await ratios('Cookie', make, (length) => `access_token_cookie=${'a'.repeat(length - 20)}`, [2_000, 30_000]);
      expect(found.every((ratio) => ratio < 5), `cost ratios ${found.map((r) => r.toFixed(2)).join(', ')}`).to.equal(true);
    });
  }

  it('an oversized Cookie header is refused unread', async () => {
    const res = await getWithRawHeaders(url, '/linear/me', [['Cookie', `access_token_cookie=x; pad=${'x'.repeat(70_000)}`]]);
    expect(res.status).to.equal(422);
    expect(JSON.parse(res.body)).to.deep.equal({ msg: 'Cookie header too large' });
  });

  it('durations (expiresIn, fresh): a long string is refused unread, and the error quotes only its start', async () => {
    const jwt = new JwtManager({ secretKey: SECRET });
    const crafted = [`1${' '.repeat(1_000_000)}!`, `${'1'.repeat(1_000_000)}x`, `1.${'1'.repeat(1_000_000)}.`];
    for (const duration of crafted) {
      for (const options of [{ expiresIn: duration }, { fresh: duration }]) {
        const error = await jwt.tokens.createAccessToken('alice', options).then(() => undefined, (e: unknown) => e);
        expect(error).to.be.instanceOf(TypeError);
        expect((error as TypeError).message.length).to.be.below(200);
      }
    }
    const timed = (duration: string) => {
      const start = process.cpuUsage();
      for (let i = 0; i < 20; i++) jwt.tokens.createAccessToken('alice', { expiresIn: duration }).catch(() => undefined);
      const used = process.cpuUsage(start);
      return used.user + used.system;
    };
    let best = [Infinity, Infinity];
    for (let r = 0; r < 5; r++) best = [Math.min(best[0], timed(crafted[0])), Math.min(best[1], timed('x'.repeat(crafted[0].length)))];
    expect(best[0] / best[1]).to.be.below(5);
  });
});

/** The form bodies the library reads itself for a cookie token's CSRF field (up to 64 KiB): one pass, however a name repeats. */
describe('form bodies are parsed in linear time', () => forEachDriver(function (driver) {
  this.timeout(120_000);
  let server: TestServer;
  let cookie: string;

  before(async () => {
    server = await startServer([LinearRoutes], { secretKey: SECRET, tokenLocation: ['cookies'], csrfCheckForm: true }, {}, driver);
    cookie = `access_token_cookie=${await server.jwt.tokens.createAccessToken('alice')}`;
  });
  after(() => server.close());

  /** CPU microseconds (this process: client and server) for `rounds` posts of this body; each is refused for its missing CSRF value. */
  async function cost(type: string, body: string, rounds = 5): Promise<number> {
    const start = process.cpuUsage();
    for (let i = 0; i < rounds; i++) {
      await server.request.post('/linear/me').set('Cookie', cookie).set('Content-Type', type).send(body).expect(401, { msg: 'Missing CSRF token' });
    }
    const used = process.cpuUsage(start);
    return used.user + used.system;
  }

  const boundary = 'xyz';
  const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const bodies: Record<string, { type: string; crafted: (n: number) => string; ordinary: (length: number) => string }> = {
    'urlencoded, one name repeated': { type: 'application/x-www-form-urlencoded', crafted: (n) => 'a&'.repeat(n / 2), ordinary: (length) => `a=${'b'.repeat(length - 2)}` },
    'multipart, one name repeated': {
      type: `multipart/form-data; boundary=${boundary}`,
      crafted: (n) => `${part('a', '').repeat(Math.floor(n / part('a', '').length))}--${boundary}--`,
      ordinary: (length) => `${part('a', 'b'.repeat(length - part('a', '').length - boundary.length - 4))}--${boundary}--`,
    },
  };

  for (const [name, { type, crafted, ordinary }] of Object.entries(bodies)) {
    it(name, async () => {
      const found: number[] = [];
      for (const n of [8_000, 50_000]) {
        const body = crafted(n);
        let best = [Infinity, Infinity];
        for (let r = 0; r < 5; r++) best = [Math.min(best[0], await cost(type, body)), Math.min(best[1], await cost(type, ordinary(body.length)))];
        found.push(best[0] / best[1]);
      }
      // Gathering a repeated name's values by copying them all each time cost seconds at 50 KB: hundreds of times the ordinary body.
      expect(found.every((ratio) => ratio < 5), `cost ratios ${found.map((r) => r.toFixed(2)).join(', ')}`).to.equal(true);
    });
  }
}));

/** The urlencoded reader is its own one-pass parser (Node 24's URLSearchParams is quadratic on `a&a&…`), so it must read what the WHATWG parser reads. */
describe('the urlencoded form reader', () => {
  /**
   * URLSearchParams' reading of the body as text, repeated names gathered as the
   * library gathers them. Its input is made ASCII first (every byte from 0x80 as
   * %XX, which the parser decodes to the same byte): node's URLSearchParams
   * decodes a pair holding both a literal non-ASCII character and a %XX byte
   * unlike the WHATWG parser (`é%A9` gives one U+FFFD, the 'é' lost).
   */
  function reference(body: Buffer): Record<string, string | string[]> {
    const ascii = [...Buffer.from(body.toString('utf8'))].map((byte) => (byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16)}`)).join('');
    const fields: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of new URLSearchParams(ascii)) {
      const seen = fields[name];
      fields[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    return fields;
  }

  it('reads every body as the WHATWG urlencoded parser: separators, +, %XX, bad escapes, invalid UTF-8 (fast-check)', () => {
    // Bytes that matter to the parser, hex digits of both cases, and UTF-8 lead, continuation and invalid bytes.
    const alphabet = [...Buffer.from('&=+%aAfF09gz ?;'), 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0x00];
    const body = fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }).map((bytes) => Buffer.from(bytes));
    fc.assert(fc.property(body, (bytes) => {
      expect(urlencodedFields(bytes)).to.deep.equal(reference(bytes));
    }), { numRuns: 3_000 });
    const examples: Record<string, Record<string, string | string[]>> = {
      '': {}, '&&': {}, '=': { '': '' }, '?a': { a: '' }, 'a=b=c': { a: 'b=c' }, 'a%3Db=c': { 'a=b': 'c' }, '%zz=%4': { '%zz': '%4' },
      '%e2%82%ac=%C3%A9+x': { '€': 'é x' }, 'é%A9': { 'é\ufffd': '' }, 'csrf_token=1&csrf_token=2&csrf_token=3': { csrf_token: ['1', '2', '3'] },
    };
    for (const [text, fields] of Object.entries(examples)) expect({ ...urlencodedFields(Buffer.from(text)) }, text).to.deep.equal(fields);
  });
});
