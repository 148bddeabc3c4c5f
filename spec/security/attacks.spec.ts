import { expect } from 'chai';
import { JwtManager } from '../../src';
import { forEachDriver, getWithRawHeaders, SECRET, startServer, type TestServer } from '../helpers';
import { claims, ec, ecPem, expectRefusal, nowSeconds, rsa, rsaPem, SecurityRoutes, signRaw } from './support';
import { toLowS } from '../../src/ecdsa';

/** The attack catalogue: one test each, over HTTP against real servers. */
describe('attack catalogue', () => forEachDriver(function (driver) {
  this.timeout(20_000);
  let hs: TestServer;
  let rs: TestServer;
  let es: TestServer;
  let ring: TestServer;
  let strict: TestServer;
  let attacks = 0;

  before(async () => {
    [hs, rs, es, ring, strict] = await Promise.all([
      startServer([SecurityRoutes], { secretKey: SECRET }, {}, driver),
      startServer([SecurityRoutes], { algorithm: 'RS256', privateKey: rsa.privateKey }, {}, driver),
      startServer([SecurityRoutes], { algorithm: 'ES256', privateKey: ec.privateKey }, {}, driver),
      startServer([SecurityRoutes], { keys: [{ kid: 'k1', algorithm: 'HS256', secretKey: SECRET }] }, {}, driver),
      startServer([SecurityRoutes], { secretKey: SECRET, decodeAudience: 'expected-audience', decodeIssuer: 'https://issuer.example', encodeAudience: 'expected-audience', encodeIssuer: 'https://issuer.example' }, {}, driver),
    ]);
  });
  after(async () => {
    await Promise.all([hs, rs, es, ring, strict].map((s) => s.close()));
    console.log(`      attacks tried: ${attacks}`);
  });

  async function attack(server: TestServer, token: string, status: number, msg?: string | RegExp, route = '/sec/access'): Promise<void> {
    attacks++;
    const req = route.endsWith('refresh') ? server.request.post(route) : server.request.get(route);
    expectRefusal(await req.set('Authorization', `Bearer ${token}`), token, status, msg);
  }

  describe('alg none', () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      it(`"${alg}", empty and junk signatures, against HS, RS and ES configurations`, async () => {
        for (const server of [hs, rs, es]) {
          const unsigned = `${signRaw({ alg, typ: 'JWT' }, claims(), 'HS256', SECRET).split('.').slice(0, 2).join('.')}`;
          await attack(server, `${unsigned}.`, 422, 'The specified alg value is not allowed');
          await attack(server, `${unsigned}.AAAA`, 422, 'The specified alg value is not allowed');
        }
      });
    }
  });

  describe('algorithm confusion', () => {
    for (const [name, server, pem] of [['RSA', () => rs, rsaPem], ['EC', () => es, ecPem]] as const) {
      for (const [variant, secret] of [['as is', pem], ['trailing newline', `${pem}\n`], ['leading space', ` ${pem}`], ['BOM', `\uFEFF${pem}`], ['CRLF', pem.replace(/\n/g, '\r\n')]] as const) {
        it(`HS256 MACed with the ${name} public key PEM (${variant}) against its ${name} configuration`, async () => {
          await attack(server(), signRaw({ alg: 'HS256', typ: 'JWT' }, claims(), 'HS256', secret), 422, 'The specified alg value is not allowed');
        });
      }
    }

    it('an RS256 token against an HS256 configuration', async () => {
      await attack(hs, signRaw({ alg: 'RS256' }, claims(), 'RS256', rsa.privateKey), 422, 'The specified alg value is not allowed');
    });

    it('an ES256 token signed by another key against the ES256 configuration', async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const token = signRaw({ alg: 'ES256' }, claims(), 'ES256', other.privateKey);
      const [h, p, s] = token.split('.');
      await attack(es, `${h}.${p}.${toLowS('ES256', Buffer.from(s, 'base64url')).toString('base64url')}`, 422, 'Signature verification failed');
    });
  });

  describe('kid', () => {
    const cases: Array<[string, unknown, string]> = [
      ['path traversal', '../../../../etc/passwd', 'Invalid "kid" header'],
      ['SQL-ish', "k1' UNION SELECT 'secret", 'Invalid "kid" header'],
      ['URL', 'https://evil.example/key.pem', 'Invalid "kid" header'],
      ['unknown', 'k2', 'Unknown "kid"'],
      ['not a string', { $ne: null }, 'Invalid "kid" header'],
    ];
    for (const [name, kid, msg] of cases) {
      it(`${name}`, async () => {
        await attack(ring, signRaw({ alg: 'HS256', kid }, claims(), 'HS256', SECRET), 422, msg);
      });
    }
    it('10 kB', async () => {
      await attack(ring, signRaw({ alg: 'HS256', kid: 'k'.repeat(10_000) }, claims(), 'HS256', SECRET), 422, 'Token is too long');
    });
  });

  describe('keys embedded by the attacker are never used', () => {
    it('jwk header with the attacker\'s own public key', async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = attacker.publicKey.export({ format: 'jwk' });
      await attack(rs, signRaw({ alg: 'RS256', jwk }, claims(), 'RS256', attacker.privateKey), 422, 'Signature verification failed');
    });
    for (const header of ['jku', 'x5u']) {
      it(`${header} header pointing at the attacker`, async () => {
        const { generateKeyPairSync } = await import('node:crypto');
        const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
        await attack(rs, signRaw({ alg: 'RS256', [header]: 'https://evil.example/keys' }, claims(), 'RS256', attacker.privateKey), 422, 'Signature verification failed');
      });
    }
    it('x5c header with the attacker\'s certificate chain', async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await attack(rs, signRaw({ alg: 'RS256', x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A'] }, claims(), 'RS256', attacker.privateKey), 422, 'Signature verification failed');
    });
  });

  it('crit header naming an extension', async () => {
    await attack(hs, signRaw({ alg: 'HS256', crit: ['exp'], exp: 1 }, claims(), 'HS256', SECRET), 422, 'Unsupported critical header parameter');
  });

  describe('duplicate names', () => {
    it('duplicate claims {"sub":"alice","sub":"admin"}', async () => {
      const payload = JSON.stringify(claims()).replace('"sub":"alice"', '"sub":"alice","sub":"admin"');
      await attack(hs, signRaw({ alg: 'HS256' }, payload, 'HS256', SECRET), 422, 'Duplicate member name in payload');
    });
    it('duplicate names written differently ("sub" and "\\u0073ub")', async () => {
      const payload = JSON.stringify(claims()).replace('"sub":"alice"', '"sub":"alice","\\u0073ub":"admin"');
      await attack(hs, signRaw({ alg: 'HS256' }, payload, 'HS256', SECRET), 422, 'Duplicate member name in payload');
    });
    it('duplicate header parameters {"alg":"HS256","alg":"none"}', async () => {
      await attack(hs, signRaw('{"alg":"HS256","alg":"HS256"}', claims(), 'HS256', SECRET), 422, 'Duplicate member name in header');
    });
  });

  describe('non-object payloads', () => {
    for (const payload of ['"alice"', '42', '[{"sub":"alice"}]', 'null', 'true', '']) {
      it(`payload ${payload || '(empty)'}`, async () => {
        await attack(hs, signRaw({ alg: 'HS256' }, payload, 'HS256', SECRET), 422, 'Invalid payload string');
      });
    }
  });

  describe('exp', () => {
    const cases: Array<[string, string, number, string]> = [
      ['a string', '"exp":"9999999999"', 422, 'Expiration Time claim (exp) must be a number'],
      ['NaN (not JSON)', '"exp":NaN', 422, 'Invalid payload string'],
      ['1e309 (Infinity)', '"exp":1e309', 422, 'Expiration Time claim (exp) must be a number'],
      ['negative', '"exp":-1', 422, 'Expiration Time claim (exp) is out of range'],
      ['in milliseconds', `"exp":${Date.now() + 600_000}`, 422, 'Expiration Time claim (exp) is out of range'],
      ['an array', '"exp":[9999999999]', 422, 'Expiration Time claim (exp) must be a number'],
    ];
    for (const [name, replacement, status, msg] of cases) {
      it(name, async () => {
        const payload = JSON.stringify(claims()).replace(/"exp":\d+/, replacement);
        await attack(hs, signRaw({ alg: 'HS256' }, payload, 'HS256', SECRET), status, msg);
      });
    }
    it('missing', async () => {
      await attack(hs, signRaw({ alg: 'HS256' }, claims({ exp: undefined }), 'HS256', SECRET), 422, 'Token is missing the "exp" claim');
    });
    it('passed', async () => {
      await attack(hs, signRaw({ alg: 'HS256' }, claims({ exp: nowSeconds() - 1 }), 'HS256', SECRET), 401, 'Token has expired');
    });
  });

  it('future nbf', async () => {
    await attack(hs, signRaw({ alg: 'HS256' }, claims({ nbf: nowSeconds() + 3600 }), 'HS256', SECRET), 422, 'The token is not yet valid (nbf)');
  });

  it('future iat (a day ahead)', async () => {
    await attack(hs, signRaw({ alg: 'HS256' }, claims({ iat: nowSeconds() + 86400 }), 'HS256', SECRET), 422, 'The token is not yet valid (iat)');
  });

  describe('audience and issuer (never echoing the expected values)', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['wrong audience', { aud: 'other', iss: 'https://issuer.example' }, 'Invalid audience'],
      ['missing audience', { iss: 'https://issuer.example' }, 'Token is missing the "aud" claim'],
      ['wrong issuer', { aud: 'expected-audience', iss: 'https://evil.example' }, 'Invalid issuer'],
      ['missing issuer', { aud: 'expected-audience' }, 'Token is missing the "iss" claim'],
      ['audience of the wrong type', { aud: { any: true }, iss: 'https://issuer.example' }, 'Invalid claim format in token'],
    ];
    for (const [name, overrides, msg] of cases) {
      it(name, async () => {
        await attack(strict, signRaw({ alg: 'HS256' }, claims(overrides), 'HS256', SECRET), 422, msg);
      });
    }
  });

  describe('token type swaps', () => {
    it('a refresh token on an access route', async () => {
      await attack(hs, await hs.jwt.tokens.createRefreshToken('alice'), 422, 'Only non-refresh tokens are allowed');
    });
    it('an access token on a refresh route', async () => {
      await attack(hs, await hs.jwt.tokens.createAccessToken('alice'), 422, 'Only refresh tokens are allowed', '/sec/refresh');
    });
    it('a token of an unknown type', async () => {
      await attack(hs, signRaw({ alg: 'HS256' }, claims({ type: 'id' }), 'HS256', SECRET), 422, 'Invalid claim: type');
    });
  });

  describe("a revoked token's twins stay refused", () => {
    function highS(token: string): string {
      const [h, p, s] = token.split('.');
      const low = toLowS('ES256', Buffer.from(s, 'base64url'));
      const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
      const high = n - BigInt(`0x${low.subarray(32).toString('hex')}`);
      Buffer.from(high.toString(16).padStart(64, '0'), 'hex').copy(low, 32);
      return `${h}.${p}.${low.toString('base64url')}`;
    }

    it('the high-s twin (refused as non-canonical where allowHighS is false; revoked where high s is allowed, the default)', async () => {
      const canonical = await startServer([SecurityRoutes], { algorithm: 'ES256', privateKey: ec.privateKey, allowHighS: false }, {}, driver);
      try {
        const token = await canonical.jwt.tokens.createAccessToken('alice');
        await canonical.request.get('/sec/access').set('Authorization', `Bearer ${token}`).expect(200);
        await canonical.jwt.revokeToken(token);
        await attack(canonical, token, 401, 'Token has been revoked');
        await attack(canonical, highS(token), 422, 'Non-canonical signature (high S)');
      } finally {
        await canonical.close();
      }
      const lenient = await startServer([SecurityRoutes], { algorithm: 'ES256', privateKey: ec.privateKey, allowHighS: true }, {}, driver);
      try {
        const other = await lenient.jwt.tokens.createAccessToken('alice');
        await lenient.request.get('/sec/access').set('Authorization', `Bearer ${highS(other)}`).expect(200);
        await lenient.jwt.revokeToken(other);
        await attack(lenient, highS(other), 401, 'Token has been revoked');
      } finally {
        await lenient.close();
      }
    });

    it('the non-canonical base64url twin (same bytes, different last character)', async () => {
      const token = await hs.jwt.tokens.createAccessToken('alice');
      await hs.jwt.revokeToken(token);
      // 32 signature bytes: 43 characters whose last one carries 2 unused bits; setting one keeps the bytes.
      const last = token[token.length - 1];
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const twin = token.slice(0, -1) + alphabet[alphabet.indexOf(last) | 1];
      expect(twin).not.to.equal(token);
      expect(Buffer.from(twin.split('.')[2], 'base64url')).to.deep.equal(Buffer.from(token.split('.')[2], 'base64url'));
      await attack(hs, twin, 422, 'Invalid token encoding');
      await attack(hs, token, 401, 'Token has been revoked');
    });

    it('padding and standard-base64 re-encodings', async () => {
      const token = await hs.jwt.tokens.createAccessToken('alice');
      const [h, p, s] = token.split('.');
      await attack(hs, `${h}.${p}.${s}=`, 422, 'Invalid token encoding');
      await attack(hs, `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`, 422, /Invalid token encoding|Too many segments/);
      await attack(hs, `${h}==.${p}.${s}`, 422, 'Invalid token encoding');
    });
  });

  describe('size', () => {
    it('a 9 KB token over HTTP', async () => {
      await attack(hs, signRaw({ alg: 'HS256' }, claims({ pad: 'x'.repeat(6800) }), 'HS256', SECRET), 422, 'Token is too long');
    });
    it('a 20 KB token over HTTP (the server refuses the header itself)', async () => {
      await attack(hs, signRaw({ alg: 'HS256' }, claims({ pad: 'x'.repeat(15_000) }), 'HS256', SECRET), 431);
    });
    it('a smaller cap when configured', async () => {
      const small = new JwtManager({ secretKey: SECRET, maxTokenLength: 100 });
      let error: unknown;
      await small.tokens.decodeToken(await small.tokens.createAccessToken('alice')).catch((e: unknown) => { error = e; });
      expect(error).to.have.property('message', 'Token is too long');
    });
  });

  describe('the Authorization header itself', () => {
    it('two Authorization headers', async () => {
      attacks++;
      const token = await hs.jwt.tokens.createAccessToken('alice');
      const res = await getWithRawHeaders(hs.url, '/sec/access', [['Authorization', `Bearer ${token}`], ['Authorization', `Bearer ${token}`]]);
      expect(res.status).to.equal(422);
      expect(JSON.parse(res.body)).to.deep.equal({ msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" });
    });
    it('Bearer a b', async () => {
      attacks++;
      expectRefusal(await hs.request.get('/sec/access').set('Authorization', 'Bearer a b'), undefined, 422, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'");
    });
    it('a token in the query string is not echoed by any error', async () => {
      attacks++;
      const token = await hs.jwt.tokens.createRefreshToken('alice');
      const res = await hs.request.get(`/sec/access?jwt=${token}`).set('Authorization', `Bearer ${token}`);
      expectRefusal(res, token, 422);
    });
  });
}));
