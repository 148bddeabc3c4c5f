import { expect } from 'chai';
import Koa from 'koa';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import {
  All, Authorized, CurrentUser, Get, JsonController, Post, Req, Res, useContainer, useExpressServer, useKoaServer,
} from 'routing-controllers';
import supertest from 'supertest';
import { Container, Service } from 'typedi';
import {
  CurrentIdentity, CurrentJwt, FreshJwtRequired, getJwt, getJwtIdentity, JwtManager, JwtOptional,
  JwtRefreshTokenRequired, JwtRequired, TokenFactory, verifyJwtInRequest, type DriverContext, type JwtClaims,
} from '../src';
import { accessClaims, DriverObject, forEachDriver, hmacToken, SECRET, startServer, type TestServer } from './helpers';

@JsonController('/class')
@JwtRequired()
class ClassLevel {
  @Get('/inherits') inherits(@CurrentIdentity() id: string) { return { id }; }
  @Get('/optional') @JwtOptional() optional(@CurrentIdentity() id?: string) { return { id: id ?? null }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return { id }; }
}

@JsonController('/roles')
@Authorized('staff')
class ClassRole {
  @Get('/staff') staff(@CurrentIdentity() id: string) { return { id }; }
  @Get('/staff-and-admin') @JwtRequired({ roles: ['admin'] }) both(@CurrentIdentity() id: string) { return { id }; }
}

@JsonController()
class Routes {
  @Get('/authorized') @Authorized() plain(@CurrentIdentity() id: string) { return { id }; }
  @Get('/optional') @JwtOptional() optional(@CurrentIdentity() id?: string) { return { id: id ?? null }; }
  @Get('/claims') @JwtRequired() claims(@CurrentJwt() claims: JwtClaims) { return claims; }
  @Get('/user') @JwtRequired() user(@CurrentUser() user: unknown) { return { user }; }
  @Get('/ctx') @JwtRequired() ctx(@DriverObject() ctx: DriverContext) { return { claims: getJwt(ctx), id: getJwtIdentity(ctx) }; }
  @Get('/no-type-check') @JwtRequired({ verifyType: false }) anyType(@CurrentJwt() c: JwtClaims) { return { type: c.type }; }
  @Get('/optional-with-role') @JwtOptional() @Authorized('admin') optionalRole() { return { ok: true }; }
  @Post('/fresh-admin') @FreshJwtRequired() @JwtRequired({ roles: ['admin'] }) freshAdmin() { return { ok: true }; }
  // The stacking pitfall, both orders: only the first @Authorized entry is read by routing-controllers.
  @Get('/admin-below') @JwtRequired() @Authorized('admin') adminBelow() { return { ok: true }; }
  @Get('/admin-above') @Authorized('admin') @JwtRequired() adminAbove() { return { ok: true }; }
  @Post('/refresh-admin') @JwtRefreshTokenRequired() @Authorized(['admin', 'ops']) refreshAdmin() { return { ok: true }; }
  @All('/admin/wipe') @JwtRequired({ roles: ['admin'] }) wipe() { actionRuns.wipe++; return { wiped: true }; }
  @All('/optional-any') @JwtOptional() optionalAny(@CurrentIdentity() id?: string) { actionRuns.optional++; return { id: id ?? null }; }
  @Get('/manual') async manual(@DriverObject() ctx: DriverContext) {
    const state = await verifyJwtInRequest(ctx, { optional: true });
    return { id: state?.identity ?? null };
  }
}

/** How often each side-effecting action ran: a protected one must never run unauthenticated. */
const actionRuns = { wipe: 0, optional: 0, catchAll: 0 };

// Express's own objects, as an Express app's actions get them.
@JsonController('/express')
class ExpressObjects {
  @Get('/req') @JwtRequired() req(@Req() req: Request) { return { claims: getJwt(req), id: getJwtIdentity(req) }; }
  @Get('/res') @JwtRequired() res(@Res() res: Response) { return { id: getJwtIdentity(res) }; }
  @Get('/manual') async manual(@Req() req: Request) {
    const state = await verifyJwtInRequest(req, { optional: true });
    return { id: state?.identity ?? null };
  }
}

