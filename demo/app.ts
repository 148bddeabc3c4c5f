import 'reflect-metadata';
import type { Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { useContainer, useExpressServer, useKoaServer, type RoutingControllersOptions } from 'routing-controllers';
import { Container } from 'typedi';
import { JwtManager, type JwtConfig, type JwtEventName } from '../src';
import { AccountController, AuthController, CookieAuthController, KeysController, PageController } from './controllers';
import { UserStore } from './users';

/** routing-controllers' drivers, either of which the demo runs on. */
export type DemoDriver = 'koa' | 'express';

/** What the demo needs of the app it builds: Koa's and Express's `listen`. */
export interface DemoApp {
  listen(port: number, host: string, listening: () => void): Server;
}

/**
 * The demo API on embedded defaults: a user `test` with password `test`, users
 * in memory, refresh-token rotation on, tokens in the Authorization header or
 * in cookies (with CSRF protection), revocations in memory unless `config`
 * names another store. The same controllers on Koa or on Express.
 */
export async function createDemoApp(config: JwtConfig, driver: DemoDriver = 'koa'): Promise<DemoApp> {
  const jwt = new JwtManager({ refreshTokenRotation: true, tokenLocation: ['headers', 'cookies'], ...config });
  logEvents(jwt);
  const users = new UserStore();
  await users.add('test', 'test');

  useContainer(Container);
  jwt.provideTo(Container);
  Container.set(UserStore, users);

  const options: RoutingControllersOptions = {
    controllers: [AuthController, AccountController, CookieAuthController, KeysController, PageController],
    authorizationChecker: jwt.authorizationChecker,
    currentUserChecker: jwt.currentUserChecker,
    development: false,
    // Validation errors must not echo the submitted body: it holds the password.
    validation: { validationError: { target: false, value: false } },
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
function logEvents(jwt: JwtManager): void {
  const events: JwtEventName[] = ['login', 'refresh', 'logout', 'sessionEnded', 'reuseDetected', 'revokedTokenUsed', 'storeUnavailable'];
  for (const name of events) {
    jwt.on(name, (event) => {
      const { identity, sessionId, request } = event;
      const reason = 'reason' in event ? ` reason=${event.reason}` : '';
      const where = request ? ` ${request.method} ${request.path} from ${request.ip}` : '';
      console.log(`event ${name} identity=${JSON.stringify(identity)} session=${sessionId ?? '-'}${reason}${where}`);
    });
  }
}
