import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Get, JsonController, Post } from 'routing-controllers';
import { CurrentIdentity, JwtManager, JwtRequired, type DriverContext } from '../src';
import { DriverObject, forEachDriver, SECRET, startServer, type TestServer } from './helpers';
import { requireService } from './services';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The page's `document` as the functions run in the browser see it (this project compiles without DOM types). */
interface BrowserGlobal {
  document: {
    cookie: string;
    getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
  };
}

// Flags as this machine's probe runs Chromium: no sandbox as root, no background networking (the network is closed).
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The demo's cookie page in real headless Chromium (Debian's, driven by playwright-core). */
describe('browser: the demo page in headless Chromium', () => forEachDriver(function (driver) {
  this.timeout(60_000);
  let demo: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  let attacker: Server;
  // Everything the demo printed: its audit trail of events among it.
  let demoLog = '';

  before(async function () {
    requireService(this, existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
    demo = spawn(process.execPath, [join(__dirname, '..', 'demo', 'main.js')], {
      env: { ...process.env, PORT: '0', JWT_SECRET_KEY: SECRET, REDIS_URL: '', DRIVER: driver },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      demo.stdout!.on('data', (chunk: Buffer) => {
        out += chunk;
        demoLog += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      demo.once('exit', (code) => reject(new Error(`demo exited with ${code}`)));
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    // Another origin of the same site (same host, other port): its form posts carry the demo's cookies, but not the CSRF header.
    attacker = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form id="f" method="POST" action="${url}/whoami"><input name="x" value="1"></form><script>document.getElementById('f').submit()</script>`);
    });
    attacker.listen(0, '127.0.0.1');
    await once(attacker, 'listening');
  });

  after(async () => {
    await browser?.close();
    attacker?.close();
    if (demo && demo.exitCode === null) {
      demo.kill();
      await once(demo, 'exit');
    }
  });

  const output = async () => ({ status: await page.locator('#out').getAttribute('data-status'), text: await page.locator('#out').textContent() });
  const clickAndWait = async (selector: string, path: string) => {
    const response = page.waitForResponse((r) => r.url().endsWith(path));
    await page.click(selector);
    const res = await response;
    // Serialised into the page: only what is written inline travels.
    await page.waitForFunction((status) => (globalThis as unknown as BrowserGlobal).document.getElementById('out')?.dataset.status === String(status), res.status());
    return res;
  };

  it('logs in: HttpOnly token cookies and readable CSRF cookies are set', async () => {
    await page.goto(`${url}/`);
    await clickAndWait('#login-button', '/cookie/login');
    expect((await output()).text).to.contain('Logged in');
    const cookies = Object.fromEntries((await page.context().cookies()).map((c) => [c.name, c]));
    expect(cookies).to.include.keys('access_token_cookie', 'refresh_token_cookie', 'csrf_access_token', 'csrf_refresh_token');
    expect(cookies.access_token_cookie.httpOnly).to.equal(true);
    expect(cookies.refresh_token_cookie.httpOnly).to.equal(true);
    expect(cookies.csrf_access_token.httpOnly).to.equal(false);
    // The page's script sees the CSRF cookies and never the tokens.
    const visible = await page.evaluate(() => (globalThis as unknown as BrowserGlobal).document.cookie);
    expect(visible).to.contain('csrf_access_token=');
    expect(visible).not.to.contain('access_token_cookie');
  });

  it('calls a protected POST route with the CSRF header, and it succeeds', async () => {
    const request = page.waitForRequest((r) => r.url().endsWith('/whoami'));
    const res = await clickAndWait('#whoami', '/whoami');
    const csrf = (await page.context().cookies()).find((c) => c.name === 'csrf_access_token')!.value;
    expect((await request).headers()['x-csrf-token']).to.equal(csrf);
    expect(res.status()).to.equal(200);
    expect((await output()).text).to.contain('"logged_in_as":"test"');
  });

  it('a forged cross-origin form POST carries the cookies but not the header: refused', async () => {
    const forged = await browser.newPage({ storageState: await page.context().storageState() });
    try {
      const response = forged.waitForResponse((r) => r.url() === `${url}/whoami`);
      await forged.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      const res = await response;
      expect(res.status()).to.equal(401);
      expect(await res.json()).to.deep.equal({ msg: 'Missing CSRF token' });
      expect(res.request().headers().cookie ?? (await res.request().allHeaders()).cookie).to.contain('access_token_cookie=');
    } finally {
      await forged.close();
    }
  });

  it('refreshes with the refresh cookie (rotation) and logs out: cookies cleared, session revoked', async () => {
    const before = (await page.context().cookies()).find((c) => c.name === 'access_token_cookie')!.value;
    await clickAndWait('#refresh', '/cookie/refresh');
    expect((await output()).text).to.contain('Refreshed');
    const after = (await page.context().cookies()).find((c) => c.name === 'access_token_cookie')!.value;
    expect(after).not.to.equal(before);
    await clickAndWait('#logout', '/cookie/logout');
    expect((await output()).text).to.contain('Logged out');
    expect((await page.context().cookies()).map((c) => c.name)).to.deep.equal([]);
    // The old access token is revoked, not just forgotten by the browser.
    const res = await fetch(`${url}/protected`, { headers: { Authorization: `Bearer ${after}` } });
    expect(res.status).to.equal(401);
    expect(await res.json()).to.deep.equal({ msg: 'Token has been revoked' });
    await clickAndWait('#whoami', '/whoami');
    expect((await output()).status).to.equal('401');
  });

  describe('sessions: two browser contexts are two devices', () => {
    /** Clicks and waits for the answer to `path`; with `reloads`, also until the sessions list has been shown again. */
    const act = async (on: Page, selector: string, path: string, reloads = false) => {
      const before = await on.locator('#sessions').getAttribute('data-loads');
      const response = on.waitForResponse((r) => new URL(r.url()).pathname === path);
      await on.click(selector);
      const res = await response;
      if (reloads) {
        await on.waitForFunction((previous) => (globalThis as unknown as BrowserGlobal).document.getElementById('sessions')?.dataset.loads !== previous, before);
      } else {
        await on.waitForFunction((status) => (globalThis as unknown as BrowserGlobal).document.getElementById('out')?.dataset.status === String(status), res.status());
      }
      return res;
    };
    const sessionsOn = async (on: Page) => on.locator('#sessions li').evaluateAll((items) => items.map((item) => ({
      text: (item as unknown as { textContent: string }).textContent,
      current: (item as unknown as { dataset: Record<string, string | undefined> }).dataset.current === 'true',
    })));

    it('each device lists both sessions, itself marked; ending one from the other logs it out; "log out everywhere else"', async () => {
      const laptopContext = await browser.newContext({ userAgent: 'Laptop browser' });
      const phoneContext = await browser.newContext({ userAgent: 'Phone browser' });
      try {
        const [laptop, phone] = [await laptopContext.newPage(), await phoneContext.newPage()];
        for (const device of [laptop, phone]) {
          await device.goto(`${url}/`);
          await act(device, '#login-button', '/cookie/sessions', true);
        }
        await act(laptop, '#show-sessions', '/cookie/sessions', true);
        const listed = await sessionsOn(laptop);
        expect(listed).to.have.length(2);
        expect(listed[0]).to.include({ current: false });
        expect(listed[0].text).to.contain('Phone browser');
        expect(listed[1]).to.include({ current: true });
        expect(listed[1].text).to.contain('Laptop browser').and.contain('(this device)');

        // The laptop ends the phone's session: the phone is logged out at once.
        await act(laptop, '#sessions li:not([data-current]) .end-session', '/cookie/sessions', true);
        expect(await sessionsOn(laptop)).to.have.length(1);
        const refused = await act(phone, '#whoami', '/whoami');
        expect(refused.status()).to.equal(401);
        expect(await refused.json()).to.deep.equal({ msg: 'Token has been revoked' });
        expect((await act(phone, '#refresh', '/cookie/refresh')).status()).to.equal(401);
        expect((await act(laptop, '#whoami', '/whoami')).status()).to.equal(200);

        // The phone logs in again; the laptop logs out everywhere else.
        await act(phone, '#login-button', '/cookie/sessions', true);
        await act(laptop, '#logout-others', '/cookie/sessions', true);
        const left = await sessionsOn(laptop);
        expect(left).to.have.length(1);
        expect(left[0]).to.include({ current: true });
        expect((await act(phone, '#whoami', '/whoami')).status()).to.equal(401);
        expect((await act(laptop, '#whoami', '/whoami')).status()).to.equal(200);

        // The demo logged the events, never a token.
        expect(demoLog).to.match(/event login identity="test" session=\S+/);
        expect(demoLog).to.match(/event sessionEnded identity="test" session=\S+ reason=revoked/);
        expect(demoLog).to.match(/event revokedTokenUsed identity="test" session=\S+ POST \/whoami from \S+/);
        expect(demoLog).not.to.match(/eyJ/);
      } finally {
        await laptopContext.close();
        await phoneContext.close();
      }
    });
  });
}));

let tossingJwt: JwtManager;

@JsonController()
class TossingRoutes {
  @Post('/login') async login(@DriverObject() ctx: DriverContext) {
    await tossingJwt.setAccessCookies(ctx, await tossingJwt.tokens.createAccessToken('alice'));
    return { ok: true };
  }
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Get('/account/upload') @JwtRequired() upload(@CurrentIdentity() id: string) { return { id }; }
}

/**
 * Cookie tossing in real Chromium: the app at app.example.test sets its host-only
 * access cookie; a sibling, evil.example.test, sets its own for the parent domain
 * on a longer path, which Chromium sends first on that path.
 */
describe('browser: a cookie tossed by a sibling subdomain', () => forEachDriver(function (driver) {
  this.timeout(60_000);
  let server: TestServer;
  let sibling: Server;
  let browser: Browser;
  let page: Page;
  let app: string;

  before(async function () {
    requireService(this, existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
    server = await startServer([TossingRoutes], { secretKey: SECRET, tokenLocation: ['cookies'] }, {}, driver);
    tossingJwt = server.jwt;
    const attacker = await server.jwt.tokens.createAccessToken('mallory');
    sibling = createServer((_req, res) => {
      res.setHeader('Set-Cookie', `access_token_cookie=${attacker}; Domain=example.test; Path=/account/upload; HttpOnly`);
      res.setHeader('Content-Type', 'text/html');
      res.end('<p>nothing to see</p>');
    });
    sibling.listen(0, '127.0.0.1');
    await once(sibling, 'listening');
    // Every *.example.test is this machine: one site, two hosts (the ports differ, which cookies ignore).
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP *.example.test 127.0.0.1'] });
    page = await browser.newPage();
    app = `http://app.example.test:${new URL(server.url).port}`;
  });

  after(async () => {
    await browser?.close();
    sibling?.close();
    await server?.close();
  });

  /** A same-origin fetch from the app's page, so Chromium picks and orders the cookies. */
  const call = (path: string, method = 'GET') => page.evaluate(async ([p, m]) => {
    const res = await fetch(p, { method: m, credentials: 'same-origin' });
    return { status: res.status, body: await res.json() as unknown };
  }, [path, method]);

  it('is refused on the path it targets, and the victim stays logged in as itself elsewhere', async () => {
    await page.goto(`${app}/me`);
    expect(await call('/login', 'POST')).to.deep.equal({ status: 200, body: { ok: true } });
    expect(await call('/account/upload')).to.deep.equal({ status: 200, body: { id: 'alice' } });

    await page.goto(`http://evil.example.test:${(sibling.address() as AddressInfo).port}/`);
    const tossed = (await page.context().cookies()).filter((c) => c.name === 'access_token_cookie');
    expect(tossed.map((c) => [c.domain, c.path]).sort()).to.deep.equal([['.example.test', '/account/upload'], ['app.example.test', '/']]);

    await page.goto(`${app}/me`);
    const sent = page.waitForRequest((r) => r.url().endsWith('/account/upload'));
    expect(await call('/account/upload')).to.deep.equal({
      status: 422, body: { msg: 'Bad cookie "access_token_cookie": sent more than once with different values' },
    });
    // Chromium sent both, the sibling's (longer path) first: reading the first would have made the victim mallory.
    const cookieHeader = (await (await sent).allHeaders()).cookie;
    const copies = cookieHeader.split('; ').filter((c) => c.startsWith('access_token_cookie=')).map((c) => c.slice('access_token_cookie='.length));
    expect(await Promise.all(copies.map(async (token) => (await server.jwt.tokens.decodeToken(token)).sub))).to.deep.equal(['mallory', 'alice']);
    expect(await call('/me')).to.deep.equal({ status: 200, body: { id: 'alice' } });
  });
}));
