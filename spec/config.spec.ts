import { createHash, generateKeyPairSync, createSecretKey, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { JwtManager, type JwtConfig } from '../src';
import { SECRET } from './helpers';
import { keyMaterialForms, WEAK_SECRETS } from './key-material';

const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
const pem = (key: import('node:crypto').KeyObject) => key.export({ type: key.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }) as string;

function fails(config: unknown, message: RegExp): void {
  expect(() => new JwtManager(config as JwtConfig)).to.throw(message);
}

describe('configuration', () => {
  it('requires a secret for HS algorithms', () => {
    fails({}, /`secretKey` is required for HS256/);
    fails({ secretKey: '' }, /`secretKey` is required/);
  });

  it('refuses secrets shorter than the hash (RFC 7518 §3.2) unless allowWeakSecret', () => {
    fails({ secretKey: 'super-secret' }, /12 bytes; HS256 requires at least 32/);
    fails({ secretKey: 'x'.repeat(31) }, /at least 32/);
    fails({ secretKey: 'x'.repeat(40), algorithm: 'HS384' }, /at least 48/);
    fails({ secretKey: 'x'.repeat(60), algorithm: 'HS512' }, /at least 64/);
    expect(() => new JwtManager({ secretKey: SECRET.slice(0, 32) })).not.to.throw();
    expect(() => new JwtManager({ secretKey: 'super-secret', allowWeakSecret: true })).not.to.throw();
  });

  it('counts bytes, not characters', () => {
    // 16 characters, 32 bytes in UTF-8.
    expect(() => new JwtManager({ secretKey: 'àáâãäåæçèéêëìíîï' })).not.to.throw();
    fails({ secretKey: 'àáâãäåæçèéêëìíî' }, /30 bytes; HS256 requires at least 32/);
  });

  it('accepts a secret KeyObject and refuses an asymmetric one as secret', () => {
    expect(() => new JwtManager({ secretKey: createSecretKey(randomBytes(32)) })).not.to.throw();
    fails({ secretKey: rsa2048.publicKey }, /must be a secret KeyObject, got a public key/);
  });

  it('refuses a PEM key as HMAC secret (the algorithm-confusion setup)', () => {
    fails({ secretKey: pem(rsa2048.publicKey) }, /is a PEM key/);
  });

  it('refuses key material as an HMAC secret in any common encoding, as secretKey and in a ring, even with allowWeakSecret', () => {
    const message = /`secretKey` is (the (base64|hex) of )*(a PEM key|an SSH public key|a DER-encoded (key|certificate|structure holding a public key \(a certificate request, a PKCS#7 bundle\))|a JWK( Set)?'s JSON text|a JSON array of JWKs); HMAC algorithms take a random secret/;
    for (const [name, material] of keyMaterialForms()) {
      for (const allowWeakSecret of [false, true]) {
        expect(() => new JwtManager({ secretKey: material, allowWeakSecret }), name).to.throw(message);
        expect(() => new JwtManager({ keys: [{ kid: 'k', algorithm: 'HS512', secretKey: material }], allowWeakSecret }), name).to.throw(/keys\[0\]: `secretKey` is/);
        expect(() => new JwtManager({ algorithm: 'RS256', privateKey: rsa2048.privateKey, decodeAlgorithms: ['RS256', 'HS384'], secretKey: material, allowWeakSecret }), name)
          .to.throw(message);
      }
    }
    fails({ secretKey: `\n${pem(rsa2048.publicKey)}`, allowWeakSecret: true }, /is a PEM key/);
  });

  it('refuses secrets of trivially low diversity (few distinct bytes, a short block repeated) unless allowWeakSecret', () => {
    for (const [name, secret, algorithm = 'HS256'] of WEAK_SECRETS) {
      expect(() => new JwtManager({ algorithm, secretKey: secret }), name)
        .to.throw(/`secretKey` (has \d+ distinct pairs? of adjacent bytes; HS\d+ requires at least \d+ \(too few characters, or a short block repeated\)|(is (hex|base64) whose decoding )?(is a block of \d+ bytes repeated|has a run of \d+ bytes in arithmetic progression \(like 'abcd…' or 0, 1, 2…\); at most \d+ are accepted|has \d distinct differences between adjacent bytes; at least 8 are required \(a few runs like 'abcd…' joined\)))\. Use a random secret .*or set `allowWeakSecret: true` for tests/);
      expect(() => new JwtManager({ keys: [{ kid: 'k', algorithm, secretKey: secret }] }), name).to.throw(/keys\[0\]: `secretKey` (has|is (a block|hex|base64))/);
      expect(() => new JwtManager({ algorithm, secretKey: secret, allowWeakSecret: true }), name).not.to.throw();
    }
    fails({ secretKey: 'secret'.repeat(6) }, /has 6 distinct pairs of adjacent bytes; HS256 requires at least 16/);
    fails({ algorithm: 'HS512', secretKey: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef'.repeat(2) }, /is a block of 32 bytes repeated/);
    fails({ secretKey: 'abcdefghijklmnopqrstuvwxyz012345' }, /has a run of 26 bytes in arithmetic progression .*; at most 8 are accepted/);
    fails({ algorithm: 'HS512', secretKey: `${randomBytes(33).toString('base64')}abcdefghijklmnopqrst` }, /has a run of 20 bytes .*; at most 16 are accepted/);
    fails({ secretKey: 'abcdefghABCDEFGHijklmnopIJKLMNOP' }, /has 3 distinct differences between adjacent bytes/);
    fails({ secretKey: Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex') }, /is hex whose decoding has a run of 32 bytes in arithmetic progression/);
  });

  it('accepts random secrets and passphrases at every HS length', () => {
    const passphrases = [SECRET, 'correct horse battery staple orbit', 'Jüngst Kühe-Mähen 2026 über Straßen!', 'Tr0ub4dor&3-horse-staple-battery-x'];
    for (const secretKey of passphrases) expect(() => new JwtManager({ secretKey }), secretKey).not.to.throw();
    for (const [algorithm, bytes] of [['HS256', 32], ['HS384', 48], ['HS512', 64]] as const) {
      // Seeded, so that a secret refused by chance would be refused on every run.
      for (let i = 0; i < 2000; i++) {
        const random = createHash('sha512').update(`${algorithm} ${i}`).digest().subarray(0, bytes);
        for (const secretKey of [random, random.toString('hex'), random.toString('base64'), random.toString('base64url'), createSecretKey(random)]) {
          expect(() => new JwtManager({ algorithm, secretKey }), `${algorithm} ${String(secretKey)}`).not.to.throw();
        }
      }
      // The openssl rand -base64 48 form, and a random decimal number of the length.
      expect(() => new JwtManager({ algorithm, secretKey: randomBytes(48).toString('base64').repeat(2).slice(0, 64) })).not.to.throw();
      const digits = Array.from(randomBytes(bytes), (b) => String(b % 10)).join('');
      expect(() => new JwtManager({ algorithm, secretKey: digits }), digits).not.to.throw();
    }
  });

  it('refuses unknown algorithms, naming the known ones', () => {
    fails({ secretKey: SECRET, algorithm: 'HS257' }, /unknown algorithm "HS257"; use one of HS256, .*ES512/);
    fails({ secretKey: SECRET, algorithm: 'none' }, /unknown algorithm "none"/);
    fails({ secretKey: SECRET, decodeAlgorithms: ['EdDSA'] }, /unknown algorithm "EdDSA"/);
    fails({ secretKey: SECRET, decodeAlgorithms: [] }, /at least one algorithm/);
  });

  it('refuses keys that do not fit the algorithm', () => {
    fails({ algorithm: 'RS256' }, /RS256 signs with a private key; set `privateKey`/);
    fails({ algorithm: 'RS256', privateKey: pem(p256.privateKey) }, /RS256 needs an RSA key, got a ec key/);
    fails({ algorithm: 'ES256', privateKey: pem(rsa2048.privateKey) }, /ES256 needs an EC key on curve prime256v1, got a rsa key/);
    fails({ algorithm: 'ES256', privateKey: pem(p384.privateKey) }, /ES256 needs an EC key on curve prime256v1, got a ec key on secp384r1/);
    fails({ algorithm: 'RS256', privateKey: rsa1024.privateKey }, /at least 2048 bits, got 1024/);
    fails({ algorithm: 'RS256', privateKey: 'not a pem' }, /`privateKey` is not a readable private key/);
    fails({ algorithm: 'RS256', privateKey: rsa2048.publicKey }, /must be a private key, got a public key/);
    fails({ algorithm: 'RS256', privateKey: rsa2048.privateKey, publicKey: p256.publicKey }, /RS256 needs an RSA key/);
  });

  it('accepts fitting asymmetric keys as PEM or KeyObject, and verify-only configs', () => {
    expect(() => new JwtManager({ algorithm: 'RS256', privateKey: pem(rsa2048.privateKey) })).not.to.throw();
    expect(() => new JwtManager({ algorithm: 'PS256', privateKey: rsa2048.privateKey, publicKey: pem(rsa2048.publicKey) })).not.to.throw();
    expect(() => new JwtManager({ algorithm: 'ES384', privateKey: p384.privateKey })).not.to.throw();
    expect(() => new JwtManager({ algorithm: 'HS256', secretKey: SECRET, decodeAlgorithms: ['RS256'], publicKey: rsa2048.publicKey })).not.to.throw();
    fails({ algorithm: 'HS256', secretKey: SECRET, decodeAlgorithms: ['RS256'] }, /verifying RS256 requires a public key/);
  });

  it('refuses contradictory key options instead of ignoring one of them', () => {
    const es = { algorithm: 'ES256', privateKey: p256.privateKey } as const;
    fails({ ...es, secretKey: SECRET }, /`secretKey` is for HS algorithms, but the algorithms in use \(ES256\) take `privateKey`\/`publicKey`; remove `secretKey`/);
    fails({ algorithm: 'RS256', publicKey: rsa2048.publicKey, secretKey: SECRET }, /`secretKey` is for HS algorithms/);
    fails({ keys: [{ kid: 'a', algorithm: 'ES256', privateKey: p256.privateKey, secretKey: SECRET }] }, /keys\[0\]: ES256 takes `privateKey` or `publicKey`, not `secretKey`/);
    fails({ secretKey: SECRET, privateKey: rsa2048.privateKey }, /`privateKey` is for RS, PS and ES algorithms, but the algorithms in use \(HS256\) take `secretKey`/);
    fails({ algorithm: 'HS512', secretKey: SECRET, publicKey: pem(p256.publicKey) }, /`publicKey` is for RS, PS and ES algorithms/);
    fails({ secretKey: SECRET, decodeAlgorithms: ['HS256', 'HS384'], privateKey: p256.privateKey }, /`privateKey` is for RS, PS and ES/);
    fails({ keys: [{ kid: 'a', algorithm: 'HS256', secretKey: SECRET, privateKey: p256.privateKey }] }, /HS256 takes `secretKey`, not a private or public key/);
    // HS256 signs, RS256 verifies with publicKey: the private key would do nothing.
    fails({ secretKey: SECRET, decodeAlgorithms: ['HS256', 'RS256'], publicKey: rsa2048.publicKey, privateKey: rsa2048.privateKey }, /`privateKey` is not used: HS256 signs with `secretKey`/);
    // A public key that is not the private key's half: tokens signed here would not verify.
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    fails({ ...es, publicKey: other.publicKey }, /`publicKey` is not the public half of `privateKey`/);
    fails({ ...es, publicKey: pem(other.publicKey) }, /not the public half/);
    fails({ algorithm: 'RS256', privateKey: pem(rsa2048.privateKey), publicKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey }, /not the public half/);
    fails({ keys: [{ kid: 'a', algorithm: 'ES256', privateKey: p256.privateKey, publicKey: other.publicKey }] }, /keys\[0\]: `publicKey` is not the public half/);

    // Every key in use: accepted.
    expect(() => new JwtManager({ ...es, publicKey: pem(p256.publicKey) })).not.to.throw();
    expect(() => new JwtManager({ ...es, publicKey: p256.privateKey.export({ format: 'jwk' }) })).not.to.throw();
    expect(() => new JwtManager({ ...es, decodeAlgorithms: ['ES256', 'HS256'], secretKey: SECRET })).not.to.throw();
    expect(() => new JwtManager({ secretKey: SECRET, decodeAlgorithms: ['HS256', 'RS256'], privateKey: rsa2048.privateKey })).not.to.throw();
  });

  it('checks durations, names and locations', () => {
    fails({ secretKey: SECRET, accessTokenExpires: 'soon' }, /`accessTokenExpires`: "soon" is not a duration/);
    fails({ secretKey: SECRET, refreshTokenExpires: -5 }, /`refreshTokenExpires`: a duration must be/);
    fails({ secretKey: SECRET, accessTokenExpires: 0 }, /longer than 0 s, or `false`/);
    fails({ secretKey: SECRET, leeway: 'a while' }, /`leeway`/);
    fails({ secretKey: SECRET, tokenLocation: ['carrier-pigeon'] }, /`tokenLocation` must list one or more of headers/);
    fails({ secretKey: SECRET, headerName: 'Bad Header' }, /not a valid HTTP header name/);
    fails({ secretKey: SECRET, identityClaim: '' }, /`identityClaim` must be a non-empty string/);
    fails(undefined, /expected a configuration object/);
    expect(() => new JwtManager({ secretKey: SECRET, accessTokenExpires: false, refreshTokenExpires: '2 weeks', leeway: '30s' })).not.to.throw();
  });
  describe('cookie name prefixes (__Host-, __Secure-): what browsers require, checked at construction', () => {
    const base = { secretKey: SECRET, tokenLocation: ['cookies'] as JwtConfig['tokenLocation'], cookieSecure: true };
    const names = ['accessCookieName', 'refreshCookieName', 'accessCsrfCookieName', 'refreshCsrfCookieName'] as const;
    const pathOf = { accessCookieName: 'accessCookiePath', refreshCookieName: 'refreshCookiePath', accessCsrfCookieName: 'accessCsrfCookiePath', refreshCsrfCookieName: 'refreshCsrfCookiePath' } as const;

    it('a __Host- name needs cookieSecure, its path \'/\' and no cookieDomain, naming the option', () => {
      for (const option of names) {
        const named = { ...base, [option]: '__Host-token' };
        expect(() => new JwtManager(named)).not.to.throw();
        fails({ ...named, cookieSecure: false }, new RegExp(`\`${option}\` "__Host-token" needs \`cookieSecure: true\``));
        fails({ ...named, cookieDomain: 'example.test' }, new RegExp(`\`${option}\` "__Host-token" cannot have a \`cookieDomain\``));
        fails({ ...named, [pathOf[option]]: '/refresh' }, new RegExp(`\`${option}\` "__Host-token" needs \`${pathOf[option]}\` '/'.*not "/refresh"`));
      }
    });

    it('a __Secure- name needs cookieSecure, and may have a Domain and a path', () => {
      for (const option of names) {
        const named = { ...base, [option]: '__Secure-token', cookieDomain: 'example.test', [pathOf[option]]: '/refresh' };
        expect(() => new JwtManager(named)).not.to.throw();
        fails({ ...named, cookieSecure: undefined }, new RegExp(`\`${option}\` "__Secure-token" needs \`cookieSecure: true\``));
      }
    });

    it('prefixes are matched in any case, as browsers match them', () => {
      fails({ ...base, accessCookieName: '__host-access', cookieDomain: 'example.test' }, /`accessCookieName` "__host-access" cannot have a `cookieDomain`/);
      fails({ ...base, refreshCookieName: '__SECURE-refresh', cookieSecure: false }, /`refreshCookieName` "__SECURE-refresh" needs `cookieSecure: true`/);
      // Not a prefix: only the whole `__Host-` (with its hyphen) is one.
      expect(() => new JwtManager({ ...base, cookieSecure: false, accessCookieName: '__Hostess', cookieDomain: 'example.test' })).not.to.throw();
    });
  });
});
