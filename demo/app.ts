import 'reflect-metadata';
import { createKoaServer, useContainer } from 'routing-controllers';
import { Container } from 'typedi';
import type Koa from 'koa';
import { JwtManager, type JwtConfig } from '../src';
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
  const users = new UserStore();
  await users.add('test', 'test');

  useContainer(Container);
  jwt.provideTo(Container);
  Container.set(UserStore, users);

  return createKoaServer({
    controllers: [AuthController, AccountController, CookieAuthController, KeysController, PageController],
    authorizationChecker: jwt.authorizationChecker,
    currentUserChecker: jwt.currentUserChecker,
    development: false,
    // Validation errors must not echo the submitted body: it holds the password.
    validation: { validationError: { target: false, value: false } },
  }) as Koa;
}
