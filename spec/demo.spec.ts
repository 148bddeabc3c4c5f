import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import supertest from 'supertest';
import { JwtManager } from '../src';
import { manualClock, startDemoInProcess, type InProcessDemo, type ManualClock } from './demo-app';
import { forEachDriver, hmacToken, SECRET } from './helpers';

/** Starts the demo exactly as `npm start` does, on an ephemeral port; resolves once it prints its URL. */
async function startDemo(env: Record<string, string>): Promise<{ url: string; stdout: () => string; stderr: () => string; child: ChildProcess }> {
  const { JWT_SECRET_KEY: _secret, JWT_ALGORITHM: _alg, JWT_PRIVATE_KEY: _key, ...inherited } = process.env;
  const child = spawn(process.execPath, [join(__dirname, '..', 'demo', 'main.js')], {
    env: { ...inherited, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk; });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${stderr}`)));
  });
  expect(stdout).to.contain(`curl -s -X POST ${url}/login`);
  expect(stdout).to.contain(env.DRIVER === 'express' ? '(Express;' : '(Koa;');
  return { url, stdout: () => stdout, stderr: () => stderr, child };
}

describe('demo API, end to end', () => forEachDriver(function (driver) {
  this.timeout(20_000);
  let demo: Awaited<ReturnType<typeof startDemo>>;
  let request: ReturnType<typeof supertest>;

  before(async () => {
    demo = await startDemo({ DRIVER: driver });
    request = supertest(demo.url);
  });
  after(async () => {
    demo.child.kill();
    await once(demo.child, 'exit');
  });

  it('warns that it generated a secret, asking for as many bytes as the README (32 for HS256)', () => {
    expect(demo.stderr()).to.match(/WARNING: JWT_SECRET_KEY is not set/);
    expect(demo.stderr()).to.contain('at least 32 bytes for HS256 (openssl rand -base64 32)');
    expect(demo.stderr()).not.to.match(/64 bytes/);
  });

  it('says why its JWK Set is empty with an HMAC secret, instead of a bare curl line', () => {
    expect(demo.stdout()).to.contain('an HMAC secret has none, so it answers {"keys":[]}');
    expect(demo.stdout()).to.contain('JWT_ALGORITHM=ES256 npm start');
    expect(demo.stdout()).not.to.match(/curl -s \S+\/\.well-known\/jwks\.json/);
  });

  it('answers bad credentials and a malformed JSON body with { msg }, never text/plain or the body', async () => {
    const bad = await request.post('/login').send({ username: 'test', password: 'wrong' }).expect(401).expect('Content-Type', /^application\/json/);
    expect(bad.body).to.deep.equal({ msg: 'Bad username or password' });
    for (const body of ['{"username": "test", "password": "hunter2"', '{', 'not json', '{"a":1}}']) {
      const res = await request.post('/login').set('Content-Type', 'application/json').send(body).expect(400).expect('Content-Type', /^application\/json/);
      expect(res.body, body).to.deep.equal({ msg: 'Malformed JSON body' });
    }
    const cookie = await request.post('/cookie/login').set('Content-Type', 'application/json').send('{').expect(400);
    expect(cookie.body).to.deep.equal({ msg: 'Malformed JSON body' });
  });

  it('answers a header beyond node\'s 16 KiB limit with 431 { msg }, which the client reads (no connection reset)', async () => {
    const res = await request.get('/protected').set('Authorization', `Bearer ${'a'.repeat(100_000)}`).expect(431).expect('Content-Type', /^application\/json/);
    expect(res.body).to.deep.equal({ msg: 'Request Header Fields Too Large' });
  });

  it('validates the login body with class-validator, without echoing it', async () => {
    const res = await request.post('/login').send({ username: 'test', password: 42 }).expect(400);
    expect(JSON.stringify(res.body)).to.contain('password must be a string');
    expect(JSON.stringify(res.body)).not.to.contain('"value"');
    expect(JSON.stringify(res.body)).not.to.contain('"target"');
  });

  it('refuses bad credentials', async () => {
    await request.post('/login').send({ username: 'test', password: 'wrong' }).expect(401);
    await request.post('/login').send({ username: 'nobody', password: 'test' }).expect(401);
  });

  it('logs in, refreshes, guards fresh and optional routes, changes the password', async () => {
    const { access_token: access, refresh_token: refresh } = (await request.post('/login').send({ username: 'test', password: 'test' }).expect(200)).body;
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

    expect((await request.get('/protected').set(bearer(access)).expect(200)).body).to.deep.equal({ logged_in_as: 'test' });
    await request.get('/protected').expect(401);
    expect((await request.get('/protected').set(bearer(refresh)).expect(422)).body).to.deep.equal({ msg: 'Only non-refresh tokens are allowed' });

    const refreshed = (await request.post('/refresh').set(bearer(refresh)).expect(200)).body.access_token as string;
    await request.get('/protected').set(bearer(refreshed)).expect(200);
    await request.post('/refresh').set(bearer(access)).expect(422);

    // A refreshed token is not fresh: the password change needs the password again.
    expect((await request.post('/change-password').set(bearer(refreshed)).send({ newPassword: 'correct horse' }).expect(401)).body)
      .to.deep.equal({ msg: 'Fresh token required' });
    const fresh = (await request.post('/fresh-login').send({ username: 'test', password: 'test' }).expect(200)).body.access_token as string;
    await request.post('/change-password').set(bearer(fresh)).send({ newPassword: 'short' }).expect(400);
    await request.post('/change-password').set(bearer(fresh)).send({ newPassword: 'correct horse' }).expect(200);
    await request.post('/login').send({ username: 'test', password: 'test' }).expect(401);
    await request.post('/login').send({ username: 'test', password: 'correct horse' }).expect(200);

    // The password change ended the session of the first login: its token is refused, even where a token is optional.
    await request.get('/protected').set(bearer(access)).expect(401, { msg: 'Token has been revoked' });
    await request.get('/optional').set(bearer(access)).expect(401);
    expect((await request.get('/optional').expect(200)).body).to.deep.equal({ msg: 'Hello, anonymous' });
    const { access_token: again } = (await request.post('/login').send({ username: 'test', password: 'correct horse' }).expect(200)).body;
    expect((await request.get('/optional').set(bearer(again)).expect(200)).body).to.include({ logged_in_as: 'test' });
  });

  it('rotates refresh tokens, and /logout revokes the session (memory store)', async () => {
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    const session = (await request.post('/login').send({ username: 'test', password: 'correct horse' }).expect(200)).body;
    const rotated = (await request.post('/refresh').set(bearer(session.refresh_token)).expect(200)).body;
    expect(rotated).to.have.keys('access_token', 'refresh_token');
    await request.post('/logout').set(bearer(rotated.access_token)).expect(200);
    expect((await request.get('/protected').set(bearer(rotated.access_token)).expect(401)).body).to.deep.equal({ msg: 'Token has been revoked' });
    await request.post('/refresh').set(bearer(rotated.refresh_token)).expect(401);
    await request.get('/protected').set(bearer(session.access_token)).expect(401);
  });

  it('serves an empty JWK Set with an HMAC secret', async () => {
    expect((await request.get('/.well-known/jwks.json').expect(200)).body).to.deep.equal({ keys: [] });
  });

  it('with JWT_ALGORITHM=ES256 signs with a generated key whose JWKS verifies its tokens (jose)', async () => {
    const es = await startDemo({ DRIVER: driver, JWT_ALGORITHM: 'ES256' });
    try {
      expect(es.stderr()).to.match(/WARNING: JWT_PRIVATE_KEY is not set/);
      expect(es.stdout()).to.contain(`curl -s ${es.url}/.well-known/jwks.json`);
      const { access_token: token } = (await supertest(es.url).post('/login').send({ username: 'test', password: 'test' }).expect(200)).body;
      const jwks = (await supertest(es.url).get('/.well-known/jwks.json').expect(200)).body;
      expect(jwks.keys).to.have.length(1);
      expect(jwks.keys[0]).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(jwks.keys[0]).not.to.have.property('d');
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks));
      expect(protectedHeader.kid).to.equal(jwks.keys[0].kid);
      expect(payload).to.include({ sub: 'test', type: 'access', fresh: true });
    } finally {
      es.child.kill();
      await once(es.child, 'exit');
    }
  });

  it('uses JWT_SECRET_KEY when set: tokens from the same secret are accepted, no warning', async () => {
    const withSecret = await startDemo({ DRIVER: driver, JWT_SECRET_KEY: SECRET });
    try {
      expect(withSecret.stderr()).not.to.contain('WARNING');
      const token = await new JwtManager({ secretKey: SECRET }).tokens.createAccessToken('someone');
      const res = await supertest(withSecret.url).get('/protected').set('Authorization', `Bearer ${token}`).expect(200);
      expect(res.body).to.deep.equal({ logged_in_as: 'someone' });
    } finally {
      withSecret.child.kill();
      await once(withSecret.child, 'exit');
    }
  });
}));

describe('demo cookie logout', () => forEachDriver(function (driver) {
  this.timeout(20_000);
  let demo: Awaited<ReturnType<typeof startDemo>>;
  let request: ReturnType<typeof supertest>;
  const jwt = new JwtManager({ secretKey: SECRET, tokenLocation: ['headers', 'cookies'] });

  before(async () => {
    demo = await startDemo({ DRIVER: driver, JWT_SECRET_KEY: SECRET });
    request = supertest(demo.url);
  });
  after(async () => {
    demo.child.kill();
    await once(demo.child, 'exit');
  });

  /** A cookie login: the token cookies, and the access token re-made as expired (same claims, same family). */
  async function login() {
    const res = await request.post('/cookie/login').send({ username: 'test', password: 'test' }).expect(200);
    const value = (name: string) => ([] as string[]).concat(res.headers['set-cookie']).find((line) => line.startsWith(`${name}=`))!.split(';')[0].split('=')[1];
    const access = await jwt.tokens.decodeToken(value('access_token_cookie'));
    const refresh = await jwt.tokens.decodeToken(value('refresh_token_cookie'));
    const expired = hmacToken({ alg: 'HS256', typ: 'JWT' }, { ...access, iat: access.iat! - 3600, nbf: access.nbf! - 3600, exp: access.exp! - 3600 });
    return { refreshToken: value('refresh_token_cookie'), expired, access, refresh };
  }
  const cleared = (res: supertest.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? [])
    .filter((line) => /Max-Age=0/.test(line)).map((line) => line.split('=')[0]).sort();
  const refreshWith = (token: string, csrf: string) => request.post('/cookie/refresh').set('Cookie', `refresh_token_cookie=${token}`).set('X-CSRF-TOKEN', csrf);

  it('with an expired access cookie: clears every cookie and revokes the session the refresh cookie keeps alive', async () => {
    const { refreshToken, expired, refresh } = await login();
    const res = await request.post('/cookie/logout').set('Cookie', `access_token_cookie=${expired}; refresh_token_cookie=${refreshToken}`)
      .set('X-CSRF-TOKEN', refresh.csrf as string).expect(200, { msg: 'Logged out' });
    expect(cleared(res)).to.deep.equal(['access_token_cookie', 'csrf_access_token', 'csrf_refresh_token', 'refresh_token_cookie']);
    await refreshWith(refreshToken, refresh.csrf as string).expect(401, { msg: 'Token has been revoked' });
  });

  it('vouched for by the expired access token\'s CSRF value, or with the refresh cookie alone', async () => {
    const first = await login();
    await request.post('/cookie/logout').set('Cookie', `access_token_cookie=${first.expired}; refresh_token_cookie=${first.refreshToken}`)
      .set('X-CSRF-TOKEN', first.access.csrf as string).expect(200);
    await refreshWith(first.refreshToken, first.refresh.csrf as string).expect(401);
    const second = await login();
    const res = await request.post('/cookie/logout').set('Cookie', `refresh_token_cookie=${second.refreshToken}`).set('X-CSRF-TOKEN', second.refresh.csrf as string).expect(200);
    expect(cleared(res)).to.have.length(4);
    await refreshWith(second.refreshToken, second.refresh.csrf as string).expect(401);
  });

  it('the header logout: with an expired access token, revokes the session its refresh token keeps alive', async () => {
    const login = (await request.post('/login').send({ username: 'test', password: 'test' }).expect(200)).body as { access_token: string; refresh_token: string };
    const access = await jwt.tokens.decodeToken(login.access_token);
    const expired = hmacToken({ alg: 'HS256', typ: 'JWT' }, { ...access, iat: access.iat! - 3600, nbf: access.nbf! - 3600, exp: access.exp! - 3600 });
    await request.post('/logout').set('Authorization', `Bearer ${expired}`).send({ refresh_token: login.refresh_token }).expect(200, { msg: 'Logged out' });
    await request.post('/refresh').set('Authorization', `Bearer ${login.refresh_token}`).expect(401, { msg: 'Token has been revoked' });
    // Nothing to identify, or a forged token: refused, nothing revoked.
    await request.post('/logout').expect(401, { msg: 'Missing Authorization Header' });
    await request.post('/logout').set('Authorization', `Bearer ${hmacToken({ alg: 'HS256', typ: 'JWT' }, access, 'another-secret-that-is-long-enough-0123456789')}`)
      .expect(422, { msg: 'Signature verification failed' });
  });

  it('without cookies, or without the CSRF value (a forged form), clears cookies but revokes nothing', async () => {
    expect(cleared(await request.post('/cookie/logout').expect(200, { msg: 'Logged out' }))).to.have.length(4);
    const { refreshToken, expired, refresh } = await login();
    await request.post('/cookie/logout').set('Cookie', `access_token_cookie=${expired}; refresh_token_cookie=${refreshToken}`).expect(200);
    await request.post('/cookie/logout').set('Cookie', `refresh_token_cookie=${refreshToken}`).set('X-CSRF-TOKEN', 'forged').expect(200);
    await refreshWith(refreshToken, refresh.csrf as string).expect(200);
  });
}));

describe('key rotation example (demo/rotation.ts)', () => {
  it('runs: publishes, switches the signing key, keeps old tokens until the old key retires', async () => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'demo', 'rotation.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => { out += chunk; });
    const [code] = await once(child, 'exit');
    expect(code).to.equal(0);
    expect(out).to.contain('1. published: 2026-10, 2026-11');
    expect(out).to.contain('2. signing with 2026-11 - old token still valid for alice');
    expect(out).to.contain('3. retired 2026-10; its tokens now: Unknown "kid"');
    const jwks = JSON.parse(out.slice(out.indexOf('JWKS: ') + 6));
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).to.deep.equal(['2026-11']);
  });
});

describe('demo API, in process (clock and limits set by the test)', () => forEachDriver(function (driver) {
  this.timeout(20_000);
  let demo: InProcessDemo;
  let clock: ManualClock;
  const limits = { perAccount: 3, perClient: 8, windowMs: 60_000, maxKeys: 4 };
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeEach(async () => {
    clock = manualClock();
    demo = await startDemoInProcess(driver, { throttle: { ...limits, clock: clock.now } });
  });
  afterEach(() => demo.close());

  const login = (username: string, password: string) => demo.request.post('/login').send({ username, password });

  it('change-password ends every other session of the user; the session that changed it lives on', async () => {
    const here = (await login('test', 'test').expect(200)).body;
    const stolen = (await login('test', 'test').expect(200)).body;
    const cookie = await demo.request.post('/cookie/login').send({ username: 'test', password: 'test' }).expect(200);
    await demo.request.post('/change-password').set(bearer(here.access_token)).send({ newPassword: 'correct horse' }).expect(200);

    await demo.request.get('/protected').set(bearer(here.access_token)).expect(200);
    await demo.request.post('/refresh').set(bearer(here.refresh_token)).expect(200);
    await demo.request.get('/protected').set(bearer(stolen.access_token)).expect(401, { msg: 'Token has been revoked' });
    await demo.request.post('/refresh').set(bearer(stolen.refresh_token)).expect(401);
    await demo.request.get('/cookie/sessions').set('Cookie', ([] as string[]).concat(cookie.headers['set-cookie']).map((line) => line.split(';')[0]).join('; '))
      .expect(401);
  });

  it('a fresh-login token belongs to no session: changing the password with it ends every session', async () => {
    const session = (await login('test', 'test').expect(200)).body;
    const fresh = (await demo.request.post('/fresh-login').send({ username: 'test', password: 'test' }).expect(200)).body.access_token as string;
    await demo.request.post('/change-password').set(bearer(fresh)).send({ newPassword: 'correct horse' }).expect(200);
    await demo.request.post('/refresh').set(bearer(session.refresh_token)).expect(401);
    await login('test', 'correct horse').expect(200);
  });

  it('every login route takes JSON only: a url-encoded form (login CSRF), text/plain or no body answers 415 and sets no cookie', async () => {
    for (const path of ['/login', '/fresh-login', '/cookie/login']) {
      const form = await demo.request.post(path).type('form').send('username=test&password=test').expect(415);
      expect(form.body, path).to.deep.equal({ msg: 'Content-Type must be application/json' });
      expect(form.headers['set-cookie'], path).to.equal(undefined);
      await demo.request.post(path).set('Content-Type', 'text/plain').send('{"username":"test","password":"test"}').expect(415);
      await demo.request.post(path).expect(415);
      await demo.request.post(path).set('Content-Type', 'application/json; charset=utf-8').send('{"username":"test","password":"test"}').expect(200);
    }
  });

  it('cookies are SameSite=Lax, and not Secure on loopback', async () => {
    const res = await demo.request.post('/cookie/login').send({ username: 'test', password: 'test' }).expect(200);
    const lines = ([] as string[]).concat(res.headers['set-cookie']);
    expect(lines).to.have.length(4);
    for (const line of lines) {
      expect(line).to.match(/; SameSite=Lax(;|$)/);
      expect(line).not.to.match(/; Secure/);
    }
  });

  it('an account that failed its limit is refused, the right password too, with 429 and Retry-After until the window passes', async () => {
    for (let i = 0; i < limits.perAccount; i++) await login('test', `wrong-${i}`).expect(401);
    const refused = await login('test', 'test').expect(429);
    expect(refused.body).to.deep.equal({ msg: 'Too many failed logins; try again later' });
    expect(refused.headers['retry-after']).to.equal('60');
    await demo.request.post('/cookie/login').send({ username: 'test', password: 'test' }).expect(429);
    await demo.request.post('/fresh-login').send({ username: 'test', password: 'test' }).expect(429);
    clock.advance(45_000);
    expect((await login('test', 'test').expect(429)).headers['retry-after']).to.equal('15');
    clock.advance(15_000);
    await login('test', 'test').expect(200);
  });

  it('40 wrong passwords in a row: the throttle answers from the limit on, and the right one does not work then', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await login('test', `guess-${i}`)).status);
    expect(statuses.filter((status) => status === 401)).to.have.length(limits.perAccount);
    expect(statuses.slice(limits.perAccount).every((status) => status === 429)).to.equal(true);
    await login('test', 'test').expect(429);
  });

  it('concurrent guesses are counted as they start: a burst gets no more answers than the limit', async () => {
    const statuses = (await Promise.all(Array.from({ length: 12 }, (_, i) => login('test', `burst-${i}`)))).map((res) => res.status);
    expect(statuses.filter((status) => status === 401)).to.have.length(limits.perAccount);
    expect(statuses.filter((status) => status === 429)).to.have.length(12 - limits.perAccount);
  });

  it('a client rotating accounts is stopped by its own limit, and its successful logins in between reset nothing', async () => {
    for (let i = 0; i < limits.perClient; i++) {
      await login(`victim-${i}`, 'guess').expect(401);
      // The attacker's own account, between guesses: a success takes back its own attempt only.
      if (i < limits.perClient - 1) await login('test', 'test').expect(200);
    }
    await login('victim-next', 'guess').expect(429);
    await login('test', 'test').expect(429);
    clock.advance(limits.windowMs);
    await login('test', 'test').expect(200);
  });

  it('bounded memory: at most maxKeys accounts are counted; past it the oldest count is dropped', async () => {
    for (let i = 0; i < limits.perAccount; i++) await login('test', `wrong-${i}`).expect(401);
    await login('test', 'test').expect(429);
    for (const name of ['a', 'b', 'c']) await login(name, 'x').expect(401);
    await login('test', 'test').expect(429); // four accounts counted: all of them
    await login('d', 'x').expect(401); // a fifth: the oldest, 'test', is dropped
    await login('test', 'test').expect(200);
  });

  it('refuses what is not a JSON object on every body route with 400 { msg }, never 500', async () => {
    const fresh = (await demo.request.post('/fresh-login').send({ username: 'test', password: 'test' }).expect(200)).body.access_token as string;
    const routes: Array<[string, Record<string, string>]> = [['/login', {}], ['/fresh-login', {}], ['/cookie/login', {}], ['/change-password', bearer(fresh)]];
    for (const [path, headers] of routes) {
      for (const body of ['[]', '[{"username":"test","password":"test"}]', '[["test","test"]]', '[1]', '["a"]', '[null]']) {
        const res = await demo.request.post(path).set(headers).set('Content-Type', 'application/json').send(body).expect(400);
        expect(res.body, `${path} ${body}`).to.deep.equal({ msg: 'The body must be a JSON object' });
      }
      for (const body of ['null', '"test"', '42', 'true']) {
        expect((await demo.request.post(path).set(headers).set('Content-Type', 'application/json').send(body).expect(400)).body).to.have.property('msg');
      }
    }
    await demo.request.post('/change-password').set(bearer(fresh)).send({ newPassword: 'long enough' }).expect(200);
  });

  it('POST /logout with a refresh_token that is not a string answers 422 { msg }', async () => {
    for (const value of [true, false, 42, 0, {}, { a: 1 }, ['x'], [], 'not.a.token']) {
      const res = await demo.request.post('/logout').send({ refresh_token: value });
      expect([res.status, res.body], JSON.stringify(value)).to.satisfy(([status, body]: [number, { msg?: unknown }]) =>
        (status === 422 || status === 401) && typeof body.msg === 'string');
    }
    expect((await demo.request.post('/logout').send({ refresh_token: true }).expect(422)).body).to.deep.equal({ msg: 'Invalid token type: a token is a string' });
  });
}));

describe('demo API, started on a non-loopback host', () => forEachDriver(function (driver) {
  this.timeout(20_000);
  it('sets Secure cookies (SameSite=Lax) when HOST is not loopback', async () => {
    const demo = await startDemo({ DRIVER: driver, HOST: '0.0.0.0' });
    try {
      const res = await supertest(demo.url).post('/cookie/login').send({ username: 'test', password: 'test' }).expect(200);
      for (const line of ([] as string[]).concat(res.headers['set-cookie'])) expect(line).to.match(/; Secure; SameSite=Lax$/);
    } finally {
      demo.child.kill();
      await once(demo.child, 'exit');
    }
  });
}));