describe('decorators', () => forEachDriver((driver) => {
  let server: TestServer;
  let access: string;
  let refresh: string;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  const withRoles = (roles: string[] | string, options = {}) => server.jwt.tokens.createAccessToken('alice', { additionalClaims: { roles }, ...options });

  before(async () => {
    server = await startServer([ClassLevel, ClassRole, Routes, ...(driver === 'express' ? [ExpressObjects] : [])], undefined, {}, driver);
    access = await server.jwt.tokens.createAccessToken('alice');
    refresh = await server.jwt.tokens.createRefreshToken('alice');
  });
  after(() => server.close());

  describe('on a controller class', () => {
    it('protects every action', async () => {
      await server.request.get('/class/inherits').expect(401);
      expect((await server.request.get('/class/inherits').set(as(access)).expect(200)).body).to.deep.equal({ id: 'alice' });
    });

    it('is overridden by a method decorator', async () => {
      expect((await server.request.get('/class/optional').expect(200)).body).to.deep.equal({ id: null });
      await server.request.post('/class/refresh').set(as(access)).expect(422);
      expect((await server.request.post('/class/refresh').set(as(refresh)).expect(200)).body).to.deep.equal({ id: 'alice' });
    });

    it('a class role and a method role are both required', async () => {
      await server.request.get('/roles/staff').set(as(access)).expect(403);
      await server.request.get('/roles/staff').set(as(await withRoles(['staff']))).expect(200);
      await server.request.get('/roles/staff-and-admin').set(as(await withRoles(['staff']))).expect(403);
      await server.request.get('/roles/staff-and-admin').set(as(await withRoles(['admin']))).expect(403);
      await server.request.get('/roles/staff-and-admin').set(as(await withRoles(['staff', 'admin']))).expect(200);
    });
  });

  it('plain @Authorized() requires an access token', async () => {
    await server.request.get('/authorized').expect(401);
    const res = await server.request.get('/authorized').set(as(refresh)).expect(422);
    expect(res.body).to.deep.equal({ msg: 'Only non-refresh tokens are allowed' });
    expect((await server.request.get('/authorized').set(as(access)).expect(200)).body).to.deep.equal({ id: 'alice' });
  });

  describe('stacked with @Authorized(role), in either order', () => {
    for (const route of ['/admin-below', '/admin-above']) {
      it(`${route}: role and token type both enforced`, async () => {
        await server.request.get(route).expect(401);
        expect((await server.request.get(route).set(as(access)).expect(403)).body).to.deep.equal({ msg: 'Missing required role: admin' });
        await server.request.get(route).set(as(await withRoles(['admin']))).expect(200);
        await server.request.get(route).set(as(await withRoles('reader admin'))).expect(200);
      });
    }

    it('a refresh route with @Authorized([roles]) needs a refresh token holding every role', async () => {
      const adminRefresh = await server.jwt.tokens.createRefreshToken('alice', { additionalClaims: { roles: ['admin', 'ops'] } });
      await server.request.post('/refresh-admin').set(as(await withRoles(['admin', 'ops']))).expect(422);
      await server.request.post('/refresh-admin').set(as(await server.jwt.tokens.createRefreshToken('a', { additionalClaims: { roles: ['admin'] } }))).expect(403);
      await server.request.post('/refresh-admin').set(as(adminRefresh)).expect(200);
    });

    it('two of our decorators on one action merge', async () => {
      await server.request.post('/fresh-admin').set(as(await withRoles(['admin']))).expect(401);
      await server.request.post('/fresh-admin').set(as(await withRoles(['user'], { fresh: true }))).expect(403);
      await server.request.post('/fresh-admin').set(as(await withRoles(['admin'], { fresh: true }))).expect(200);
    });
  });

  describe('@JwtOptional()', () => {
    it('lets anonymous requests through: no header, or another scheme', async () => {
      expect((await server.request.get('/optional').expect(200)).body).to.deep.equal({ id: null });
      expect((await server.request.get('/optional').set('Authorization', 'Basic dGVzdDp0ZXN0').expect(200)).body).to.deep.equal({ id: null });
    });

    it('reads a valid token', async () => {
      expect((await server.request.get('/optional').set(as(access)).expect(200)).body).to.deep.equal({ id: 'alice' });
    });

    it('still refuses a present token that is expired, forged, malformed or of the wrong type', async () => {
      const expired = hmacToken({ alg: 'HS256' }, accessClaims('alice', { exp: Math.floor(Date.now() / 1000) - 5 }));
      expect((await server.request.get('/optional').set(as(expired)).expect(401)).body).to.deep.equal({ msg: 'Token has expired' });
      await server.request.get('/optional').set(as(hmacToken({ alg: 'HS256' }, accessClaims(), `${SECRET}!`))).expect(422);
      await server.request.get('/optional').set('Authorization', 'Bearer a b').expect(422);
      await server.request.get('/optional').set(as(refresh)).expect(422);
    });

    it('needs a token after all when the route requires a role', async () => {
      await server.request.get('/optional-with-role').expect(401);
      await server.request.get('/optional-with-role').set(as(await withRoles(['admin']))).expect(200);
    });
  });

  it('@CurrentJwt() gets the claims, @CurrentUser() the identity (no user loader)', async () => {
    const claims = (await server.request.get('/claims').set(as(access)).expect(200)).body;
    expect(claims).to.include({ sub: 'alice', type: 'access', fresh: false });
    expect(claims).to.have.keys('sub', 'type', 'fresh', 'iat', 'nbf', 'exp', 'jti');
    expect((await server.request.get('/user').set(as(access)).expect(200)).body).to.deep.equal({ user: 'alice' });
  });

  it('getJwt(ctx) and getJwtIdentity(ctx) read the verified token', async () => {
    const body = (await server.request.get('/ctx').set(as(access)).expect(200)).body;
    expect(body.id).to.equal('alice');
    expect(body.claims).to.include({ sub: 'alice', type: 'access' });
  });

  it('verifyType: false accepts either type', async () => {
    expect((await server.request.get('/no-type-check').set(as(refresh)).expect(200)).body).to.deep.equal({ type: 'refresh' });
  });

  it('verifyJwtInRequest(ctx) inside an unprotected action', async () => {
    expect((await server.request.get('/manual').expect(200)).body).to.deep.equal({ id: null });
    expect((await server.request.get('/manual').set(as(access)).expect(200)).body).to.deep.equal({ id: 'alice' });
    const res = await server.request.get('/manual').set(as(refresh)).expect(422);
    expect(res.body).to.deep.equal({ msg: 'Only non-refresh tokens are allowed' });
  });

  describe('OPTIONS never runs a protected action unauthenticated', () => {
    const preflight = { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' };
    let runs: { wipe: number; optional: number };
    beforeEach(() => { runs = { ...actionRuns }; });

    it('a plain OPTIONS, or one with only half of a preflight\'s headers, is checked like a GET', async () => {
      expect((await server.request.options('/admin/wipe').expect(401)).body).to.deep.equal({ msg: 'Missing Authorization Header' });
      await server.request.options('/admin/wipe').set('Origin', preflight.Origin).expect(401);
      await server.request.options('/admin/wipe').set('Access-Control-Request-Method', 'POST').expect(401);
      await server.request.options('/admin/wipe').set({ ...preflight, Origin: '' }).expect(401);
      await server.request.options('/admin/wipe').set(as(access)).expect(403);
      await server.request.options('/admin/wipe').set(as(refresh)).expect(422);
      expect(actionRuns.wipe).to.equal(runs.wipe);
      await server.request.options('/admin/wipe').set(as(await withRoles(['admin']))).expect(200, { wiped: true });
      expect(actionRuns.wipe).to.equal(runs.wipe + 1);
    });

    it('a CORS preflight is answered 204 without a body, and the action does not run', async () => {
      const res = await server.request.options('/admin/wipe').set(preflight).expect(204);
      expect(res.text).to.equal('');
      // Even with a token: a preflight never runs the action.
      await server.request.options('/admin/wipe').set(preflight).set(as(await withRoles(['admin']))).expect(204);
      expect(actionRuns.wipe).to.equal(runs.wipe);
      await server.request.get('/admin/wipe').set(preflight).expect(401);
    });

    it('on an optional route: OPTIONS runs anonymously like a GET, a bad token is refused, a preflight runs nothing', async () => {
      await server.request.options('/optional-any').expect(200, { id: null });
      await server.request.options('/optional-any').set('Authorization', 'Bearer a b').expect(422);
      expect(actionRuns.optional).to.equal(runs.optional + 1);
      await server.request.options('/optional-any').set(preflight).expect(204);
      expect(actionRuns.optional).to.equal(runs.optional + 1);
    });
  });

  if (driver === 'express') {
    it("getJwt, getJwtIdentity and verifyJwtInRequest take Express's req (and res)", async () => {
      const body = (await server.request.get('/express/req').set(as(access)).expect(200)).body;
      expect(body.id).to.equal('alice');
      expect(body.claims).to.include({ sub: 'alice', type: 'access' });
      expect((await server.request.get('/express/res').set(as(access)).expect(200)).body).to.deep.equal({ id: 'alice' });
      expect((await server.request.get('/express/manual').expect(200)).body).to.deep.equal({ id: null });
      expect((await server.request.get('/express/manual').set(as(access)).expect(200)).body).to.deep.equal({ id: 'alice' });
      const res = await server.request.get('/express/manual').set(as(refresh)).expect(422);
      expect(res.body).to.deep.equal({ msg: 'Only non-refresh tokens are allowed' });
    });
  }
}));

describe('OPTIONS behind a CORS middleware and a verifyJwtInRequest guard', () => {
  let server: Server;
  let jwt: JwtManager;
  const preflight = { Origin: 'https://app.example', 'Access-Control-Request-Method': 'DELETE' };

  before(async () => {
    jwt = new JwtManager({ secretKey: SECRET });
    const app = new Koa();
    app.silent = true;
    // A CORS middleware that sets its headers and passes every request on (as Express's cors() does with preflightContinue).
    app.use(async (ctx, next) => {
      if (ctx.get('Origin')) ctx.set('Access-Control-Allow-Origin', ctx.get('Origin'));
      await next();
    });
    useKoaServer(app, { controllers: [Routes], authorizationChecker: jwt.authorizationChecker, currentUserChecker: jwt.currentUserChecker });
    // A guard in front of a catch-all handler for what no controller matched.
    app.use(async (ctx, next) => {
      await verifyJwtInRequest(ctx);
      await next();
    });
    app.use((ctx) => { actionRuns.catchAll++; ctx.body = { caught: ctx.path }; });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a decorated action: the preflight gets the CORS headers and 204, the action does not run', async () => {
    const before = actionRuns.wipe;
    const res = await supertest(server).options('/admin/wipe').set(preflight).expect(204);
    expect(res.headers['access-control-allow-origin']).to.equal(preflight.Origin);
    await supertest(server).options('/admin/wipe').set('Origin', preflight.Origin).expect(401);
    expect(actionRuns.wipe).to.equal(before);
  });

  it('the catch-all behind verifyJwtInRequest: OPTIONS is refused, a preflight runs nothing, a token gets through', async () => {
    const before = actionRuns.catchAll;
    const res = await supertest(server).options('/anything').expect(401);
    expect(res.headers['www-authenticate']).to.equal('Bearer');
    await supertest(server).options('/anything').set(preflight).expect(204);
    expect(actionRuns.catchAll).to.equal(before);
    const token = await jwt.tokens.createAccessToken('alice');
    await supertest(server).options('/anything').set('Authorization', `Bearer ${token}`).expect(200, { caught: '/anything' });
    expect(actionRuns.catchAll).to.equal(before + 1);
  });
});

describe('request state', () => forEachDriver((driver) => {
  let server: Server;
  let jwt: JwtManager;

  before(async () => {
    jwt = new JwtManager({ secretKey: SECRET });
    const options = { controllers: [Routes], authorizationChecker: jwt.authorizationChecker, currentUserChecker: jwt.currentUserChecker };
    // Sees every request after the action (or the refusal): state must exist only when every check passed.
    if (driver === 'koa') {
      const app = new Koa();
      app.use(async (ctx, next) => {
        await next();
        ctx.set('X-Jwt-State', getJwtIdentity(ctx) ?? 'none');
      });
      server = useKoaServer(app, options).listen(0, '127.0.0.1');
    } else {
      const app = express();
      app.set('env', 'test');
      app.use((req, res, next) => {
        const writeHead = res.writeHead;
        res.writeHead = function withState(this: typeof res, ...args: Parameters<typeof writeHead>) {
          this.setHeader('X-Jwt-State', getJwtIdentity(req) ?? 'none');
          return writeHead.apply(this, args);
        } as typeof writeHead;
        next();
      });
      useExpressServer(app, options);
      server = app.listen(0, '127.0.0.1');
    }
    await new Promise((resolve) => server.once('listening', resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is recorded only after every check has passed', async () => {
    const request = supertest(server);
    const notFresh = await jwt.tokens.createAccessToken('alice', { additionalClaims: { roles: ['admin'] } });
    const res = await request.post('/fresh-admin').set('Authorization', `Bearer ${notFresh}`).expect(401);
    expect(res.headers['x-jwt-state']).to.equal('none');
    const noRole = await jwt.tokens.createAccessToken('alice', { fresh: true });
    expect((await request.post('/fresh-admin').set('Authorization', `Bearer ${noRole}`).expect(403)).headers['x-jwt-state']).to.equal('none');
    const good = await jwt.tokens.createAccessToken('alice', { fresh: true, additionalClaims: { roles: ['admin'] } });
    expect((await request.post('/fresh-admin').set('Authorization', `Bearer ${good}`).expect(200)).headers['x-jwt-state']).to.equal('alice');
  });
}));

describe('verifyJwtInRequest in plain Koa middleware', () => {
  it('refuses with the right status and challenge through Koa\'s own error handling', async () => {
    const jwt = new JwtManager({ secretKey: SECRET });
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx) => {
      const state = await verifyJwtInRequest(ctx);
      ctx.body = { id: state?.identity };
    });
    const request = supertest(app.callback());
    const res = await request.get('/').expect(401);
    expect(res.headers['www-authenticate']).to.equal('Bearer');
    const token = await jwt.tokens.createAccessToken('alice');
    expect((await request.get('/').set('Authorization', `Bearer ${token}`).expect(200)).body).to.deep.equal({ id: 'alice' });
  });
});

@Service()
@JsonController('/di')
class InjectedController {
  constructor(private readonly tokens: TokenFactory) {}
  @Post('/token') async token() { return { token: await this.tokens.createAccessToken('injected') }; }
}

describe('dependency injection (typedi)', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => {
    useContainer(Container);
    server = await startServer([InjectedController], undefined, {}, driver);
    server.jwt.provideTo(Container);
  });
  after(async () => {
    // routing-controllers keeps one global container; give the other suites theirs back.
    useContainer(undefined as never);
    Container.reset();
    await server.close();
  });

  it('controllers take TokenFactory as a constructor parameter', async () => {
    const { token } = (await server.request.post('/di/token').expect(200)).body;
    expect(await server.jwt.tokens.decodeToken(token)).to.include({ sub: 'injected' });
    expect(Container.get(JwtManager)).to.equal(server.jwt);
  });
}));
