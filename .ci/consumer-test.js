#!/usr/bin/env node
// The newcomer's path, walked from the README alone: `npm pack`, a fresh app in a
// temporary folder that installs the tarball with the README's own install lines
// (peers at their latest versions), its tsconfig, its Quick start compiled with
// strict `tsc` (no skipLibCheck), started, and the seed's flow walked over HTTP.
// Once with the latest koa (3), and again with the README's Express block in place
// of createKoaServer; once with koa 2, and again on that app's own koa 2
// (createKoaServer runs on the koa 3 routing-controllers installs for itself).
//
//   node .ci/consumer-test.js            # both koa majors
//   KOA_MAJORS=3 node .ci/consumer-test.js
//   KEEP_APPS=1 node .ci/consumer-test.js  # leave the apps in place to look at
'use strict';

const { execFileSync, spawn, spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const assert = require('node:assert/strict');
const { randomBytes } = require('node:crypto');

const repo = join(__dirname, '..');
const majors = (process.env.KOA_MAJORS ?? '3,2').split(',').map((major) => major.trim());
const TARBALL_IN_README = /\S*routing-controllers-jwt-extended-[\w.-]+\.tgz/;

/** The fenced block that follows `<!-- consumer-test: name -->` in README.md. */
function readmeBlock(readme, name) {
  const marker = `<!-- consumer-test: ${name} -->`;
  const at = readme.indexOf(marker);
  assert.notEqual(at, -1, `README.md has no ${marker}`);
  const match = /^```[^\n]*\n([\s\S]*?)^```/m.exec(readme.slice(at + marker.length));
  assert.ok(match, `README.md: no code block after ${marker}`);
  return match[1];
}

function run(command, args, cwd) {
  console.log(`$ ${[command, ...args].join(' ')}`);
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    process.stdout.write(String(error.stdout ?? ''));
    process.stderr.write(String(error.stderr ?? ''));
    throw new Error(`${command} ${args.join(' ')} failed (exit ${error.status})`);
  }
}

/**
 * One README `npm install …` line, run as written but for the tarball's path
 * (and `koa` pinned to the major under test when it is not the latest). A peer
 * conflict npm only warns about ("ERESOLVE overriding peer dependency") fails too.
 */
