import { expect } from 'chai';
import Koa from 'koa';
import type { Server } from 'node:http';
import {
  Controller, Ctx, Get, getMetadataArgsStorage, JsonController, Middleware, UseBefore, useKoaServer, type KoaMiddlewareInterface,
} from 'routing-controllers';
import supertest from 'supertest';
import { getJwtIdentity, JwtManager, JwtRequired, verifyJwtInRequest, type JwtConfig, type KoaContextLike } from '../src';
import { accessClaims, hmacToken, listen, SECRET } from './helpers';

// The same failures, met inside a decorated action and in every place outside one.
const guard = async (ctx: KoaContextLike, next: () => Promise<unknown>) => {
  await verifyJwtInRequest(ctx);
  await next();
};

class GuardMiddleware implements KoaMiddlewareInterface {
  async use(ctx: KoaContextLike, next: () => Promise<unknown>): Promise<unknown> {
    await verifyJwtInRequest(ctx);
    return next();
  }
}

class GlobalGuard implements KoaMiddlewareInterface {
  async use(ctx: KoaContextLike, next: () => Promise<unknown>): Promise<unknown> {
    if (ctx.req.url?.startsWith('/global/')) await verifyJwtInRequest(ctx);
    return next();
  }
}

/**
 * Builds a server with `GlobalGuard` as a global `@Middleware`, registered for
 * this build only: routing-controllers would otherwise run it on every server
 * of every suite built without a `middlewares` list.
 */
function withGlobalGuard<T>(build: () => T): T {
  Middleware({ type: 'before' })(GlobalGuard);
  try {
    return build();
  } finally {
    const { middlewares } = getMetadataArgsStorage();
    middlewares.splice(0, middlewares.length, ...middlewares.filter((entry) => entry.target !== GlobalGuard));
  }
}

const me = (ctx: KoaContextLike) => ({ id: getJwtIdentity(ctx) });

@JsonController()
class JsonRoutes {
  @Get('/decorated/me') @JwtRequired() decorated(@Ctx() ctx: KoaContextLike) { return me(ctx); }
  @Get('/app-use/me') appUse(@Ctx() ctx: KoaContextLike) { return me(ctx); }
  @Get('/global/me') global(@Ctx() ctx: KoaContextLike) { return me(ctx); }
  @Get('/use-before-fn/me') @UseBefore(guard) useBeforeFn(@Ctx() ctx: KoaContextLike) { return me(ctx); }
  @Get('/use-before-class/me') @UseBefore(GuardMiddleware) useBeforeClass(@Ctx() ctx: KoaContextLike) { return me(ctx); }
}

@Controller()
class TextRoutes {
  @Get('/text/use-before-fn/me') @UseBefore(guard) text(@Ctx() ctx: KoaContextLike) { return `hello ${getJwtIdentity(ctx)}`; }
}

const OUTSIDE = ['/app-use/me', '/global/me', '/use-before-fn/me', '/use-before-class/me', '/text/use-before-fn/me'];

