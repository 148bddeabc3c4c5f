import 'reflect-metadata';
import type { Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { useContainer, useExpressServer, useKoaServer, type RoutingControllersOptions } from 'routing-controllers';
import { Container } from 'typedi';
import { JwtManager, type JwtConfig, type JwtEventName } from '../src';
import { AccountController, AuthController, CookieAuthController, KeysController, PageController } from './controllers';
import { VALIDATION } from './json-body';
import { LoginThrottle, type LoginThrottleOptions } from './throttle';
import { UserStore } from './users';

/** routing-controllers' drivers, either of which the demo runs on. */
export type DemoDriver = 'koa' | 'express';

/** What the demo needs of the app it builds: Koa's and Express's `listen`. */
export interface DemoApp {
  listen(port: number, host: string, listening?: () => void): Server;
}

/** What a test (or another host) sets besides the JwtManager's configuration. */
export interface DemoOptions {
  /** The login throttle's limits and clock. */
  throttle?: LoginThrottleOptions;
  /** Where the audit trail's lines go. Default `console.log`. */
  log?: (line: string) => void;
}

/**
 * The demo API on embedded defaults: a user `test` with password `test`, users
 * in memory, refresh-token rotation on, tokens in the Authorization header or
 * in cookies (with CSRF protection; `SameSite=Lax`, so no cross-site POST or
 * fetch carries them), logins throttled, revocations in memory unless `config`
 * names another store. The same controllers on Koa or on Express.
 */
export async function createDemoApp(config: JwtConfig, driver: DemoDriver = 'koa', demo: DemoOptions = {}): Promise<DemoApp> {
  const jwt = new JwtManager({ refreshTokenRotation: true, tokenLocation: ['headers', 'cookies'], cookieSameSite: 'Lax', ...config });
  logEvents(jwt, demo.log ?? console.log);
  const users = new UserStore();
  await users.add('test', 'test');

  useContainer(Container);
  jwt.provideTo(Container);
  Container.set(UserStore, users);
  Container.set(LoginThrottle, new LoginThrottle(demo.throttle));

  const options: RoutingControllersOptions = {
    controllers: [AuthController, AccountController, CookieAuthController, KeysController, PageController],
    authorizationChecker: jwt.authorizationChecker,
    currentUserChecker: jwt.currentUserChecker,
    development: false,
    // Bodies are validated by @JsonBody(); any other validated parameter gets the same options.
    validation: VALIDATION,
  };
  if (driver === 'express') {
    const app = express();
    useExpressServer(app, options);
    // A malformed body answers { msg }, and routing-controllers' answered errors keep the connection open.
    app.use(jwt.expressErrorHandler());
    return answeringClientErrors(app, jwt);
  }
  const app = new Koa();
  // A malformed body answers { msg }, not Koa's text/plain.
  app.use(jwt.koaErrorHandler());
  return answeringClientErrors(useKoaServer(app, options), jwt);
}

/** Oversized headers and malformed requests answer { msg } too, and the client reads the answer instead of a reset. */
function answeringClientErrors(app: DemoApp, jwt: JwtManager): DemoApp {
  return { listen: (port, host, listening) => app.listen(port, host, listening).on('clientError', jwt.clientErrorHandler()) };
}

/** The audit trail: every security event on one line (never a token), the place for logs and metrics. */
function logEvents(jwt: JwtManager, log: (line: string) => void): void {
  const events: JwtEventName[] = ['login', 'refresh', 'logout', 'sessionEnded', 'reuseDetected', 'revokedTokenUsed', 'storeUnavailable'];
  for (const name of events) {
    jwt.on(name, (event) => {
      const { identity, sessionId, request } = event;
      const reason = 'reason' in event ? ` reason=${event.reason}` : '';
      const where = request ? ` ${request.method} ${request.path} from ${request.ip}` : '';
      log(`event ${name} identity=${JSON.stringify(identity)} session=${sessionId ?? '-'}${reason}${where}`);
    });
  }
}
