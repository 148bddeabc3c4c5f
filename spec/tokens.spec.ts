import { isUtf8 } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeProtectedHeader, importSPKI, jwtVerify, SignJWT, exportSPKI } from 'jose';
import { JwtDecodeError, JwtManager, ExpiredTokenError, type JwtClaims } from '../src';
import { toLowS } from '../src/ecdsa';
import { TestClock } from './clock';
import { SECRET } from './helpers';

const secret = new TextEncoder().encode(SECRET);
const nowSeconds = () => Math.floor(Date.now() / 1000);

function lowS(alg: string, token: string): string {
  const [header, payload, signature] = token.split('.');
  return `${header}.${payload}.${toLowS(alg, Buffer.from(signature, 'base64url')).toString('base64url')}`;
}

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

describe('tokens', () => {
  const jwt = new JwtManager({ secretKey: SECRET });

  describe('claim layout (Flask-JWT-Extended 4)', () => {
    it('access token: fresh, iat, jti, type, sub, nbf, exp in that order', async () => {
      const before = nowSeconds();
      const claims = payloadOf(await jwt.tokens.createAccessToken('alice'));
      expect(Object.keys(claims)).to.deep.equal(['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'exp']);
      expect(claims).to.include({ fresh: false, type: 'access', sub: 'alice' });
      expect(claims.iat).to.be.within(before, nowSeconds());
      expect(claims.nbf).to.equal(claims.iat);
      expect(claims.exp).to.equal((claims.iat as number) + 15 * 60);
      expect(claims.jti).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('refresh token: never fresh, 30 days by default', async () => {
      const claims = payloadOf(await jwt.tokens.createRefreshToken('alice'));
      expect(claims).to.include({ fresh: false, type: 'refresh', sub: 'alice' });
      expect(claims.exp).to.equal((claims.iat as number) + 30 * 86400);
    });

    it('header: alg HS256, typ JWT', async () => {
      expect(decodeProtectedHeader(await jwt.tokens.createAccessToken('alice'))).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
    });

    it('stringifies numeric identities and refuses objects', async () => {
      expect(payloadOf(await jwt.tokens.createAccessToken(42)).sub).to.equal('42');
      let error: unknown;
      await jwt.tokens.createAccessToken({ id: 1 } as unknown as string).catch((e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(TypeError).with.property('message').that.matches(/string or a finite number/);
    });

    it('every jti is different', async () => {
      const jtis = new Set(await Promise.all(Array.from({ length: 50 }, async () => payloadOf(await jwt.tokens.createAccessToken('a')).jti)));
      expect(jtis.size).to.equal(50);
    });

    it('honours identityClaim, encodeNbf, encodeAudience, encodeIssuer and configured lifetimes', async () => {
      const custom = new JwtManager({
        secretKey: SECRET, identityClaim: 'identity', encodeNbf: false, encodeAudience: 'api', encodeIssuer: 'https://auth.example',
        decodeAudience: 'api', decodeIssuer: 'https://auth.example', accessTokenExpires: '1h', refreshTokenExpires: false,
      });
      const access = payloadOf(await custom.tokens.createAccessToken('alice'));
      expect(access).to.include({ identity: 'alice', aud: 'api', iss: 'https://auth.example' });
      expect(access).not.to.have.any.keys('sub', 'nbf');
      expect(access.exp).to.equal((access.iat as number) + 3600);
      const refresh = payloadOf(await custom.tokens.createRefreshToken('alice'));
      expect(refresh).not.to.have.property('exp');
      expect(await custom.tokens.decodeToken(await custom.tokens.createAccessToken('bob'))).to.include({ identity: 'bob' });
    });
  });

  describe('options', () => {
    it('fresh: true, a span, or a Date', async () => {
      expect(payloadOf(await jwt.tokens.createAccessToken('a', { fresh: true })).fresh).to.equal(true);
      const span = payloadOf(await jwt.tokens.createAccessToken('a', { fresh: '10m' }));
      expect(span.fresh).to.equal((span.iat as number) + 600);
      expect(payloadOf(await jwt.tokens.createAccessToken('a', { fresh: 300 })).fresh).to.be.within(nowSeconds() + 299, nowSeconds() + 300);
      expect(payloadOf(await jwt.tokens.createAccessToken('a', { fresh: new Date(2_000_000_000_000) })).fresh).to.equal(2_000_000_000);
      // A span in the past, as Flask-JWT-Extended's tests mint with fresh=timedelta(minutes=-1).
      for (const past of [-60, '-1m']) {
        const stale = payloadOf(await jwt.tokens.createAccessToken('a', { fresh: past }));
        expect(stale.fresh, String(past)).to.be.within((stale.iat as number) - 61, (stale.iat as number) - 60);
      }
    });

    it('expiresIn: seconds, ms-style strings, false', async () => {
      const a = payloadOf(await jwt.tokens.createAccessToken('a', { expiresIn: 60 }));
      expect((a.exp as number) - (a.iat as number)).to.equal(60);
      const b = payloadOf(await jwt.tokens.createRefreshToken('a', { expiresIn: '2h' }));
      expect((b.exp as number) - (b.iat as number)).to.equal(7200);
      const endless = new JwtManager({ secretKey: SECRET, accessTokenExpires: false });
      const forever = await endless.tokens.createAccessToken('a', { expiresIn: false });
      expect(payloadOf(forever)).not.to.have.property('exp');
      expect(await endless.tokens.decodeToken(forever)).to.include({ sub: 'a' });
      // Where access tokens expire, a token without exp would be refused: it is not minted either.
      let refused: unknown;
      await jwt.tokens.createAccessToken('a', { expiresIn: false }).catch((e: unknown) => { refused = e; });
      expect(refused).to.be.instanceOf(TypeError).with.property('message').that.contains('accessTokenExpires: false');
      let error: unknown;
      await jwt.tokens.createAccessToken('a', { expiresIn: 'later' }).catch((e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(TypeError);
    });

    it('expiresIn: zero or negative mints a token that has already expired (to test expiry)', async () => {
      for (const [expiresIn, lifetime] of [[-60, -60], ['-1h', -3600], [0, 0], ['-90s', -90]] as const) {
        for (const token of [await jwt.tokens.createAccessToken('a', { expiresIn }), await jwt.tokens.createRefreshToken('a', { expiresIn })]) {
          const claims = payloadOf(token);
          expect((claims.exp as number) - (claims.iat as number), String(expiresIn)).to.equal(lifetime);
          let error: unknown;
          await jwt.tokens.decodeToken(token).catch((e: unknown) => { error = e; });
          expect(error, String(expiresIn)).to.be.instanceOf(ExpiredTokenError);
          expect(await jwt.tokens.decodeToken(token, { allowExpired: true })).to.include({ sub: 'a' });
        }
      }
      let error: unknown;
      await jwt.tokens.createAccessToken('a', { expiresIn: '-later' }).catch((e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(TypeError);
    });

    it('additionalClaims and additionalHeaders, but not over the reserved ones', async () => {
      const token = await jwt.tokens.createAccessToken('a', { additionalClaims: { roles: ['admin'], aud: 'x' }, additionalHeaders: { kid: 'k1' } });
      expect(payloadOf(token)).to.deep.include({ roles: ['admin'], aud: 'x' });
      expect(decodeProtectedHeader(token)).to.deep.equal({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
      for (const claim of ['type', 'fresh', 'jti', 'iat', 'nbf', 'exp', 'sub']) {
        let error: unknown;
        await jwt.tokens.createAccessToken('a', { additionalClaims: { [claim]: 'x' } }).catch((e: unknown) => { error = e; });
        expect(error, claim).to.be.instanceOf(TypeError).with.property('message').that.contains(`"${claim}"`);
      }
      let error: unknown;
      await jwt.tokens.createAccessToken('a', { additionalHeaders: { alg: 'none' } }).catch((e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(TypeError);
    });
  });

  describe('decodeToken', () => {
    it('returns the claims of a valid token', async () => {
      const claims: JwtClaims = await jwt.tokens.decodeToken(await jwt.tokens.createRefreshToken('alice'));
      expect(claims).to.include({ sub: 'alice', type: 'refresh', fresh: false });
    });

    it('rejects an expired token, unless allowExpired', async () => {
      const expired = await new SignJWT({ type: 'access', fresh: false, sub: 'alice' }).setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt(nowSeconds() - 100).setExpirationTime(nowSeconds() - 50).sign(secret);
      let error: unknown;
      await jwt.tokens.decodeToken(expired).catch((e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(ExpiredTokenError).with.property('code', 'ERR_JWT_EXPIRED');
      expect(await jwt.tokens.decodeToken(expired, { allowExpired: true })).to.include({ sub: 'alice' });
    });

    it('rejects garbage with a JwtDecodeError', async () => {
      for (const garbage of ['', 'a', 'a.b', 'a.b.c.d', '....', 'e30.e30.', '%%.%%.%%']) {
        let error: unknown;
        await jwt.tokens.decodeToken(garbage).catch((e: unknown) => { error = e; });
        expect(error, garbage).to.be.instanceOf(JwtDecodeError).with.property('status', 422);
      }
    });

    it('decodes header and payload as UTF-8 fatally: invalid bytes are refused, never read as U+FFFD', async () => {
      const sign = (header: Buffer, payload: Buffer) => {
        const input = `${header.toString('base64url')}.${payload.toString('base64url')}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      };
      const header = Buffer.from('{"alg":"HS256","typ":"JWT"}');
      const payloadWith = (bytes: string) => Buffer.concat([Buffer.from(`{"sub":"user-`), Buffer.from(bytes, 'hex'), Buffer.from(`","exp":${nowSeconds() + 60}}`)]);
      const refusals = new Set<string>();
      for (const bytes of ['fffe', 'feff', 'c0af', 'eda080', 'f4908080', 'e282']) {
        let error: unknown;
        await jwt.tokens.decodeToken(sign(header, payloadWith(bytes))).catch((e: unknown) => { error = e; });
        expect(error, bytes).to.be.instanceOf(JwtDecodeError).with.property('message', 'Invalid payload string');
        let headerError: unknown;
        const badHeader = Buffer.concat([Buffer.from('{"alg":"HS256","x":"'), Buffer.from(bytes, 'hex'), Buffer.from('"}')]);
        await jwt.tokens.decodeToken(sign(badHeader, payloadWith('41'))).catch((e: unknown) => { headerError = e; });
        expect(headerError, bytes).to.be.instanceOf(JwtDecodeError).with.property('message', 'Invalid header string');
        refusals.add(bytes);
      }
      expect(refusals.size).to.equal(6);
      // Valid multi-byte UTF-8 is of course read as such.
      expect(await jwt.tokens.decodeToken(sign(header, payloadWith(Buffer.from('王小明 🎉').toString('hex'))))).to.include({ sub: 'user-王小明 🎉' });
    });

    it('finds duplicate member names however they are escaped, and only those', async () => {
      const sign = (payload: string) => {
        const input = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      };
      const exp = nowSeconds() + 60;
      // Quotes and backslashes inside names and values, names that only look alike: one claim each.
      const claims = { sub: 'a\\"b', 'k\\': 1, 'k\\\\': 2, 'k"': 3, v: '\\', w: ['k', 'k'], o: { k: 1 }, exp };
      expect(await jwt.tokens.decodeToken(sign(JSON.stringify(claims)))).to.deep.include(claims);
      const duplicates = [
        String.raw`{"k\\":1,"k\u005c":2,"sub":"a","exp":EXP}`,
        String.raw`{"sub":"a","o":{"x":1,"\u0078":2},"exp":EXP}`,
        '{"sub":"a","w":[{"y":1,"y":2}],"exp":EXP}',
        String.raw`{"sub":"b","\u0073ub":"c","exp":EXP}`,
      ].map((payload) => payload.replace('EXP', String(exp)));
      for (const duplicate of duplicates) {
        let error: unknown;
        await jwt.tokens.decodeToken(sign(duplicate)).catch((e: unknown) => { error = e; });
        expect(error, duplicate).to.be.instanceOf(JwtDecodeError).with.property('message', 'Duplicate member name in payload');
      }
    });

    it('counts duplicate members in any JSON a payload can hold: never one too many, never one missed (fast-check)', async () => {
      const sign = (payload: string) => {
        const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      };
      const exp = nowSeconds() + 600;
      // Names and values full of quotes, backslashes, colons, braces and non-ASCII; nested objects and arrays.
      const text = fc.string({ unit: fc.constantFrom('"', '\\', ':', ',', '{', '}', '[', ']', 'a', 'b', 'é', '🎉', ' '), maxLength: 8 });
      const value = fc.letrec((tie) => ({
        value: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
        array: fc.array(tie('value'), { maxLength: 3 }),
        object: fc.dictionary(text, tie('value'), { maxKeys: 3 }),
      })).object;
      /** A name written another way that JSON reads the same: its first character as a \u escape. */
      const escaped = (name: string) => (name === '' ? '""' : `"\\u${name.charCodeAt(0).toString(16).padStart(4, '0')}${JSON.stringify(name.slice(1)).slice(1)}`);
      await fc.assert(fc.asyncProperty(value, text, fc.boolean(), async (claims, name, nested) => {
        const payload = { ...claims, sub: 'a', exp };
        // Without duplicates: accepted, every member as sent.
        expect(await jwt.tokens.decodeToken(sign(JSON.stringify(payload)))).to.deep.include(payload);
        // One name twice, spelled alike or not, at the top or in a nested object: refused.
        const twice = `{${JSON.stringify(name)}:1,${escaped(name)}:2}`;
        const duplicate = nested
          ? `{"sub":"a","exp":${exp},"o":${twice}}`
          : `${twice.slice(0, -1)},"sub":"a","exp":${exp}}`;
        let error: unknown;
        await jwt.tokens.decodeToken(sign(duplicate)).catch((e: unknown) => { error = e; });
        expect(error, duplicate).to.be.instanceOf(JwtDecodeError).with.property('message', 'Duplicate member name in payload');
      }), { numRuns: 300 });
    });

    it('reads base64url strictly: a segment is refused exactly when it is not the canonical encoding of its bytes (fast-check)', async () => {
      const valid = await jwt.tokens.createAccessToken('alice');
      const [header, payload, signature] = valid.split('.');
      const unit = fc.constantFrom(...'AQgw_-Zz09+/= é\n%'.split(''), ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''));
      const segment = fc.oneof(fc.string({ unit, maxLength: 40 }), fc.string({ unit, maxLength: 3 }).map((end) => `${payload}${end}`));
      // The oracle: the alphabet, and encoding the decoded bytes again gives the same string.
      const canonical = (text: string) => /^[A-Za-z0-9_-]*$/.test(text) && Buffer.from(text, 'base64url').toString('base64url') === text;
      await fc.assert(fc.asyncProperty(segment, fc.boolean(), async (text, asSignature) => {
        const token = asSignature ? `${header}.${payload}.${text}` : `${header}.${text}.${signature}`;
        const message = await jwt.tokens.decodeToken(token).then(() => 'accepted', (e: Error) => e.message);
        if (canonical(text)) expect(message, text).to.not.equal('Invalid token encoding');
        else expect(message, text).to.equal('Invalid token encoding');
      }), { numRuns: 500 });
    });

    it('reads UTF-8 fatally: a payload is refused exactly when its bytes are not UTF-8, as Node\'s isUtf8 says (fast-check)', async () => {
      const sign = (payload: Buffer) => {
        const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${payload.toString('base64url')}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      };
      const exp = nowSeconds() + 600;
      // Bytes for a JSON string's inside: anything but quotes, backslashes and control characters.
      const inside = (bytes: Uint8Array) => Buffer.from(bytes.filter((b) => b >= 0x20 && b !== 0x22 && b !== 0x5c));
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 12 }),
        fc.string({ unit: 'binary', maxLength: 6 }).map((text) => Buffer.from(text)),
        fc.tuple(fc.string({ unit: 'binary', maxLength: 4 }), fc.nat(8), fc.integer({ min: 0x80, max: 0xff })).map(([text, at, byte]) => {
          const encoded = Buffer.from(text);
          return Buffer.concat([encoded.subarray(0, at), Buffer.from([byte]), encoded.subarray(at)]);
        }),
      ).map(inside);
      await fc.assert(fc.asyncProperty(bytes, async (sub) => {
        const payload = Buffer.concat([Buffer.from('{"sub":"'), sub, Buffer.from(`","exp":${exp}}`)]);
        const answer = await jwt.tokens.decodeToken(sign(payload)).then((claims) => claims.sub, (e: Error) => e.message);
        expect(answer, sub.toString('hex')).to.equal(isUtf8(sub) ? sub.toString('utf8') : 'Invalid payload string');
      }), { numRuns: 1000 });
    });

    it('a payload nested as deep as the size cap allows is answered, not a stack overflow', async () => {
      const sign = (payload: string) => {
        const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      };
      const depth = 2900; // ~8 KiB as a token: the default maxTokenLength
      const exp = nowSeconds() + 600;
      const arrays = `{"sub":"a","exp":${exp},"n":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const objects = `{"sub":"a","exp":${exp},"n":${'{"a":'.repeat(depth / 5)}1${'}'.repeat(depth / 5)}}`;
      expect(await jwt.tokens.decodeToken(sign(arrays))).to.have.property('sub', 'a');
      expect(await jwt.tokens.decodeToken(sign(objects))).to.have.property('sub', 'a');
      const twice = `{"sub":"a","exp":${exp},"n":${'{"a":['.repeat(depth / 5)}{"b":1,"b":2}${']}'.repeat(depth / 5)}}`;
      let error: unknown;
      await jwt.tokens.decodeToken(sign(twice)).catch((e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(JwtDecodeError).with.property('message', 'Duplicate member name in payload');
    });

    it('a header or payload nested as deep as the size cap allows is answered, even on a small stack (nothing recurses over them)', () => {
      // Headers are decoded and frozen before their signature is checked, claims frozen into the cache: both iteratively.
      const script = `
        const { createHmac } = require('node:crypto');
        const { JwtManager } = require(${JSON.stringify(join(__dirname, '..', 'src'))});
        const secret = ${JSON.stringify(SECRET)};
        const segment = (text) => Buffer.from(text).toString('base64url');
        const deep = '['.repeat(2900) + ']'.repeat(2900);
        const sign = (header, payload, key) => {
          const input = segment(header) + '.' + segment(payload);
          return input + '.' + createHmac('sha256', key).update(input).digest('base64url');
        };
        const exp = Math.floor(Date.now() / 1000) + 600;
        const jwt = new JwtManager({ secretKey: secret });
        const answer = (token) => jwt.tokens.decodeToken(token).then(() => 'accepted', (e) => e.constructor.name);
        Promise.all([
          answer(sign('{"alg":"HS256","typ":"JWT","x":' + deep + '}', '{"sub":"a","exp":' + exp + '}', 'another secret of 32 bytes or more')),
          answer(sign('{"alg":"HS256","typ":"JWT"}', '{"sub":"a","exp":' + exp + ',"x":' + deep + '}', secret)),
        ]).then((answers) => console.log(answers.join(' ')));
      `;
      const output = execFileSync(process.execPath, ['--stack-size=150', '-e', script], { encoding: 'utf8' });
      expect(output.trim()).to.equal('InvalidSignatureError accepted');
    });

    it('a fault in the payload answers before the algorithm, the key and the signature, as in PyJWT, whatever comes after it', async () => {
      const header = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify({ typ: 'JWT', ...fields })).toString('base64url');
      const token = (fields: Record<string, unknown>, payload: Buffer, mac: string) => {
        const input = `${header(fields)}.${payload.toString('base64url')}`;
        return `${input}.${createHmac(fields.alg === 'HS512' ? 'sha512' : 'sha256', mac).update(input).digest('base64url')}`;
      };
      const exp = nowSeconds() + 600;
      const payloadFaults: Array<[string, Buffer, string]> = [
        ['not JSON', Buffer.from(`{"sub":"a","exp":${exp}`), 'Invalid payload string'],
        ['not an object', Buffer.from(`["sub","a"]`), 'Invalid payload string'],
        ['invalid UTF-8', Buffer.concat([Buffer.from('{"sub":"a'), Buffer.from([0xff]), Buffer.from(`","exp":${exp}}`)]), 'Invalid payload string'],
        ['a member twice', Buffer.from(`{"sub":"a","sub":"admin","exp":${exp}}`), 'Duplicate member name in payload'],
      ];
      let loaded = 0;
      const loading = new JwtManager({ secretKey: SECRET, decodeKeyLoader: () => { loaded++; return SECRET; } });
      const ring = new JwtManager({ keys: [{ kid: 'k1', algorithm: 'HS256', secretKey: SECRET }] });
      const es = new JwtManager({ algorithm: 'ES256', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey });
      const laterFaults: Array<[string, JwtManager, Record<string, unknown>, string]> = [
        ['none: only the payload', jwt, { alg: 'HS256' }, SECRET],
        ['a wrong signature', jwt, { alg: 'HS256' }, `${SECRET}-other`],
        ['an algorithm not accepted', jwt, { alg: 'HS512' }, SECRET],
        ['an unknown kid', ring, { alg: 'HS256', kid: 'k9' }, SECRET],
        ['an ECDSA signature of the wrong size', es, { alg: 'ES256' }, SECRET],
        ['a key loader (never asked)', loading, { alg: 'HS256' }, `${SECRET}-other`],
      ];
      for (const [fault, payload, message] of payloadFaults) {
        for (const [later, manager, fields, mac] of laterFaults) {
          let error: unknown;
          await manager.tokens.decodeToken(token(fields, payload, mac)).catch((e: unknown) => { error = e; });
          expect(error, `${fault}, then ${later}`).to.be.instanceOf(JwtDecodeError).with.property('message', message);
        }
      }
      expect(loaded).to.equal(0);
      // Without the payload's fault, each later one answers for itself.
      const valid = Buffer.from(`{"sub":"a","exp":${exp}}`);
      const answers = await Promise.all(laterFaults.slice(1, 5).map(([, manager, fields, mac]) => manager.tokens.decodeToken(token(fields, valid, mac)).catch((e: Error) => e.message)));
      expect(answers).to.deep.equal(['Signature verification failed', 'The specified alg value is not allowed', 'Unknown "kid"', 'Signature verification failed']);
    });

    it('refuses a kid, jti or sub that is not a string, with PyJWT\'s messages', async () => {
      const ring = new JwtManager({ keys: [{ kid: 'k1', algorithm: 'HS256', secretKey: SECRET }] });
      const cases: Array<[JwtManager, Record<string, unknown>, Record<string, unknown>, string]> = [
        [jwt, { kid: 123 }, {}, 'Key ID header parameter must be a string'],
        [jwt, { kid: ['k1'] }, {}, 'Key ID header parameter must be a string'],
        [jwt, { kid: null }, {}, 'Key ID header parameter must be a string'],
        [ring, { kid: 123 }, {}, 'Invalid "kid" header'],
        [ring, { kid: 'k'.repeat(129) }, {}, 'Invalid "kid" header'],
        [jwt, {}, { jti: 7 }, 'JWT ID must be a string'],
        [jwt, {}, { jti: null }, 'JWT ID must be a string'],
        [jwt, {}, { sub: { id: 1 } }, 'Subject must be a string'],
        [new JwtManager({ secretKey: SECRET, identityClaim: 'identity' }), {}, { identity: 42 }, 'Invalid claim: identity must be a string'],
      ];
      for (const [manager, header, claims, message] of cases) {
        const token = await new SignJWT({ sub: 'a', jti: 'j', ...claims }).setProtectedHeader({ alg: 'HS256', ...header } as never).setExpirationTime('5m').sign(secret);
        let error: unknown;
        await manager.tokens.decodeToken(token).catch((e: unknown) => { error = e; });
        expect(error, JSON.stringify([header, claims])).to.be.instanceOf(JwtDecodeError).with.property('message', message);
      }
      // A string kid without a ring is just a header parameter.
      expect(await jwt.tokens.decodeToken(await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'HS256', kid: 'any' }).setExpirationTime('5m').sign(secret))).to.include({ sub: 'a' });
    });

    it('honours leeway on exp, nbf and iat', async () => {
      const lenient = new JwtManager({ secretKey: SECRET, leeway: 60 });
      const t = nowSeconds();
      const token = await new SignJWT({ sub: 'a', iat: t + 30, nbf: t + 30, exp: t - 30 }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
      expect(await lenient.tokens.decodeToken(token)).to.include({ sub: 'a' });
      let error: unknown;
      await jwt.tokens.decodeToken(token).catch((e: unknown) => { error = e; });
      // Without leeway it is expired and not yet valid: PyJWT checks iat before exp.
      expect(error).to.be.instanceOf(JwtDecodeError).and.have.property('message', 'The token is not yet valid (iat)');
      const expired = await new SignJWT({ sub: 'a', iat: t - 90, exp: t - 30 }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
      expect(await lenient.tokens.decodeToken(expired)).to.include({ sub: 'a' });
      await jwt.tokens.decodeToken(expired).catch((e: unknown) => { error = e; });
      expect(error).to.be.instanceOf(ExpiredTokenError);
    });

    it('checks audience and issuer when configured, without echoing the expected value', async () => {
      const strict = new JwtManager({ secretKey: SECRET, decodeAudience: ['api', 'admin-api'], decodeIssuer: 'https://auth.example' });
      const mint = (claims: Record<string, unknown>) => new SignJWT({ sub: 'a', ...claims }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret);
      expect(await strict.tokens.decodeToken(await mint({ aud: ['other', 'admin-api'], iss: 'https://auth.example' }))).to.include({ sub: 'a' });
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ iss: 'https://auth.example' }, 'Token is missing the "aud" claim'],
        [{ aud: 'other', iss: 'https://auth.example' }, 'Invalid audience'],
        [{ aud: 'api' }, 'Token is missing the "iss" claim'],
        [{ aud: 'api', iss: 'https://evil.example' }, 'Invalid issuer'],
      ];
      for (const [claims, message] of cases) {
        let error: unknown;
        await strict.tokens.decodeToken(await mint(claims)).catch((e: unknown) => { error = e; });
        expect(error).to.be.instanceOf(JwtDecodeError).with.property('message', message);
      }
    });
  });

  describe('interoperability with a second JOSE implementation (jose)', () => {
    it('our HS256 tokens verify with jose', async () => {
      const { payload, protectedHeader } = await jwtVerify(await jwt.tokens.createAccessToken('alice', { fresh: true }), secret, { algorithms: ['HS256'] });
      expect(protectedHeader.alg).to.equal('HS256');
      expect(payload).to.include({ sub: 'alice', type: 'access', fresh: true });
    });

    it('a token minted by jose with the same claims and secret is accepted', async () => {
      const token = await new SignJWT({ fresh: false, type: 'refresh', jti: 'j-1' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('alice').setIssuedAt().setNotBefore('0s').setExpirationTime('5m').sign(secret);
      expect(await jwt.tokens.decodeToken(token)).to.include({ sub: 'alice', type: 'refresh', jti: 'j-1' });
    });

    it('a minimal token (no type, no fresh) counts as a non-fresh access token, as in Flask-JWT-Extended', async () => {
      const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('5m').sign(secret);
      expect(await jwt.tokens.decodeToken(token)).to.include({ sub: 'alice', type: 'access', fresh: false });
    });

    for (const [alg, options] of [
      ['RS256', { type: 'rsa', modulusLength: 2048 }], ['PS384', { type: 'rsa', modulusLength: 2048 }],
      ['ES256', { type: 'ec', namedCurve: 'prime256v1' }], ['ES512', { type: 'ec', namedCurve: 'secp521r1' }],
    ] as const) {
      it(`${alg}: ours verify with jose, jose's verify with ours`, async () => {
        const { privateKey, publicKey } = options.type === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: options.modulusLength })
          : generateKeyPairSync('ec', { namedCurve: options.namedCurve });
        const manager = new JwtManager({ algorithm: alg, privateKey });
        const joseKey = await importSPKI(await exportSPKI(publicKey), alg);
        const { payload } = await jwtVerify(await manager.tokens.createAccessToken('alice'), joseKey, { algorithms: [alg] });
        expect(payload).to.include({ sub: 'alice', type: 'access' });
        const theirs = await new SignJWT({ type: 'access' }).setProtectedHeader({ alg }).setSubject('bob').setExpirationTime('5m').sign(privateKey);
        // ES signatures come in a low-s and a high-s form; jose emits either. The low one is accepted.
        expect(await manager.tokens.decodeToken(lowS(alg, theirs))).to.include({ sub: 'bob' });
      });
    }
  });
});

describe('the clock option: the time the library reads', () => {
  it('mints and verifies on it: iat is its time, a token is refused once it passes exp', async () => {
    const clock = new TestClock();
    const jwt = new JwtManager({ secretKey: SECRET, accessTokenExpires: 60, clock });
    clock.advance(-3_600_000); // an hour back: nothing may read the real time
    const claims = await jwt.tokens.decodeToken(await jwt.tokens.createAccessToken('alice'));
    expect(claims.iat).to.equal(Math.floor(clock.now() / 1000));
    expect(claims.exp).to.equal(claims.iat! + 60);
    const token = await jwt.tokens.createAccessToken('alice');
    clock.advance(61_000);
    const refused = await jwt.tokens.decodeToken(token).then(() => undefined, (error: unknown) => error);
    expect(refused).to.be.instanceOf(ExpiredTokenError);
  });

  it('is an object with now(); anything else is refused, saying so', () => {
    expect(() => new JwtManager({ secretKey: SECRET, clock: {} as unknown as TestClock })).to.throw(/`clock` has a `now\(\)`/);
  });
});
