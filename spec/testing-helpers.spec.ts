import { expect } from 'chai';
import { Get, JsonController, Post } from 'routing-controllers';
import { CurrentIdentity, CurrentJwt, FreshJwtRequired, JwtRefreshTokenRequired, JwtRequired, type JwtClaims } from '../src';
import { SECRET, startServer, type TestServer } from './helpers';

@JsonController('/helpers')
class Routes {
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return { id }; }
  @Post('/fresh') @FreshJwtRequired() fresh(@CurrentIdentity() id: string) { return { id }; }
  @Get('/admin') @JwtRequired({ roles: ['admin'] }) admin(@CurrentJwt() claims: JwtClaims) { return { roles: claims.roles }; }
}

describe('testing helper: jwt.authHeaders(identity, options)', () => {
  let server: TestServer;
  before(async () => { server = await startServer([Routes]); });
  after(() => server.close());

  it('gives the headers of a request authenticated with an access token', async () => {
    const headers = await server.jwt.authHeaders('alice');
    expect(Object.keys(headers)).to.deep.equal(['Authorization']);
    expect(headers.Authorization).to.match(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    await server.request.get('/helpers/me').set(headers).expect(200, { id: 'alice' });
    await server.request.post('/helpers/fresh').set(headers).expect(401);
  });

  it('with { refresh: true }, a refresh token', async () => {
    const headers = await server.jwt.authHeaders('alice', { refresh: true });
    await server.request.post('/helpers/refresh').set(headers).expect(200, { id: 'alice' });
    await server.request.get('/helpers/me').set(headers).expect(422);
  });

  it('with { fresh: true } and token options such as additionalClaims', async () => {
    await server.request.post('/helpers/fresh').set(await server.jwt.authHeaders('alice', { fresh: true })).expect(200);
    const admin = await server.jwt.authHeaders('alice', { additionalClaims: { roles: ['admin'] } });
    await server.request.get('/helpers/admin').set(admin).expect(200, { roles: ['admin'] });
  });

  it('follows a custom headerName and headerType, or a bare token', async () => {
    const custom = await startServer([Routes], { secretKey: SECRET, headerName: 'X-Api-Token', headerType: 'JWT' });
    const bare = await startServer([Routes], { secretKey: SECRET, headerType: '' });
    try {
      const headers = await custom.jwt.authHeaders('alice');
      expect(headers['X-Api-Token']).to.match(/^JWT /);
      await custom.request.get('/helpers/me').set(headers).expect(200, { id: 'alice' });
      await custom.request.get('/helpers/me').set('X-Api-Token', headers['X-Api-Token'].replace('JWT', 'Bearer'))
        .expect(401, { msg: "Missing 'JWT' type in 'X-Api-Token' header. Expected 'X-Api-Token: JWT <JWT>'" });
      await custom.request.get('/helpers/me').expect(401, { msg: 'Missing X-Api-Token Header' });

      const plain = await bare.jwt.authHeaders('bob');
      expect(plain.Authorization).not.to.contain(' ');
      await bare.request.get('/helpers/me').set(plain).expect(200, { id: 'bob' });
      await bare.request.get('/helpers/me').set('Authorization', `Bearer ${plain.Authorization}`)
        .expect(422, { msg: "Bad Authorization header. Expected 'Authorization: <JWT>'" });
    } finally {
      await custom.close();
      await bare.close();
    }
  });
});
