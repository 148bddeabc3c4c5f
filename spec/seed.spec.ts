import { expect } from 'chai';
import { Body, Get, JsonController, Post, UnauthorizedError } from 'routing-controllers';
import { IsString } from 'class-validator';
import { CurrentIdentity, JwtManager, JwtRefreshTokenRequired, JwtRequired } from '../src';
import { forEachDriver, startServer, type TestServer } from './helpers';

// The contract's "user's view" example, verbatim but for the secret and port.
let jwt: JwtManager;

class LoginDto { @IsString() username!: string; @IsString() password!: string; }

@JsonController()
class AuthController {
  @Post('/login')
  async login(@Body() body: LoginDto) {
    if (body.username !== 'test' || body.password !== 'test') throw new UnauthorizedError('Bad username or password');
    return {
      access_token: await jwt.tokens.createAccessToken(body.username),
      refresh_token: await jwt.tokens.createRefreshToken(body.username),
    };
  }

  @Post('/refresh')
  @JwtRefreshTokenRequired()
  async refresh(@CurrentIdentity() identity: string) {
    return { access_token: await jwt.tokens.createAccessToken(identity) };
  }

  @Get('/protected')
  @JwtRequired()
  protected(@CurrentIdentity() identity: string) {
    return { logged_in_as: identity };
  }
}

describe('the seed example', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => {
    server = await startServer([AuthController], undefined, {}, driver);
    jwt = server.jwt;
  });
  after(() => server.close());

  it('logs in, reaches the protected route, refreshes', async () => {
    const login = await server.request.post('/login').send({ username: 'test', password: 'test' }).expect(200);
    expect(login.body).to.have.keys('access_token', 'refresh_token');
    const me = await server.request.get('/protected').set('Authorization', `Bearer ${login.body.access_token}`).expect(200);
    expect(me.body).to.deep.equal({ logged_in_as: 'test' });
    const refreshed = await server.request.post('/refresh').set('Authorization', `Bearer ${login.body.refresh_token}`).expect(200);
    expect(refreshed.body).to.have.keys('access_token');
    await server.request.get('/protected').set('Authorization', `Bearer ${refreshed.body.access_token}`).expect(200);
  });

  it('refuses bad credentials and bad bodies', async () => {
    await server.request.post('/login').send({ username: 'test', password: 'nope' }).expect(401);
    const bad = await server.request.post('/login').send({ username: 1 }).expect(400);
    expect(JSON.stringify(bad.body)).to.contain('username');
  });

  it('refuses the refresh token on the protected route and the access token on /refresh', async () => {
    const { body } = await server.request.post('/login').send({ username: 'test', password: 'test' });
    const a = await server.request.get('/protected').set('Authorization', `Bearer ${body.refresh_token}`).expect(422);
    expect(a.body).to.deep.equal({ msg: 'Only non-refresh tokens are allowed' });
    const b = await server.request.post('/refresh').set('Authorization', `Bearer ${body.access_token}`).expect(422);
    expect(b.body).to.deep.equal({ msg: 'Only refresh tokens are allowed' });
  });

  it('answers 401 with the contract body and a Bearer challenge without a token', async () => {
    const res = await server.request.get('/protected').expect(401);
    expect(res.body).to.deep.equal({ msg: 'Missing Authorization Header' });
    expect(res.headers['www-authenticate']).to.equal('Bearer');
  });
}));
