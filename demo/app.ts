import 'reflect-metadata';
import { STATUS_CODES } from 'node:http';
import Koa from 'koa';
import { useContainer, useKoaServer } from 'routing-controllers';
import { Container } from 'typedi';
import { JsonHttpError, JwtManager, type JwtConfig, type JwtEventName } from '../src';
import { AccountController, AuthController, CookieAuthController, KeysController, PageController } from './controllers';
import { UserStore } from './users';

/**
 * The demo API on embedded defaults: a user `test` with password `test`, users
 * in memory, refresh-token rotation on, tokens in the Authorization header or
 * in cookies (with CSRF protection), revocations in memory unless `config`
 * names another store.
 */
export async function createDemoApp(config: JwtConfig): Promise<Koa> {
  const jwt = new JwtManager({ refreshTokenRotation: true, tokenLocation: ['headers', 'cookies'], ...config });
  logEvents(jwt);
  const users = new UserStore();
  await users.add('test', 'test');

  useContainer(Container);
  jwt.provideTo(Container);
  Container.set(UserStore, users);

  const app = new Koa();
  app.use(clientErrorsAsJson(jwt));
  return useKoaServer(app, {
    controllers: [AuthController, AccountController, CookieAuthController, KeysController, PageController],
    authorizationChecker: jwt.authorizationChecker,
    currentUserChecker: jwt.currentUserChecker,
    development: false,
    // Validation errors must not echo the submitted body: it holds the password.
    validation: { validationError: { target: false, value: false } },
  });
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

/**
 * Client errors raised before any action runs — a malformed JSON body, which the
 * body parser refuses — answer in the API's shape, `{ "msg": ... }`, instead of
 * Koa's text/plain. Never the parser's own message: it may quote the body.
 */
function clientErrorsAsJson(jwt: JwtManager): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (error instanceof JsonHttpError || typeof status !== 'number' || status < 400 || status > 499) throw error;
      const answer = jwt.httpError(status, error instanceof SyntaxError ? 'Malformed JSON body' : STATUS_CODES[status] ?? 'Bad Request');
      ctx.status = answer.status;
      ctx.body = answer.toJSON();
    }
  };
}
