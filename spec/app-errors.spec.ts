import { expect } from 'chai';
import { Controller, Get, JsonController } from 'routing-controllers';
import { JsonHttpError, JwtManager } from '../src';
import { forEachDriver, SECRET, startServer, type TestServer } from './helpers';

// The manager of the server under test: the routes answer their own errors through it.
let jwt: JwtManager;

@JsonController('/app-errors/json')
class JsonRoutes {
  @Get('/login') login() { throw jwt.httpError(401, 'Bad username or password'); }
  @Get('/teapot') teapot() { throw new JsonHttpError(418, { msg: 'I am a teapot', hint: 'try coffee' }); }
  @Get('/decode') async decode() { return jwt.tokens.decodeToken('abc.def'); }
}

@Controller('/app-errors/text')
class TextRoutes {
  @Get('/login') login() { throw jwt.httpError(401, 'Bad username or password'); }
  /** A JwtError the action lets through (a token it decodes itself). */
  @Get('/decode') async decode() { return jwt.tokens.decodeToken('abc.def'); }
}

describe('the app\'s own errors in the library\'s shape', () => {
  forEachDriver((driver) => {
    let server: TestServer;
    let keyed: TestServer;
    before(async () => {
      server = await startServer([JsonRoutes, TextRoutes], { secretKey: SECRET }, { development: true }, driver);
      keyed = await startServer([JsonRoutes, TextRoutes], { secretKey: SECRET, errorMessageKey: 'error' }, { development: true }, driver);
    });
    after(async () => {
      await server.close();
      await keyed.close();
    });

    it('jwt.httpError(401, message) answers 401 { msg } on JSON and plain controllers, never a stack', async () => {
      jwt = server.jwt;
      for (const path of ['/app-errors/json/login', '/app-errors/text/login']) {
        const res = await server.request.get(path).expect(401).expect('Content-Type', /^application\/json/);
        expect(res.body, path).to.deep.equal({ msg: 'Bad username or password' });
      }
    });

    it('uses the configured errorMessageKey', async () => {
      jwt = keyed.jwt;
      for (const path of ['/app-errors/json/login', '/app-errors/text/login']) {
        expect((await keyed.request.get(path).expect(401)).body, path).to.deep.equal({ error: 'Bad username or password' });
      }
    });

    it('a JwtError an action lets through answers its status and message, never a stack (development mode)', async () => {
      jwt = server.jwt;
      expect((await server.request.get('/app-errors/json/decode').expect(422)).body).to.deep.equal({ msg: 'Not enough segments' });
      const text = await server.request.get('/app-errors/text/decode').expect(422);
      expect(text.text).to.equal('Not enough segments');
    });

    it('new JsonHttpError(status, body) answers with a body of the app\'s own', async () => {
      expect((await server.request.get('/app-errors/json/teapot').expect(418)).body).to.deep.equal({ msg: 'I am a teapot', hint: 'try coffee' });
    });
  });

  it('refuses a status that is not an error', () => {
    const manager = new JwtManager({ secretKey: SECRET });
    for (const status of [200, 302, 99, 600, 401.5, Number.NaN]) {
      expect(() => manager.httpError(status, 'x'), String(status)).to.throw(TypeError, 'needs a 4xx or 5xx status');
    }
  });
});
