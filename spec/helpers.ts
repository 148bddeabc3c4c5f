import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { createParamDecorator, useExpressServer, useKoaServer, type Action, type RoutingControllersOptions } from 'routing-controllers';
import supertest from 'supertest';
import { JwtManager, type DriverContext, type ExpressErrorHandler, type JwtConfig, type JwtMiddleware } from '../src';

/** A secret long enough for every HS algorithm. */
export const SECRET = 'test-secret-that-is-long-enough-for-hs512-0123456789abcdef-0123456789';

/** routing-controllers' two drivers. */
export type Driver = 'koa' | 'express';

/**
 * The drivers suites run on: both, unless SPEC_DRIVERS names some (`.ci/suites-on.sh`
 * runs the HTTP suites again on another major of one driver, on that driver only).
 */
export const DRIVERS: readonly Driver[] = (['koa', 'express'] as const)
  .filter((driver) => !process.env.SPEC_DRIVERS || process.env.SPEC_DRIVERS.split(',').includes(driver));

/**
 * Runs a suite once per driver, the driver in its title: the same tests, so
 * every behaviour holds on Koa and on Express alike.
 */
export function forEachDriver(suite: (this: Mocha.Suite, driver: Driver) => void): void {
  for (const driver of DRIVERS) describe(`on ${driver === 'koa' ? 'Koa' : 'Express'}`, function () { suite.call(this, driver); });
}

/**
 * An action parameter holding the driver's own object, as the library's helpers
 * take it: Koa's `ctx`, or Express's `res` (through which they reach `req`).
 */
export function DriverObject(): ParameterDecorator {
  const decorator = createParamDecorator({ value: (action: Action): DriverContext => action.context ?? action.response });
  return (target, method, index) => decorator(target, method as string, index);
}

type App = { listen(port: number, host: string): Server };

/**
 * A routing-controllers app on `driver`, not yet listening; `middlewares`
 * (such as `jwt.implicitRefresh()`) run before its routes, Express's
 * `afterRoutes` error handlers after them. Koa apps are the
 * app's own koa (the devDependency: 2; CI runs the HTTP suites again with
 * koa 3 installed), not routing-controllers' nested copy that `createKoaServer` would take.
 */
export function createServer(
  driver: Driver, options: RoutingControllersOptions, middlewares: readonly JwtMiddleware[] = [], afterRoutes: readonly ExpressErrorHandler[] = [],
): App {
  if (driver === 'koa') {
    const app = new Koa();
    app.silent = true;
    for (const middleware of middlewares) app.use(middleware);
    return useKoaServer(app, options) as App;
  }
  const app = express();
  // Express logs every error routing-controllers hands on to it, unless in 'test' mode.
  app.set('env', 'test');
  for (const middleware of middlewares) app.use(middleware);
  useExpressServer(app, options);
  for (const handler of afterRoutes) app.use(handler);
  return app as App;
}

/** Listens on an ephemeral loopback port; resolves to the server and its base URL. */
export async function listen(app: App): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A real Koa or Express server on an ephemeral loopback port, and a supertest agent for it. */
export interface TestServer {
  readonly driver: Driver;
  readonly jwt: JwtManager;
  readonly request: ReturnType<typeof supertest.agent>;
  readonly url: string;
  /** The node HTTP server, with the README's `clientError` handler on it. */
  readonly server: Server;
  close(): Promise<void>;
}

export async function startServer(
  controllers: Function[],
  config: JwtConfig = { secretKey: SECRET },
  options: Partial<RoutingControllersOptions> = {},
  driver: Driver = 'koa',
  middlewares: (jwt: JwtManager) => JwtMiddleware[] = () => [],
  afterRoutes: (jwt: JwtManager) => ExpressErrorHandler[] = () => [],
): Promise<TestServer> {
  const jwt = new JwtManager(config);
  const app = createServer(driver, {
    controllers,
    authorizationChecker: jwt.authorizationChecker,
    currentUserChecker: jwt.currentUserChecker,
    ...options,
  }, middlewares(jwt), afterRoutes(jwt));
  const { server, url } = await listen(app);
  // The README's set-up: what node's parser refuses (oversized headers) answers in the library's shape.
  server.on('clientError', jwt.clientErrorHandler());
  return {
    driver,
    jwt,
    request: supertest.agent(url),
    url,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** base64url of a JSON value, for hand-built tokens. */
export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Signs `header.payload` with HMAC by hand: the way to build tokens no library would. */
export function hmacToken(header: unknown, payload: unknown, secret: string | Buffer = SECRET, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** Claims of a valid access token for `sub`, to be varied by a test. */
export function accessClaims(sub = 'alice', overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { fresh: false, iat, jti: randomUUID(), type: 'access', sub, nbf: iat, exp: iat + 900, ...overrides };
}

/**
 * A GET with a raw header list, so a header can appear twice (supertest merges
 * them). Node adds no Host of its own to a raw list, so it goes first. Each on
 * a connection of its own: routing-controllers' Express driver closes the
 * connection after an authorization error, which a reused one would meet.
 */
export function getWithRawHeaders(base: string, path: string, headers: Array<[string, string]>): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, agent: false, headers: [['Host', url.host], ...headers].flat() }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}
