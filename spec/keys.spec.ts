import { createHmac, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, KeyObject, randomBytes, sign, type JsonWebKey } from 'node:crypto';
import { expect } from 'chai';
import { createLocalJWKSet, exportJWK, jwtVerify, SignJWT } from 'jose';
import { Get, JsonController, Post } from 'routing-controllers';
import {
  ALGORITHMS, CurrentIdentity, JwtDecodeError, JwtManager, JwtRequired, TokenIssueError,
  type Algorithm, type CallbackErrorHandler, type Jwk, type JwtConfig, type KeyMaterial,
} from '../src';
import { accessClaims, b64, forEachDriver, SECRET, startServer, type TestServer } from './helpers';
import {
  CERTIFICATE_DER, keyMaterialForms, oddNumber, privateKeyRefusal, pssPublicKey, READS_UNCHECKED_RSA_KEYS, rsaPrivateJwk, rsaPublicJwk,
} from './key-material';

function keyPairFor(alg: Algorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg.startsWith('ES')) {
    return generateKeyPairSync('ec', { namedCurve: { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[alg as 'ES256'] });
  }
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** An RSA-PSS key pair, restricted to `hash` for hash, MGF1 and a salt as long as the hash when given. */
function pssKeyPair(hash?: string): { privateKey: KeyObject; publicKey: KeyObject } {
  // @types/node types saltLength as a string; node takes the number of bytes.
  const restriction = hash === undefined ? {} : { hashAlgorithm: hash, mgf1HashAlgorithm: hash, saltLength: (Number(hash.slice(3)) / 8) as unknown as string };
  return generateKeyPairSync('rsa-pss', { modulusLength: 2048, ...restriction });
}

function configFor(alg: Algorithm): JwtConfig {
  return alg.startsWith('HS') ? { algorithm: alg, secretKey: SECRET } : { algorithm: alg, privateKey: keyPairFor(alg).privateKey };
}

async function rejects(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/**
 * Flips one bit near the start of a segment (0 header, 1 payload, 2 signature),
 * keeping it canonical base64url; in an ES signature that is in r, so the
 * result is a wrong signature, not a high-s one.
 */
function tamper(token: string, segment: number): string {
  const parts = token.split('.');
  const bytes = Buffer.from(parts[segment], 'base64url');
  bytes[1] ^= 0x01;
  parts[segment] = bytes.toString('base64url');
  return parts.join('.');
}

@JsonController()
class Protected {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
}

describe('keys', () => {
  describe('every algorithm: sign → verify round trip, tampering refused', () => {
    for (const alg of ALGORITHMS) {
      it(alg, async () => {
        const jwt = new JwtManager(configFor(alg));
        const token = await jwt.tokens.createAccessToken('alice');
        expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg).to.equal(alg);
        expect(await jwt.tokens.decodeToken(token)).to.include({ sub: 'alice' });
        expect(await rejects(jwt.tokens.decodeToken(tamper(token, 1)))).to.be.instanceOf(JwtDecodeError);
        expect(await rejects(jwt.tokens.decodeToken(tamper(token, 2)))).to.have.property('message', 'Signature verification failed');
      });
    }
  });

  it('keys given as PEM strings work like KeyObjects', async () => {
    const { privateKey, publicKey } = keyPairFor('ES256');
    const pemSigner = new JwtManager({ algorithm: 'ES256', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string });
    const pemVerifier = new JwtManager({ algorithm: 'ES256', publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string });
    expect(await pemVerifier.tokens.decodeToken(await pemSigner.tokens.createAccessToken('alice'))).to.include({ sub: 'alice' });
    expect(await rejects(pemVerifier.tokens.createAccessToken('x'))).to.match(/only verifies/);
  });

  describe('algorithm confusion is impossible', () => {
    const rsa = keyPairFor('RS256');
    const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const ec = keyPairFor('ES256');
    const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;

    const macWith = (alg: string, secret: string | Buffer) => {
      const input = `${b64({ alg, typ: 'JWT' })}.${b64({ sub: 'admin', type: 'access', exp: Math.floor(Date.now() / 1000) + 60 })}`;
      return `${input}.${createHmac(`sha${alg.slice(2)}`, secret).update(input).digest('base64url')}`;
    };

    for (const [name, config, pem] of [
      ['RS256', { algorithm: 'RS256', publicKey: rsaPem }, rsaPem],
      ['ES256', { algorithm: 'ES256', publicKey: ecPem }, ecPem],
    ] as const) {
      it(`an HS256 token MACed with the ${name} public key PEM is refused (also with whitespace and BOM)`, async () => {
        const jwt = new JwtManager(config as JwtConfig);
        for (const secret of [pem, `${pem}\n`, ` ${pem}`, `\uFEFF${pem}`, Buffer.from(pem)]) {
          const error = await rejects(jwt.tokens.decodeToken(macWith('HS256', secret)));
          expect(error).to.be.instanceOf(JwtDecodeError).with.property('message', 'The specified alg value is not allowed');
        }
      });
    }

    it('even when HS256 is accepted too, the RSA key never serves as its secret', async () => {
      const jwt = new JwtManager({ algorithm: 'RS256', privateKey: rsa.privateKey, decodeAlgorithms: ['RS256', 'HS256'], secretKey: SECRET });
      expect(await rejects(jwt.tokens.decodeToken(macWith('HS256', rsaPem)))).to.have.property('message', 'Signature verification failed');
      expect(await jwt.tokens.decodeToken(macWith('HS256', SECRET))).to.include({ sub: 'admin' });
    });

    it('a decodeKeyLoader returning an RSA or EC key for an HS256 token is refused, not used as secret: PEM, or DER in any form', async () => {
      const forms: Array<[string, string | Buffer]> = [
        ['RSA PEM', rsaPem],
        ['RSA SPKI DER', rsa.publicKey.export({ type: 'spki', format: 'der' })],
        ['RSA PKCS#1 DER', rsa.publicKey.export({ type: 'pkcs1', format: 'der' })],
        ['EC SPKI DER', ec.publicKey.export({ type: 'spki', format: 'der' })],
        ['RSA PKCS#8 DER (private)', rsa.privateKey.export({ type: 'pkcs8', format: 'der' })],
      ];
      for (const [name, material] of forms) {
        const jwt = new JwtManager({ algorithm: 'RS256', publicKey: rsa.publicKey, decodeAlgorithms: ['RS256', 'HS256'], decodeKeyLoader: () => material });
        expect(await rejects(jwt.tokens.decodeToken(macWith('HS256', material))), name).to.have.property('message', 'The specified alg value is not allowed');
        expect(() => new JwtManager({ secretKey: material }), name).to.throw(/PEM key|DER-encoded key/);
      }
    });

    it('an RS256 token is refused by an HS256 configuration', async () => {
      const rs = new JwtManager({ algorithm: 'RS256', privateKey: rsa.privateKey });
      const hs = new JwtManager({ secretKey: SECRET });
      expect(await rejects(hs.tokens.decodeToken(await rs.tokens.createAccessToken('a')))).to.have.property('message', 'The specified alg value is not allowed');
    });
  });

  describe('key ring', () => {
    const october = keyPairFor('ES256');
    const november = keyPairFor('ES256');
    const legacyRsa = keyPairFor('RS256');

    it('signs with the first key and puts its kid in the header', async () => {
      const jwt = new JwtManager({ keys: [{ kid: '2026-11', algorithm: 'ES256', privateKey: november.privateKey }, { kid: '2026-10', algorithm: 'ES256', publicKey: october.publicKey }] });
      const token = await jwt.tokens.createAccessToken('alice');
      expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).to.deep.equal({ alg: 'ES256', typ: 'JWT', kid: '2026-11' });
      expect(await rejects(jwt.tokens.createAccessToken('a', { additionalHeaders: { kid: 'other' } }))).to.be.instanceOf(TypeError);
    });

    it('rotation keeps tokens of the previous key valid until they expire', async () => {
      const before = new JwtManager({ keys: [{ kid: '2026-10', algorithm: 'ES256', privateKey: october.privateKey }] });
      const oldToken = await before.tokens.createAccessToken('alice');
      // Step 1: publish the new key (verifies, does not sign yet). Step 2: it signs; the old one only verifies.
      const publishing = new JwtManager({ keys: [{ kid: '2026-10', algorithm: 'ES256', privateKey: october.privateKey }, { kid: '2026-11', algorithm: 'ES256', privateKey: november.privateKey }] });
      expect(publishing.jwks().keys.map((k) => k.kid)).to.deep.equal(['2026-10', '2026-11']);
      const after = new JwtManager({ keys: [{ kid: '2026-11', algorithm: 'ES256', privateKey: november.privateKey }, { kid: '2026-10', algorithm: 'ES256', publicKey: october.publicKey }] });
      const newToken = await after.tokens.createAccessToken('bob');
      expect(await after.tokens.decodeToken(oldToken)).to.include({ sub: 'alice' });
      expect(await after.tokens.decodeToken(newToken)).to.include({ sub: 'bob' });
      expect(await publishing.tokens.decodeToken(newToken)).to.include({ sub: 'bob' });
      // Step 3: the old key is retired; its tokens are refused.
      const retired = new JwtManager({ keys: [{ kid: '2026-11', algorithm: 'ES256', privateKey: november.privateKey }] });
      expect(await rejects(retired.tokens.decodeToken(oldToken))).to.have.property('message', 'Unknown "kid"');
    });

    it('mixes algorithms, each key verifying only with its own', async () => {
      const jwt = new JwtManager({ keys: [
        { kid: 'ec', algorithm: 'ES256', privateKey: november.privateKey },
        { kid: 'rsa', algorithm: 'RS256', publicKey: legacyRsa.publicKey },
        { kid: 'hmac', algorithm: 'HS256', secretKey: SECRET },
      ] });
      const rsaToken = await new SignJWT({ type: 'access' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa' }).setSubject('r').setExpirationTime('1m').sign(legacyRsa.privateKey);
      expect(await jwt.tokens.decodeToken(rsaToken)).to.include({ sub: 'r' });
      const hmacToken = await new SignJWT({ type: 'access' }).setProtectedHeader({ alg: 'HS256', kid: 'hmac' }).setSubject('h').setExpirationTime('1m').sign(new TextEncoder().encode(SECRET));
      expect(await jwt.tokens.decodeToken(hmacToken)).to.include({ sub: 'h' });
      // The RSA key's kid with an HMAC made of its PEM: refused by the kid's own algorithm.
      const confused = await new SignJWT({ type: 'access' }).setProtectedHeader({ alg: 'HS256', kid: 'rsa' }).setSubject('x').setExpirationTime('1m')
        .sign(new TextEncoder().encode(legacyRsa.publicKey.export({ type: 'spki', format: 'pem' }) as string));
      expect(await rejects(jwt.tokens.decodeToken(confused))).to.have.property('message', 'The specified alg value is not allowed');
    });

    it('looks a kid up among the configured keys only: unknown, traversal, SQL-ish, huge and missing kids are a clean 422', async () => {
      const server = await startServer([Protected], { keys: [{ kid: 'k1', algorithm: 'HS256', secretKey: SECRET }] });
      try {
        const sign = (header: Record<string, unknown>) => {
          const input = `${b64({ alg: 'HS256', ...header })}.${b64({ sub: 'a', exp: Math.floor(Date.now() / 1000) + 60 })}`;
          return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
        };
        const cases: Array<[Record<string, unknown>, string]> = [
          [{ kid: 'k2' }, 'Unknown "kid"'],
          [{ kid: '../../../../dev/null' }, 'Invalid "kid" header'],
          [{ kid: "k1' OR '1'='1" }, 'Invalid "kid" header'],
          [{ kid: 'k'.repeat(5_000) }, 'Invalid "kid" header'],
          [{ kid: 42 }, 'Invalid "kid" header'],
          [{}, 'Missing "kid" header'],
        ];
        for (const [header, msg] of cases) {
          const res = await server.request.get('/me').set('Authorization', `Bearer ${sign(header)}`);
          expect(res.status, msg).to.equal(422);
          expect(res.body).to.deep.equal({ msg });
        }
        await server.request.get('/me').set('Authorization', `Bearer ${sign({ kid: 'k1' })}`).expect(200);
      } finally {
        await server.close();
      }
    });

    it('refuses bad rings at construction', () => {
      expect(() => new JwtManager({ keys: [] })).to.throw(/at least one key/);
      expect(() => new JwtManager({ keys: [{ kid: 'a/b', algorithm: 'HS256', secretKey: SECRET }] })).to.throw(/`kid` must be/);
      expect(() => new JwtManager({ keys: [{ kid: 'a', algorithm: 'HS256', secretKey: SECRET }, { kid: 'a', algorithm: 'HS256', secretKey: SECRET }] })).to.throw(/appears twice/);
      expect(() => new JwtManager({ keys: [{ kid: 'a', algorithm: 'ES256', publicKey: legacyRsa.publicKey }] })).to.throw(/keys\[0\].*ES256 needs an EC key/);
      expect(() => new JwtManager({ keys: [{ kid: 'a', algorithm: 'RS256', secretKey: SECRET }] })).to.throw(/not `secretKey`/);
      expect(() => new JwtManager({ keys: [{ kid: 'a', algorithm: 'HS256', secretKey: SECRET }], secretKey: SECRET })).to.throw(/`keys` replaces `secretKey`/);
    });
  });

  describe('jwks()', () => {
    it('holds the public keys only, and jose verifies our tokens against it', async () => {
      const ec = keyPairFor('ES384');
      const rsa = keyPairFor('PS256');
      const jwt = new JwtManager({ keys: [
        { kid: 'ec-1', algorithm: 'ES384', privateKey: ec.privateKey },
        { kid: 'rsa-1', algorithm: 'PS256', privateKey: rsa.privateKey },
        { kid: 'mac-1', algorithm: 'HS512', secretKey: createSecretKey(randomBytes(64)) },
      ] });
      const jwks = jwt.jwks();
      expect(jwks.keys.map((k) => [k.kid, k.alg, k.kty, k.use])).to.deep.equal([['ec-1', 'ES384', 'EC', 'sig'], ['rsa-1', 'PS256', 'RSA', 'sig']]);
      for (const key of jwks.keys) expect(key).not.to.have.any.keys('d', 'p', 'q', 'dp', 'dq', 'qi', 'k');
      expect(jwks.keys[0]).to.deep.include(await exportJWK(ec.publicKey));
      const token = await jwt.tokens.createAccessToken('alice');
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(JSON.parse(JSON.stringify(jwks))));
      expect(protectedHeader.kid).to.equal('ec-1');
      expect(payload).to.include({ sub: 'alice' });
    });

    it('exports RSA-PSS keys as RSA JWKs that verify their PS tokens, also over a JWKS route', async () => {
      for (const alg of ['PS256', 'PS384', 'PS512'] as const) {
        const pss = pssKeyPair(`sha${alg.slice(2)}`);
        const jwt = new JwtManager({ keys: [{ kid: `pss-${alg}`, algorithm: alg, privateKey: pss.privateKey }] });
        const jwks = jwt.jwks();
        expect(jwks.keys).to.have.length(1);
        expect(jwks.keys[0]).to.include({ kty: 'RSA', kid: `pss-${alg}`, alg, use: 'sig', e: 'AQAB' });
        expect(jwks.keys[0]).not.to.have.any.keys('d', 'p', 'q', 'dp', 'dq', 'qi');
        const token = await jwt.tokens.createAccessToken('alice');
        const { payload } = await jwtVerify(token, createLocalJWKSet(JSON.parse(JSON.stringify(jwks))));
        expect(payload).to.include({ sub: 'alice' });
      }
      const pss = pssKeyPair('sha256');
      @JsonController()
      class Keys {
        @Get('/jwks') keys() { return server.jwt.jwks(); }
      }
      const server = await startServer([Keys], { algorithm: 'PS256', privateKey: pss.privateKey });
      try {
        const res = await server.request.get('/jwks').expect(200);
        expect(res.body.keys[0]).to.include({ kty: 'RSA', alg: 'PS256' });
      } finally {
        await server.close();
      }
    });

    it('refuses at construction RSA-PSS keys whose own restrictions do not fit the algorithm', () => {
      const unrestricted = pssKeyPair();
      const sha256 = pssKeyPair('sha256');
      expect(() => new JwtManager({ algorithm: 'PS256', privateKey: unrestricted.privateKey })).to.throw(/PS256 with an RSA-PSS key needs the key restricted to sha256/);
      expect(() => new JwtManager({ algorithm: 'PS384', privateKey: sha256.privateKey })).to.throw(/PS384 with an RSA-PSS key needs the key restricted to sha384/);
      expect(() => new JwtManager({ algorithm: 'PS256', publicKey: unrestricted.publicKey })).to.throw(/RSA-PSS/);
    });

    it('of an HMAC-only configuration is empty', () => {
      expect(new JwtManager({ secretKey: SECRET }).jwks()).to.deep.equal({ keys: [] });
    });
  });

  describe('key loaders', () => {
    it('encodeKeyLoader and decodeKeyLoader (async) choose keys per token', async () => {
      const tenants: Record<string, string> = { alice: `${SECRET}-alice`, bob: `${SECRET}-bob` };
      const jwt = new JwtManager({
        encodeKeyLoader: async (identity) => tenants[identity],
        decodeKeyLoader: async (_header, claims) => tenants[claims.sub as string] ?? `${SECRET}-nobody`,
      });
      const alice = await jwt.tokens.createAccessToken('alice');
      expect(await jwt.tokens.decodeToken(alice)).to.include({ sub: 'alice' });
      const mac = (payload: object, secret: string) => {
        const input = `${b64({ alg: 'HS256' })}.${b64(payload)}`;
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      };
      // Alice's token claiming to be Bob's is checked with Bob's key.
      expect(await rejects(jwt.tokens.decodeToken(mac({ sub: 'bob' }, tenants.alice)))).to.have.property('message', 'Signature verification failed');
    });
  });
});

describe('RSA key bounds', () => {
  const big = rsaPublicJwk(16384);
  // The issue's key: a 3072-bit modulus with a 3071-bit public exponent.
  const hugeExponent = rsaPublicJwk(3072, oddNumber(3071));
  const asPem = (jwk: Jwk) => createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  const asKeyObject = (jwk: Jwk) => createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });

  it('refuses a modulus above 8192 bits by default: as publicKey in every form, as privateKey, in a ring, for RS and PS', () => {
    for (const [form, publicKey] of [['JWK', big], ['PEM', asPem(big)], ['PEM Buffer', Buffer.from(asPem(big))], ['KeyObject', asKeyObject(big)]] as const) {
      expect(() => new JwtManager({ algorithm: 'RS256', publicKey }), form).to.throw(/`publicKey` is an RSA key of 16384 bits; at most 8192 are accepted \(`maxRsaModulusBits`\)/);
    }
    expect(() => new JwtManager({ algorithm: 'PS256', publicKey: big })).to.throw(/`publicKey` is an RSA key of 16384 bits/);
    expect(() => new JwtManager({ algorithm: 'RS256', publicKey: rsaPublicJwk(8200) })).to.throw(/RSA key of 8200 bits; at most 8192/);
    expect(() => new JwtManager({ algorithm: 'RS512', privateKey: rsaPrivateJwk(16384) })).to.throw(privateKeyRefusal(/`privateKey` is an RSA key of 16384 bits/));
    // Where node checks a private key as it reads it (24), no such KeyObject can exist.
    if (READS_UNCHECKED_RSA_KEYS) {
      expect(() => new JwtManager({ algorithm: 'RS512', privateKey: createPrivateKey({ key: rsaPrivateJwk(16384) as JsonWebKey, format: 'jwk' }) }))
        .to.throw(/`privateKey` is an RSA key of 16384 bits/);
    }
    expect(() => new JwtManager({ keys: [{ kid: 'k', algorithm: 'RS256', publicKey: big }] })).to.throw(/keys\[0\]: `publicKey` is an RSA key of 16384 bits/);
    expect(() => new JwtManager({ keys: [{ kid: 'k', algorithm: 'PS384', privateKey: rsaPrivateJwk(10240) }] }))
      .to.throw(privateKeyRefusal(/keys\[0\]: `privateKey` is an RSA key of 10240 bits/));
    // Another algorithm signing, RSA verifying only: the verifying key is bounded too.
    expect(() => new JwtManager({ secretKey: SECRET, decodeAlgorithms: ['HS256', 'RS256'], publicKey: big })).to.throw(/RSA key of 16384 bits/);
    expect(() => new JwtManager({ algorithm: 'RS256', publicKey: rsaPublicJwk(8192) })).not.to.throw();
  });

  it('bounds RSA-PSS keys alike', () => {
    expect(() => new JwtManager({ algorithm: 'PS256', publicKey: pssPublicKey(big) })).to.throw(/`publicKey` is an RSA key of 16384 bits/);
    expect(() => new JwtManager({ algorithm: 'PS256', publicKey: pssPublicKey(hugeExponent) })).to.throw(/`publicKey` has an RSA public exponent of one of 3071 bits/);
    expect(() => new JwtManager({ algorithm: 'PS256', publicKey: pssPublicKey(rsaPublicJwk(4096)) })).not.to.throw();
  });

  it('maxRsaModulusBits moves the bound, and must be an integer of at least 2048', () => {
    expect(() => new JwtManager({ algorithm: 'RS256', publicKey: big, maxRsaModulusBits: 16384 })).not.to.throw();
    expect(() => new JwtManager({ algorithm: 'RS256', publicKey: rsaPublicJwk(3072), maxRsaModulusBits: 2048 })).to.throw(/RSA key of 3072 bits; at most 2048/);
    for (const value of [1024, 4096.5, Number.NaN, '8192']) {
      expect(() => new JwtManager({ algorithm: 'RS256', publicKey: big, maxRsaModulusBits: value as number }), String(value))
        .to.throw(/`maxRsaModulusBits` must be an integer of at least 2048/);
    }
  });

  it('refuses a public exponent that is 1, even, or beyond 2^32 - 1 (the 3071-bit one too), wherever the key comes from', () => {
    const refused: Array<[string, bigint | Buffer]> = [
      ['1', 1n], ['2', 2n], ['65536', 65536n], ['2^32 + 1', 2n ** 32n + 1n], ['2^64 + 1', 2n ** 64n + 1n], ['3071 bits', oddNumber(3071)],
    ];
    for (const [name, e] of refused) {
      const message = /has an RSA public exponent of .*; it must be odd, from 3 to 2\^32 - 1 \(65537 is the usual one\)/;
      expect(() => new JwtManager({ algorithm: 'RS256', publicKey: rsaPublicJwk(3072, e) }), name).to.throw(message);
      expect(() => new JwtManager({ algorithm: 'RS256', publicKey: asPem(rsaPublicJwk(3072, e)) }), name).to.throw(message);
      expect(() => new JwtManager({ algorithm: 'RS256', privateKey: rsaPrivateJwk(2048, e) }), name).to.throw(privateKeyRefusal(message));
      expect(() => new JwtManager({ keys: [{ kid: 'k', algorithm: 'PS512', publicKey: rsaPublicJwk(2048, e) }] }), name).to.throw(/keys\[0\]: `publicKey` has an RSA public exponent/);
    }
    expect(() => new JwtManager({ algorithm: 'RS256', publicKey: hugeExponent })).to.throw(/`publicKey` has an RSA public exponent of one of 3071 bits/);
    for (const e of [3n, 65537n, 2n ** 32n - 1n]) expect(() => new JwtManager({ algorithm: 'RS256', publicKey: rsaPublicJwk(2048, e) }), String(e)).not.to.throw();
  });
});

