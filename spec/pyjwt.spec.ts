import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Get, JsonController, Post } from 'routing-controllers';
import { ALGORITHMS, CurrentIdentity, JwtRefreshTokenRequired, JwtRequired, type Algorithm, type JwtConfig } from '../src';
import { isHighS, toLowS } from '../src/ecdsa';
import { SECRET, startServer, type TestServer } from './helpers';
import { requireService } from './services';

/**
 * The differential check against PyJWT, from Debian's python3-jwt: tokens minted by
 * PyJWT are accepted here and ours by PyJWT, for every algorithm; and a token with
 * two faults gets the answer Flask-JWT-Extended 4.7 gives (spec/pyjwt/reference.py
 * decides like it, on PyJWT), except where README's "Differences on purpose" says
 * why not.
 */
const PYTHON = '/usr/bin/python3';
const REFERENCE = join(__dirname, '..', '..', 'spec', 'pyjwt', 'reference.py');
const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const OTHER_SECRET = 'another-secret-that-is-long-enough-for-hs512-0123456789abcdef-0123';

interface Mint { alg: string; key: string; header?: Record<string, unknown>; payload?: unknown; header_hex?: string; payload_hex?: string; manual?: boolean }
interface Decide { token: string; algorithms: string[]; key: string; audience?: string; issuer?: string; csrf?: string; refresh?: boolean }
interface Decision { status: number; msg?: string; identity?: string }

