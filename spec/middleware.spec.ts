import { expect } from 'chai';
import { Controller, Get, JsonController } from 'routing-controllers';
import { getJwtIdentity, verifyJwtInRequest, type DriverContext, type JwtMiddleware } from '../src';
import { DriverObject, forEachDriver, SECRET, startServer, type TestServer } from './helpers';

// Unprotected actions: only the middleware in front of them guards them.
let runs = 0;

@JsonController('/json')
class JsonRoutes {
  @Get('/me') me(@DriverObject() ctx: DriverContext) { runs++; return { id: getJwtIdentity(ctx) }; }
}

@Controller('/text')
class TextRoutes {
  @Get('/me') me(@DriverObject() ctx: DriverContext) { runs++; return `hello ${getJwtIdentity(ctx)}`; }
}

describe('guard middleware in front of the routes', () => forEachDriver((driver) => {
  const guards: Array<[string, (jwt: TestServer['jwt']) => JwtMiddleware[]]> = [
    ['jwt.jwtRequired()', (jwt) => [jwt.jwtRequired()]],
    ['app.use(verifyJwtInRequest)', () => [verifyJwtInRequest]],
  ];
  for (const [name, middlewares] of guards) {
    describe(name, () => {
      let server: TestServer;
      before(async () => { server = await startServer([JsonRoutes, TextRoutes], { secretKey: SECRET }, { development: true }, driver, middlewares); });
      after(() => server.close());

      for (const prefix of ['/json', '/text']) {
        it(`${prefix}: refuses as a decorated action would (status, challenge, JSON body), and the action does not run`, async () => {
          const before = runs;
          const missing = await server.request.get(`${prefix}/me`).expect(401);
          expect(missing.headers['content-type']).to.match(/^application\/json/);
          expect(missing.body).to.deep.equal({ msg: 'Missing Authorization Header' });
          expect(missing.headers['www-authenticate']).to.equal('Bearer');
          const refresh = await server.jwt.tokens.createRefreshToken('alice');
          const wrong = await server.request.get(`${prefix}/me`).set('Authorization', `Bearer ${refresh}`).expect(422);
          expect(wrong.body).to.deep.equal({ msg: 'Only non-refresh tokens are allowed' });
          expect(wrong.text).not.to.contain('    at ');
          await server.request.options(`${prefix}/me`).set({ Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' }).expect(204);
          expect(runs).to.equal(before);
        });
      }

      it('lets a valid token through, the request state set for the action', async () => {
        const token = await server.jwt.tokens.createAccessToken('alice');
        await server.request.get('/json/me').set('Authorization', `Bearer ${token}`).expect(200, { id: 'alice' });
        expect((await server.request.get('/text/me').set('Authorization', `Bearer ${token}`).expect(200)).text).to.equal('hello alice');
      });
    });
  }

  it('jwt.jwtRequired(options) takes the options of @JwtRequired()', async () => {
    const server = await startServer([JsonRoutes], { secretKey: SECRET }, {}, driver, (jwt) => [jwt.jwtRequired({ roles: ['admin'] })]);
    try {
      const user = await server.jwt.tokens.createAccessToken('bob');
      expect((await server.request.get('/json/me').set('Authorization', `Bearer ${user}`).expect(403)).body).to.deep.equal({ msg: 'Missing required role: admin' });
      const admin = await server.jwt.tokens.createAccessToken('alice', { additionalClaims: { roles: ['admin'] } });
      await server.request.get('/json/me').set('Authorization', `Bearer ${admin}`).expect(200, { id: 'alice' });
    } finally {
      await server.close();
    }
  });
}));