/** An action that signs a token, through whatever the server's manager signs with. */
let issuer: JwtManager;
@JsonController()
class Login {
  @Post('/login') async login() { return { token: await issuer.tokens.createAccessToken('alice') }; }
}

describe('keys from loaders, refused at request time', () => forEachDriver((driver) => {
  const reported: Array<{ error: Error; callback: string }> = [];
  const onCallbackError: CallbackErrorHandler = (error, { callback }) => { reported.push({ error: error as Error, callback }); };
  const servers: TestServer[] = [];
  const serve = async (config: JwtConfig, controllers: Function[] = [Protected]) => {
    const server = await startServer(controllers, { onCallbackError, ...config }, {}, driver);
    servers.push(server);
    return server;
  };
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signed = (alg: string, key: KeyObject | string | Buffer) => {
    const input = `${b64({ alg, typ: 'JWT' })}.${b64(accessClaims('admin'))}`;
    const signature = alg.startsWith('HS')
      ? createHmac(`sha${alg.slice(2)}`, key).update(input).digest()
      // PKCS#1 v1.5 for PS too: these tokens' keys are refused before any signature is checked.
      : sign(`sha${alg.slice(2)}`, Buffer.from(input), key as KeyObject);
    return `${input}.${signature.toString('base64url')}`;
  };
  beforeEach(() => { reported.length = 0; });
  after(async () => { await Promise.all(servers.map((server) => server.close())); });

  /** A clean 422 or 503, nothing of the key in it; the app learns why (`why`), never the key. */
  function expectAnswer(res: { status: number; body: unknown; text: string }, status: number, msg: string, callback: string, why: RegExp, key?: string) {
    expect(res.status, res.text).to.equal(status);
    expect(res.body).to.deep.equal({ msg });
    expect(reported.map((r) => r.callback)).to.deep.equal([callback]);
    expect(reported[0].error.message).to.match(why);
    if (key !== undefined) {
      expect(res.text).not.to.contain(key.slice(0, 24));
      expect(reported[0].error.message).not.to.contain(key.slice(0, 24));
    }
    reported.length = 0;
  }

  it('a decodeKeyLoader returning an RSA key beyond the bounds (16384 bits, a 3071-bit exponent, RSA-PSS, under 2048 bits): 422, reported', async () => {
    const cases: Array<[string, Algorithm, KeyMaterial, RegExp]> = [
      ['16384-bit JWK', 'RS256', rsaPublicJwk(16384), /RSA key of 16384 bits; at most 8192/],
      ['16384-bit PEM', 'RS512', createPublicKey({ key: rsaPublicJwk(16384) as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string, /RSA key of 16384 bits/],
      ['3071-bit exponent', 'RS256', rsaPublicJwk(3072, oddNumber(3071)), /the key `decodeKeyLoader` returned has an RSA public exponent of one of 3071 bits/],
      ['exponent 1', 'PS256', rsaPublicJwk(2048, 1n), /public exponent of 1;/],
      ['RSA-PSS, 16384 bits', 'PS256', pssPublicKey(rsaPublicJwk(16384)), /RSA key of 16384 bits/],
      ['1024 bits', 'RS256', rsaPublicJwk(1024), /at least 2048 bits, got 1024/],
    ];
    for (const [name, alg, material, why] of cases) {
      const server = await serve({ algorithm: alg, publicKey: rsa.publicKey, decodeKeyLoader: () => material });
      const key = typeof material === 'string' ? material.split('\n')[1] : (material as Jwk).n;
      const res = await server.request.get('/me').set('Authorization', `Bearer ${signed(alg, rsa.privateKey)}`);
      expectAnswer(res, 422, 'No key to verify the token with', 'decodeKeyLoader', why, key ?? name);
    }
    // Within the bounds, the loaded key verifies.
    const fine = await serve({ algorithm: 'RS256', publicKey: rsa.publicKey, decodeKeyLoader: () => rsa.publicKey });
    await fine.request.get('/me').set('Authorization', `Bearer ${signed('RS256', rsa.privateKey)}`).expect(200, { id: 'admin' });
  });

  it('an encodeKeyLoader returning an RSA key beyond the bounds, key material for HS256, or a weak secret: 503, no token, reported', async () => {
    const cases: Array<[Algorithm, KeyMaterial, RegExp]> = [
      ['RS256', rsaPrivateJwk(16384), privateKeyRefusal(/the key `encodeKeyLoader` returned is an RSA key of 16384 bits/)],
      ['RS256', rsaPrivateJwk(2048, oddNumber(2047)), privateKeyRefusal(/public exponent of one of 2047 bits/)],
      ['HS256', CERTIFICATE_DER, /is a DER-encoded certificate/],
      ['HS256', 'x'.repeat(32), /distinct pairs? of adjacent bytes/],
    ];
    for (const [algorithm, material, why] of cases) {
      const config: JwtConfig = algorithm === 'HS256'
        ? { encodeKeyLoader: () => material, decodeKeyLoader: () => SECRET }
        : { algorithm, publicKey: rsa.publicKey, encodeKeyLoader: () => material };
      const server = await serve(config, [Login]);
      issuer = server.jwt;
      expectAnswer(await server.request.post('/login'), 503, 'The token could not be issued; try again later', 'encodeKeyLoader', why);
      expect(await rejects(server.jwt.tokens.createAccessToken('alice'))).to.be.instanceOf(TokenIssueError);
      reported.length = 0;
    }
  });

  it('a decodeKeyLoader returning key material for an HS256 token (certificate, armourless PEM body, hex, JWK text): 422, the forgery refused', async () => {
    for (const [name, material] of keyMaterialForms()) {
      const server = await serve({ secretKey: SECRET, decodeKeyLoader: () => material });
      // MACed with exactly the bytes the loader hands over: what the forger holds.
      const token = signed('HS256', secretBytes(material));
      const res = await server.request.get('/me').set('Authorization', `Bearer ${token}`);
      expect(res.status, name).to.equal(422);
      expect(res.body, name).to.deep.equal({ msg: 'The specified alg value is not allowed' });
    }
    expect(reported).to.deep.equal([]);
  });

  it('a decodeKeyLoader returning a weak secret: 422, reported; with allowWeakSecret it verifies', async () => {
    const weak = 'secret'.repeat(6);
    const token = signed('HS256', weak);
    const strict = await serve({ secretKey: SECRET, decodeKeyLoader: () => weak });
    expectAnswer(await strict.request.get('/me').set('Authorization', `Bearer ${token}`), 422, 'No key to verify the token with', 'decodeKeyLoader', /a block of 6 bytes repeated|distinct pairs/, weak);
    const lenient = await serve({ secretKey: SECRET, allowWeakSecret: true, decodeKeyLoader: () => weak });
    await lenient.request.get('/me').set('Authorization', `Bearer ${token}`).expect(200, { id: 'admin' });
  });
}));

/** The bytes an HMAC secret given in any form stands for. */
function secretBytes(material: string | Buffer | KeyObject | Jwk): Buffer {
  if (typeof material === 'string') return Buffer.from(material);
  if (Buffer.isBuffer(material)) return material;
  if (material instanceof KeyObject) return material.export();
  return Buffer.from(String(material.k), 'base64url');
}