async function serve(config: JwtConfig, defaultErrorHandler = true): Promise<{ jwt: JwtManager; request: ReturnType<typeof supertest>; close(): Promise<void> }> {
  const jwt = new JwtManager(config);
  const app = new Koa();
  // A CORS middleware's part: its headers must reach the client with the answer to a preflight.
  app.use(async (ctx, next) => {
    if (ctx.get('Origin')) ctx.set('Access-Control-Allow-Origin', '*');
    await next();
  });
  app.use(async (ctx, next) => (ctx.path.startsWith('/app-use/') ? guard(ctx, next) : next()));
  withGlobalGuard(() => useKoaServer(app, {
    controllers: [JsonRoutes, TextRoutes],
    middlewares: [GlobalGuard],
    authorizationChecker: jwt.authorizationChecker,
    currentUserChecker: jwt.currentUserChecker,
    defaultErrorHandler,
  }));
  const { server, url }: { server: Server; url: string } = await listen(app);
  return { jwt, request: supertest(url), close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface Answer { status: number; type: string | undefined; challenge: string | undefined; custom: string | undefined; body: string }

async function answer(request: ReturnType<typeof supertest>, path: string, authorization?: string): Promise<Answer> {
  const req = request.get(path);
  if (authorization !== undefined) req.set('Authorization', authorization);
  const res = await req;
  return { status: res.status, type: res.headers['content-type'], challenge: res.headers['www-authenticate'], custom: res.headers['x-auth-error'], body: res.text };
}

describe('verifyJwtInRequest outside decorated actions renders failures as inside them', () => {
  const cases: Array<[string, (jwt: JwtManager) => Promise<string | undefined>]> = [
    ['no token', async () => undefined],
    ['another scheme', async () => 'Basic dXNlcjpwYXNz'],
    ['a malformed Bearer header', async () => 'Bearer a b'],
    ['garbage', async () => 'Bearer not.a.jwt'],
    ['a bad signature', async () => `Bearer ${hmacToken({ alg: 'HS256', typ: 'JWT' }, accessClaims(), 'another-secret-that-is-long-enough-0123456789')}`],
    ['an expired token', async () => `Bearer ${hmacToken({ alg: 'HS256', typ: 'JWT' }, accessClaims('alice', { exp: Math.floor(Date.now() / 1000) - 60 }))}`],
    ['a refresh token', async (jwt) => `Bearer ${await jwt.tokens.createRefreshToken('alice')}`],
  ];

  const configs: Array<[string, JwtConfig]> = [
    ['defaults', { secretKey: SECRET }],
    ['errorMessageKey and an error callback', {
      secretKey: SECRET,
      errorMessageKey: 'error',
      errorCallbacks: { expired: () => ({ status: 419, body: { error: 'stale' }, headers: { 'X-Auth-Error': 'expired' } }) },
    }],
    ['rfc6750Errors', { secretKey: SECRET, rfc6750Errors: true }],
  ];

  for (const [name, config] of configs) {
    describe(`with ${name}`, () => {
      let server: Awaited<ReturnType<typeof serve>>;
      before(async () => { server = await serve(config); });
      after(() => server.close());

      for (const [failure, header] of cases) {
        it(`${failure}: the same status, JSON body and headers everywhere`, async () => {
          const authorization = await header(server.jwt);
          const inside = await answer(server.request, '/decorated/me', authorization);
          expect(inside.status).to.be.within(400, 499);
          expect(inside.type).to.match(/^application\/json/);
          expect(JSON.parse(inside.body)).to.be.an('object').that.is.not.empty;
          for (const path of OUTSIDE) {
            expect(await answer(server.request, path, authorization), path).to.deep.equal(inside);
          }
        });
      }

      it('a valid token passes every guard', async () => {
        const authorization = `Bearer ${await server.jwt.tokens.createAccessToken('alice')}`;
        for (const path of ['/decorated/me', ...OUTSIDE.slice(0, 4)]) {
          await server.request.get(path).set('Authorization', authorization).expect(200, { id: 'alice' });
        }
        await server.request.get('/text/use-before-fn/me').set('Authorization', authorization).expect(200, 'hello alice');
      });
    });
  }

  it('a CORS preflight meeting verifyJwtInRequest in middleware answers 204 with the CORS headers, as in an action', async () => {
    const server = await serve({ secretKey: SECRET });
    try {
      // Routes are GET only: OPTIONS meets the app-wide middleware and the global @Middleware, not an action.
      for (const path of ['/app-use/me', '/global/me']) {
        const res = await server.request.options(path).set('Origin', 'https://app.example').set('Access-Control-Request-Method', 'GET');
        expect([res.status, res.headers['access-control-allow-origin'], res.text], path).to.deep.equal([204, '*', '']);
      }
    } finally {
      await server.close();
    }
  });

  it('with defaultErrorHandler: false, a failure no app handler catches still answers { msg }', async () => {
    const server = await serve({ secretKey: SECRET }, false);
    try {
      for (const path of ['/decorated/me', ...OUTSIDE]) {
        const res = await server.request.get(path).expect(401).expect('Content-Type', /^application\/json/).expect('WWW-Authenticate', 'Bearer');
        expect(res.body, path).to.deep.equal({ msg: 'Missing Authorization Header' });
      }
    } finally {
      await server.close();
    }
  });

  it('leaves errors other than its own to Koa', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx, next) => {
      await verifyJwtInRequest(ctx, { optional: true });
      await next();
    });
    app.use(() => { throw Object.assign(new Error('teapot'), { status: 418, expose: true }); });
    const { server, url } = await listen(app);
    try {
      await supertest(url).get('/').expect(418).expect('Content-Type', /^text\/plain/).expect('teapot');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