function npmInstall(line, app, tarball, major) {
  const env = { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', npm_config_loglevel: 'warn' };
  const words = line.trim().split(/\s+/);
  const args = words.slice(1).map((word) => (TARBALL_IN_README.test(word) ? tarball : word === 'koa' && major !== '3' ? `koa@^${major}` : word));
  assert.equal(words[0], 'npm', `not an npm command: ${line}`);
  console.log(`$ npm ${args.join(' ')}`);
  const child = spawnSync('npm', args, { cwd: app, env: { ...process.env, ...env }, encoding: 'utf8' });
  process.stdout.write(child.stdout);
  process.stderr.write(child.stderr);
  if (child.status !== 0) throw new Error(`the README's install line failed (exit ${child.status}): ${line.trim()}`);
  if (/ERESOLVE/.test(child.stdout + child.stderr)) throw new Error(`the README's install line meets a peer conflict (ERESOLVE): ${line.trim()}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function waitForServer(url, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the Quick start exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error('the Quick start did not start listening within 30 s');
}

async function call(url, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${method} ${path}: not JSON: ${text}`);
  return { status: res.status, body: JSON.parse(text), challenge: res.headers.get('www-authenticate') };
}

/** The seed's flow, as its README promises it. */
async function walkTheSeed(url) {
  const bad = await call(url, 'POST', '/login', { body: { username: 'test', password: 'wrong' } });
  assert.deepEqual([bad.status, bad.body], [401, { msg: 'Bad username or password' }], 'bad credentials');
  const invalid = await call(url, 'POST', '/login', { body: { username: 'test', password: 42, secret: 'hunter2' } });
  assert.equal(invalid.status, 400, 'a login body that does not validate');
  assert.doesNotMatch(JSON.stringify(invalid.body), /hunter2|"stack"|node_modules/, 'the validation error echoes neither the body nor a stack');

  const login = await call(url, 'POST', '/login', { body: { username: 'test', password: 'test' } });
  assert.equal(login.status, 200, 'login');
  const { access_token: access, refresh_token: refresh } = login.body;
  assert.match(access, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.match(refresh, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  const me = await call(url, 'GET', '/protected', { token: access });
  assert.deepEqual([me.status, me.body], [200, { logged_in_as: 'test' }], 'protected with the access token');

  const anonymous = await call(url, 'GET', '/protected');
  assert.deepEqual([anonymous.status, anonymous.body, anonymous.challenge], [401, { msg: 'Missing Authorization Header' }, 'Bearer'], 'protected without a token');

  const refreshOnAccess = await call(url, 'GET', '/protected', { token: refresh });
  assert.deepEqual([refreshOnAccess.status, refreshOnAccess.body], [422, { msg: 'Only non-refresh tokens are allowed' }], 'refresh token on the access route');

  const accessOnRefresh = await call(url, 'POST', '/refresh', { token: access });
  assert.deepEqual([accessOnRefresh.status, accessOnRefresh.body], [422, { msg: 'Only refresh tokens are allowed' }], 'access token on the refresh route');

  const refreshed = await call(url, 'POST', '/refresh', { token: refresh });
  assert.equal(refreshed.status, 200, 'refresh');
  const again = await call(url, 'GET', '/protected', { token: refreshed.body.access_token });
  assert.deepEqual([again.status, again.body], [200, { logged_in_as: 'test' }], 'protected with the refreshed token');
}

/** `source` as the app's src/main.ts: compiled with strict tsc, started, and the seed's flow walked. */
async function compileAndWalk(app, source, what) {
  console.log(`-- ${what}`);
  writeFileSync(join(app, 'src', 'main.ts'), source);
  run('npx', ['tsc', '-p', '.'], app);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const secret = randomBytes(32).toString('base64');
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: app, env: { ...process.env, PORT: String(port), JWT_SECRET_KEY: secret }, stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitForServer(url, child);
    await walkTheSeed(url);
  } finally {
    child.kill();
  }
  console.log(`-- ${what}: compiled and walked`);
}

async function consumerApp(readme, tarball, major) {
  const app = mkdtempSync(join(tmpdir(), `rcjwt-consumer-koa${major}-`));
  console.log(`\n== a fresh app with koa ${major}: ${app}`);
  try {
    run('npm', ['init', '-y'], app);
    const lines = readmeBlock(readme, 'install').split('\n').filter((line) => line.trim().startsWith('npm '));
    assert.ok(lines.length >= 2, 'README: the install block has the library line and the dev-tools line');
    for (const line of lines) npmInstall(line, app, tarball, major);
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'koa', 'package.json'), 'utf8')).version;
    assert.equal(installed.split('.')[0], major, `koa ${installed} installed, expected ${major}.x`);

    const tsconfigText = readmeBlock(readme, 'tsconfig');
    const tsconfig = JSON.parse(tsconfigText);
    assert.equal(tsconfig.compilerOptions.strict, true, "README's tsconfig: strict");
    assert.ok(!('skipLibCheck' in tsconfig.compilerOptions), "README's tsconfig: no skipLibCheck");
    writeFileSync(join(app, 'tsconfig.json'), tsconfigText);
    mkdirSync(join(app, 'src'));
    const quickStart = readmeBlock(readme, 'quick-start');
    await compileAndWalk(app, quickStart, 'the Quick start');
    console.log(`== koa ${installed}: installed, compiled and walked`);

    const server = /^createKoaServer\(\{[\s\S]*$/m;
    assert.match(quickStart, server, 'the Quick start ends with createKoaServer({ … })');
    if (major === '2') {
      // createKoaServer took routing-controllers' own koa 3: the app's koa 2 serves this time.
      run('npm', ['install', '--save-dev', '@types/koa@^2'], app);
      const ownKoa = `import Koa from 'koa';\nimport { useKoaServer } from 'routing-controllers';\n${quickStart.replace(server, (call) => call.replace('createKoaServer({', 'useKoaServer(new Koa(), {'))}`;
      await compileAndWalk(app, ownKoa, 'the Quick start on the app\'s own koa 2 (useKoaServer)');
    } else {
      run('npm', ['install', 'express', '@types/express'], app);
      await compileAndWalk(app, quickStart.replace(server, readmeBlock(readme, 'express')), 'the Quick start on Express');
    }
  } finally {
    if (!process.env.KEEP_APPS) rmSync(app, { recursive: true, force: true });
  }
}

async function main() {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const packDir = mkdtempSync(join(tmpdir(), 'rcjwt-pack-'));
  try {
    run('npm', ['pack', '--pack-destination', packDir], repo);
    const [file] = readdirSync(packDir).filter((name) => name.endsWith('.tgz'));
    const tarball = join(packDir, file);
    assert.match(readme, new RegExp(file.replace(/\./g, '\\.')), `README's install line names ${file}`);
    for (const major of majors) await consumerApp(readme, tarball, major);
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`consumer test failed: ${error.stack ?? error}`);
  process.exit(1);
});