function python<T>(request: { mint: Mint[] } | { decide: Decide[] }): T {
  const run = spawnSync(PYTHON, [REFERENCE], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`reference.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
const mint = (requests: Mint[]): string[] => python<{ tokens: string[] }>({ mint: requests }).tokens;
const decide = (requests: Decide[]): Decision[] => python<{ decisions: Decision[] }>({ decide: requests }).decisions;

const pem = (key: import('node:crypto').KeyObject, type: 'pkcs8' | 'spki') => key.export({ type, format: 'pem' }) as string;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ecKeys: Record<string, ReturnType<typeof generateKeyPairSync>> = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }),
  ES384: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }),
  ES512: generateKeyPairSync('ec', { namedCurve: 'secp521r1' }),
};
/** The private (signing) and public (verifying) key of an algorithm, as PEM or secret. */
function keysOf(alg: Algorithm): { sign: string; verify: string; config: JwtConfig } {
  if (alg.startsWith('HS')) return { sign: SECRET, verify: SECRET, config: { algorithm: alg, secretKey: SECRET } };
  const pair = alg.startsWith('ES') ? ecKeys[alg] : rsa;
  return { sign: pem(pair.privateKey, 'pkcs8'), verify: pem(pair.publicKey, 'spki'), config: { algorithm: alg, privateKey: pair.privateKey } };
}

const now = () => Math.floor(Date.now() / 1000);
/** Claims laid out as Flask-JWT-Extended 4 lays them out. */
function flaskClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = now();
  const claims: Record<string, unknown> = { fresh: false, iat, jti: randomUUID(), type: 'access', sub: 'alice', nbf: iat, exp: iat + 900, ...overrides };
  for (const [claim, value] of Object.entries(claims)) if (value === undefined) delete claims[claim];
  return claims;
}
const EXPIRED = { iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 };

/** The ES token with the other s of the pair (r, s) / (r, n − s): the same claims, the other valid signature. */
function sTwin(alg: string, token: string): string {
  const [h, p, s] = token.split('.');
  const signature = Buffer.from(s, 'base64url');
  const half = signature.length / 2;
  const low = toLowS(alg, Buffer.from(signature));
  if (!signature.equals(low)) return `${h}.${p}.${low.toString('base64url')}`;
  // Low already: n − s is the high twin (toLowS of the twin gives s back).
  const orders: Record<string, bigint> = {
    ES256: BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
    ES384: BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
    ES512: BigInt('0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409'),
  };
  const high = orders[alg] - BigInt(`0x${signature.subarray(half).toString('hex')}`);
  Buffer.from(high.toString(16).padStart(half * 2, '0'), 'hex').copy(signature, half);
  return `${h}.${p}.${signature.toString('base64url')}`;
}

@JsonController('/py')
class PyRoutes {
  @Get('/access') @JwtRequired() access(@CurrentIdentity() id: string) { return { id }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return { id }; }
  @Post('/cookie') @JwtRequired() cookie(@CurrentIdentity() id: string) { return { id }; }
}

/** Our answer to `token` on a route: status and msg, or 200 and the identity. */
async function ours(server: TestServer, token: string, route: 'access' | 'refresh' | 'cookie', csrf?: string): Promise<Decision> {
  const res = route === 'access' ? await server.request.get('/py/access').set('Authorization', `Bearer ${token}`)
    : route === 'refresh' ? await server.request.post('/py/refresh').set('Authorization', `Bearer ${token}`)
      : await server.request.post('/py/cookie').set('Cookie', `access_token_cookie=${token}`).set('X-CSRF-TOKEN', csrf ?? '');
  expect(res.status, res.text).to.be.below(500);
  return res.status === 200 ? { status: 200, identity: res.body.id } : { status: res.status, msg: res.body.msg };
}

describe('PyJWT (python3-jwt) differential', function () {
  this.timeout(120_000);

  before(function () {
    const probe = spawnSync(PYTHON, ['-c', 'import jwt, cryptography; print(jwt.__version__)'], { encoding: 'utf8' });
    requireService(this, probe.status === 0, `${PYTHON} cannot import jwt and cryptography (apt-get install python3-jwt)`);
  });

  describe('interoperability, both directions, every algorithm', () => {
    for (const alg of ALGORITHMS) {
      it(`${alg}: PyJWT's tokens are accepted here, ours by PyJWT`, async () => {
        const keys = keysOf(alg);
        const server = await startServer([PyRoutes], { ...keys.config, refreshTokenExpires: '1h' });
        try {
          // Several tokens: about half of PyJWT's ES signatures have a high s, accepted by default.
          const count = alg.startsWith('ES') ? 6 : 2;
          const theirs = mint(Array.from({ length: count }, (_, i) => ({ alg, key: keys.sign, payload: flaskClaims({ sub: `py-${i}` }) })));
          if (alg.startsWith('ES')) theirs.push(...theirs.map((token) => sTwin(alg, token)));
          expect(theirs.some((token) => alg.startsWith('ES') && isHighS(alg, Buffer.from(token.split('.')[2], 'base64url')))).to.equal(alg.startsWith('ES'));
          for (const token of theirs) {
            const sub = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub;
            expect(await ours(server, token, 'access'), token).to.deep.equal({ status: 200, identity: sub });
          }
          const access = await server.jwt.tokens.createAccessToken('bob');
          const refresh = await server.jwt.tokens.createRefreshToken('bob');
          const verdicts = decide([
            { token: access, algorithms: [alg], key: keys.verify },
            { token: refresh, algorithms: [alg], key: keys.verify, refresh: true },
            ...theirs.map((token) => ({ token, algorithms: [alg], key: keys.verify })),
          ]);
          expect(verdicts.slice(0, 2)).to.deep.equal([{ status: 200, identity: 'bob' }, { status: 200, identity: 'bob' }]);
          for (const verdict of verdicts.slice(2)) expect(verdict.status).to.equal(200);
        } finally {
          await server.close();
        }
      });
    }

    for (const alg of ['ES256', 'ES384', 'ES512'] as const) {
      it(`${alg} with allowHighS: false takes the canonical low-s form only`, async () => {
        const keys = keysOf(alg);
        const server = await startServer([PyRoutes], { ...keys.config, allowHighS: false });
        try {
          const [token] = mint([{ alg, key: keys.sign, payload: flaskClaims() }]);
          const twin = sTwin(alg, token);
          const [high, low] = isHighS(alg, Buffer.from(token.split('.')[2], 'base64url')) ? [token, twin] : [twin, token];
          expect(await ours(server, low, 'access')).to.deep.equal({ status: 200, identity: 'alice' });
          expect(await ours(server, high, 'access')).to.deep.equal({ status: 422, msg: 'Non-canonical signature (high S)' });
        } finally {
          await server.close();
        }
      });
    }
  });

  describe('one token, two faults: the answer Flask-JWT-Extended gives', () => {
    type Server = 'plain' | 'strict' | 'cookies';
    interface Case {
      name: string;
      server?: Server;
      route?: 'access' | 'refresh';
      token: Omit<Mint, 'key' | 'alg'> & { alg?: string; key?: string };
      csrf?: string;
      flask: Decision;
      /** Our answer where it differs on purpose, and the words README's "Differences on purpose" uses for it. */
      differs?: { ours: Decision; readme: string };
    }
    const utf8Hex = (json: string, bad: string) => Buffer.concat([Buffer.from(json.split('BAD')[0]), Buffer.from(bad, 'hex'), Buffer.from(json.split('BAD')[1])]).toString('hex');
    const invalid = (msg: string): Decision => ({ status: 422, msg });
    const cases: Case[] = [
      { name: 'a valid token', token: { payload: flaskClaims() }, flask: { status: 200, identity: 'alice' } },
      { name: 'expired + future iat', token: { payload: flaskClaims({ ...EXPIRED, iat: now() + 3600 }) }, flask: invalid('The token is not yet valid (iat)') },
      { name: 'expired + future nbf', token: { payload: flaskClaims({ ...EXPIRED, nbf: now() + 3600 }) }, flask: invalid('The token is not yet valid (nbf)') },
      { name: 'future nbf + future iat', token: { payload: flaskClaims({ nbf: now() + 3600, iat: now() + 3600 }) }, flask: invalid('The token is not yet valid (iat)') },
      { name: 'expired + missing sub', token: { payload: flaskClaims({ ...EXPIRED, sub: undefined }) }, flask: invalid('Missing claim: sub') },
      { name: 'expired + sub not a string', token: { payload: flaskClaims({ ...EXPIRED, sub: 42 }) }, flask: invalid('Subject must be a string') },
      { name: 'expired + jti not a string', token: { payload: flaskClaims({ ...EXPIRED, jti: 7 }) }, flask: invalid('JWT ID must be a string') },
      { name: 'jti not a string', token: { payload: flaskClaims({ jti: ['a'] }) }, flask: invalid('JWT ID must be a string') },
      { name: 'missing sub + jti not a string', token: { payload: flaskClaims({ sub: undefined, jti: 7 }) }, flask: invalid('JWT ID must be a string') },
      { name: 'sub and jti not strings', token: { payload: flaskClaims({ sub: 1, jti: 7 }) }, flask: invalid('Subject must be a string') },
      { name: 'expired refresh token on an access route', token: { payload: flaskClaims({ ...EXPIRED, type: 'refresh' }) }, flask: { status: 401, msg: 'Token has expired' } },
      { name: 'expired access token on a refresh route', route: 'refresh', token: { payload: flaskClaims(EXPIRED) }, flask: { status: 401, msg: 'Token has expired' } },
      { name: 'expired + unknown type', token: { payload: flaskClaims({ ...EXPIRED, type: 'id' }) }, flask: { status: 401, msg: 'Token has expired' } },
      { name: 'a refresh token on an access route', token: { payload: flaskClaims({ type: 'refresh' }) }, flask: invalid('Only non-refresh tokens are allowed') },
      { name: 'an access token on a refresh route', route: 'refresh', token: { payload: flaskClaims() }, flask: invalid('Only refresh tokens are allowed') },
      { name: 'bad signature + expired', token: { key: OTHER_SECRET, payload: flaskClaims(EXPIRED) }, flask: invalid('Signature verification failed') },
      { name: 'bad signature + payload not JSON', token: { key: OTHER_SECRET, payload_hex: Buffer.from('{"sub":').toString('hex') }, flask: invalid('Invalid payload string') },
      { name: 'payload a JSON array', token: { payload_hex: Buffer.from('[{"sub":"alice"}]').toString('hex') }, flask: invalid('Invalid payload string') },
      { name: 'kid not a string + bad signature', token: { key: OTHER_SECRET, manual: true, header: { kid: 123 }, payload: flaskClaims() }, flask: invalid('Key ID header parameter must be a string') },
      { name: 'kid not a string + payload not JSON', token: { header: { kid: { a: 1 } }, payload_hex: Buffer.from('nope').toString('hex') }, flask: invalid('Key ID header parameter must be a string') },
      { name: 'kid not a string', token: { manual: true, header: { kid: 123 }, payload: flaskClaims() }, flask: invalid('Key ID header parameter must be a string') },
      { name: 'payload with invalid UTF-8 (ff fe)', token: { payload_hex: utf8Hex(JSON.stringify(flaskClaims({ sub: 'user-BAD' })), 'fffe') }, flask: invalid('Invalid payload string') },
      { name: 'payload with invalid UTF-8 (fe ff) + expired', token: { payload_hex: utf8Hex(JSON.stringify(flaskClaims({ ...EXPIRED, sub: 'user-BAD' })), 'feff') }, flask: invalid('Invalid payload string') },
      { name: 'header with invalid UTF-8 + bad signature', token: { key: OTHER_SECRET, header_hex: utf8Hex('{"alg":"HS256","typ":"JWT","x":"BAD"}', 'fffe'), payload: flaskClaims() }, flask: invalid('Invalid header string') },
      { name: 'an HS512 token at an HS256 service + expired', token: { alg: 'HS512', payload: flaskClaims(EXPIRED) }, flask: invalid('The specified alg value is not allowed') },
      { name: 'alg none + expired', token: { alg: 'none', key: '', manual: true, payload: flaskClaims(EXPIRED) }, flask: invalid('The specified alg value is not allowed') },
      { name: 'strict: missing aud and iss', server: 'strict', token: { payload: flaskClaims() }, flask: invalid('Token is missing the "iss" claim') },
      { name: 'strict: wrong aud and wrong iss', server: 'strict', token: { payload: flaskClaims({ aud: 'other', iss: 'other' }) }, flask: invalid('Invalid issuer') },
      { name: 'strict: iss not a string + missing aud', server: 'strict', token: { payload: flaskClaims({ iss: ['iss-1'] }) }, flask: invalid('Payload Issuer (iss) must be a string') },
      { name: 'strict: expired + missing aud', server: 'strict', token: { payload: flaskClaims({ ...EXPIRED, iss: 'iss-1' }) }, flask: invalid('Token is missing the "aud" claim') },
      { name: 'strict: expired + wrong iss', server: 'strict', token: { payload: flaskClaims({ ...EXPIRED, iss: 'other', aud: 'aud-1' }) }, flask: invalid('Invalid issuer') },
      { name: 'strict: an empty aud list', server: 'strict', token: { payload: flaskClaims({ iss: 'iss-1', aud: [] }) }, flask: invalid('Token is missing the "aud" claim') },
      { name: 'strict: aud of the wrong type + expired', server: 'strict', token: { payload: flaskClaims({ ...EXPIRED, iss: 'iss-1', aud: [1] }) }, flask: invalid('Invalid claim format in token') },
      { name: 'strict: aud and iss right', server: 'strict', token: { payload: flaskClaims({ iss: 'iss-1', aud: ['x', 'aud-1'] }) }, flask: { status: 200, identity: 'alice' } },
      { name: 'cookies: expired + wrong CSRF', server: 'cookies', token: { payload: flaskClaims({ ...EXPIRED, csrf: 'right' }) }, csrf: 'wrong', flask: { status: 401, msg: 'CSRF double submit tokens do not match' } },
      { name: 'cookies: expired without a csrf claim', server: 'cookies', token: { payload: flaskClaims(EXPIRED) }, csrf: 'sent', flask: invalid('Missing claim: csrf') },
      { name: 'cookies: expired + missing sub + wrong CSRF', server: 'cookies', token: { payload: flaskClaims({ ...EXPIRED, sub: undefined, csrf: 'right' }) }, csrf: 'wrong', flask: invalid('Missing claim: sub') },
      { name: 'cookies: expired + right CSRF', server: 'cookies', token: { payload: flaskClaims({ ...EXPIRED, csrf: 'right' }) }, csrf: 'right', flask: { status: 401, msg: 'Token has expired' } },
      {
        name: 'cookies: a csrf claim that is not a string', server: 'cookies', token: { payload: flaskClaims({ csrf: 42 }) }, csrf: 'sent', flask: { status: 500 },
        differs: { ours: invalid('Invalid claim: csrf'), readme: 'nothing is ever a 500' },
      },
      { name: 'cookies: wrong CSRF + refresh token', server: 'cookies', token: { payload: flaskClaims({ type: 'refresh', csrf: 'right' }) }, csrf: 'wrong', flask: { status: 401, msg: 'CSRF double submit tokens do not match' } },
      // Our own checks come after Flask-JWT-Extended's: with one of its faults besides, its answer.
      { name: 'no exp + missing sub', token: { payload: flaskClaims({ exp: undefined, sub: undefined }) }, flask: invalid('Missing claim: sub') },
      { name: 'no exp + sub not a string', token: { payload: flaskClaims({ exp: undefined, sub: 5 }) }, flask: invalid('Subject must be a string') },
      { name: 'an aud without decodeAudience + missing sub', token: { payload: flaskClaims({ aud: 'somebody', sub: undefined }) }, flask: invalid('Missing claim: sub') },
      { name: 'an aud without decodeAudience + expired', token: { payload: flaskClaims({ ...EXPIRED, aud: 'somebody' }) }, flask: { status: 401, msg: 'Token has expired' } },
      // Differences on purpose: the same faults, our answer and why (README).
      {
        name: 'an unknown type', token: { payload: flaskClaims({ type: 'id' }) }, flask: { status: 200, identity: 'alice' },
        differs: { ours: invalid('Invalid claim: type'), readme: 'A `type` other than `access` or `refresh`' },
      },
      {
        name: 'no exp', token: { payload: flaskClaims({ exp: undefined }) }, flask: { status: 200, identity: 'alice' },
        differs: { ours: invalid('Token is missing the "exp" claim'), readme: 'A token without `exp`' },
      },
      {
        name: 'an aud without decodeAudience', token: { payload: flaskClaims({ aud: 'somebody' }) }, flask: { status: 200, identity: 'alice' },
        differs: { ours: invalid('Invalid audience: the token names an audience and this service accepts none (RFC 7519, section 4.1.3)'), readme: 'RFC 7519 §4.1.3' },
      },
      {
        name: 'strict: wrong audience', server: 'strict', token: { payload: flaskClaims({ iss: 'iss-1', aud: 'other' }) }, flask: invalid("Audience doesn't match"),
        differs: { ours: invalid('Invalid audience'), readme: "`Audience doesn't match`" },
      },
      {
        name: 'iat not a number + expired', token: { payload: flaskClaims({ ...EXPIRED, iat: 'soon' }) }, flask: invalid('Issued At claim (iat) must be an integer.'),
        differs: { ours: invalid('Issued At claim (iat) must be a number'), readme: 'must be a number' },
      },
      {
        // Python's json.loads reads bytes with 'surrogatepass'; RFC 3629 UTF-8 has no surrogates.
        name: 'a payload with a lone surrogate in UTF-8 form (ed a0 80)', token: { payload_hex: utf8Hex(JSON.stringify(flaskClaims({ sub: 'user-BAD' })), 'eda080') },
        flask: { status: 200, identity: 'user-\ud800' },
        differs: { ours: invalid('Invalid payload string'), readme: 'surrogate' },
      },
      {
        name: 'a duplicate sub', token: { payload_hex: Buffer.from(JSON.stringify(flaskClaims()).replace('"sub":"alice"', '"sub":"alice","sub":"admin"')).toString('hex') },
        flask: { status: 200, identity: 'admin' },
        differs: { ours: invalid('Duplicate member name in payload'), readme: 'A member name twice' },
      },
    ];

    const servers = {} as Record<Server, TestServer>;
    const configs: Record<Server, JwtConfig> = {
      plain: { secretKey: SECRET },
      strict: { secretKey: SECRET, decodeAudience: 'aud-1', decodeIssuer: 'iss-1' },
      cookies: { secretKey: SECRET, tokenLocation: ['cookies'] },
    };
    before(async () => {
      for (const name of Object.keys(configs) as Server[]) servers[name] = await startServer([PyRoutes], configs[name]);
    });
    after(async () => {
      await Promise.all(Object.values(servers).map((server) => server?.close()));
    });

    it('each case: the reference answers as Flask-JWT-Extended does, and so do we (or README says why not)', async () => {
      const tokens = mint(cases.map(({ token }) => ({ alg: 'HS256', key: SECRET, ...token, payload: token.payload })));
      const decisions = decide(cases.map((c, i) => ({
        token: tokens[i], algorithms: ['HS256'], key: SECRET, refresh: c.route === 'refresh', csrf: c.csrf,
        ...(c.server === 'strict' ? { audience: 'aud-1', issuer: 'iss-1' } : {}),
      })));
      const mismatches: string[] = [];
      for (const [i, c] of cases.entries()) {
        expect(decisions[i], `reference: ${c.name}`).to.deep.equal(c.flask);
        const server = servers[c.server ?? 'plain'];
        const answer = await ours(server, tokens[i], c.server === 'cookies' ? 'cookie' : c.route ?? 'access', c.csrf);
        const expected = c.differs?.ours ?? c.flask;
        if (JSON.stringify(answer) !== JSON.stringify(expected)) mismatches.push(`${c.name}: ours ${JSON.stringify(answer)}, expected ${JSON.stringify(expected)}`);
        if (c.differs) expect(README, `README explains: ${c.name}`).to.contain(c.differs.readme);
      }
      expect(mismatches).to.deep.equal([]);
    });
  });
});
