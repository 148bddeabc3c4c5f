import { expect } from 'chai';
import { Get, JsonController, Post } from 'routing-controllers';
import { CurrentIdentity, FreshJwtRequired, JwtOptional, JwtRefreshTokenRequired, JwtRequired, type JwtRequiredOptions } from '../src';
import { SECRET, startServer, type TestServer } from './helpers';

@JsonController('/opts')
class Routes {
  @Post('/cookie-refresh') @JwtRefreshTokenRequired({ locations: ['cookies'] }) refresh(@CurrentIdentity() id: string) { return { id }; }
  @Post('/fresh-admin') @FreshJwtRequired({ roles: ['admin'] }) freshAdmin(@CurrentIdentity() id: string) { return { id }; }
  @Get('/optional-query') @JwtOptional({ locations: ['query_string'] }) optional(@CurrentIdentity() id?: string) { return { id: id ?? null }; }
  @Get('/optional-any-type') @JwtOptional({ verifyType: false }) anyType(@CurrentIdentity() id?: string) { return { id: id ?? null }; }
}

describe('shortcut decorators take the remaining options', () => {
  let server: TestServer;
  before(async () => { server = await startServer([Routes], { secretKey: SECRET, tokenLocation: ['headers', 'cookies'] }); });
  after(() => server.close());

  it('@JwtRefreshTokenRequired({ locations: [\'cookies\'] }): a refresh cookie with its CSRF header, not a header token', async () => {
    const jwt = server.jwt;
    const refresh = await jwt.tokens.createRefreshToken('alice');
    const { csrf } = await jwt.tokens.decodeToken(refresh);
    await server.request.post('/opts/cookie-refresh').set('Cookie', `refresh_token_cookie=${refresh}`).set('X-CSRF-TOKEN', csrf!)
      .expect(200, { id: 'alice' });
    expect((await server.request.post('/opts/cookie-refresh').set('Authorization', `Bearer ${refresh}`).expect(401)).body)
      .to.deep.equal({ msg: 'Missing cookie "refresh_token_cookie"' });
    const access = await jwt.tokens.createAccessToken('alice');
    const accessCsrf = (await jwt.tokens.decodeToken(access)).csrf!;
    expect((await server.request.post('/opts/cookie-refresh').set('Cookie', `refresh_token_cookie=${access}`).set('X-CSRF-TOKEN', accessCsrf).expect(422)).body)
      .to.deep.equal({ msg: 'Only refresh tokens are allowed' });
  });

  it('@FreshJwtRequired({ roles }): fresh and holding the role', async () => {
    const token = (fresh: boolean, roles: string[]) => server.jwt.tokens.createAccessToken('alice', { fresh, additionalClaims: { roles } });
    await server.request.post('/opts/fresh-admin').set('Authorization', `Bearer ${await token(false, ['admin'])}`).expect(401, { msg: 'Fresh token required' });
    await server.request.post('/opts/fresh-admin').set('Authorization', `Bearer ${await token(true, [])}`).expect(403, { msg: 'Missing required role: admin' });
    await server.request.post('/opts/fresh-admin').set('Authorization', `Bearer ${await token(true, ['admin'])}`).expect(200, { id: 'alice' });
  });

  it('@JwtOptional({ locations, verifyType })', async () => {
    const access = await server.jwt.tokens.createAccessToken('alice');
    const refresh = await server.jwt.tokens.createRefreshToken('bob');
    await server.request.get('/opts/optional-query').expect(200, { id: null });
    await server.request.get('/opts/optional-query').set('Authorization', `Bearer ${access}`).expect(200, { id: null });
    await server.request.get(`/opts/optional-query?jwt=${access}`).expect(200, { id: 'alice' });
    await server.request.get('/opts/optional-any-type').set('Authorization', `Bearer ${refresh}`).expect(200, { id: 'bob' });
  });

  it('contradicting options do not type-check, and are refused at decoration in plain JavaScript', () => {
    // @ts-expect-error refresh tokens are never fresh
    expect(() => JwtRefreshTokenRequired({ fresh: true })).to.throw(TypeError, '@JwtRefreshTokenRequired() does not take `fresh`');
    // @ts-expect-error a refresh route checks the type
    expect(() => JwtRefreshTokenRequired({ verifyType: false })).to.throw(TypeError, 'does not take `verifyType`');
    // @ts-expect-error a required token is not optional
    expect(() => JwtRefreshTokenRequired({ optional: true })).to.throw(TypeError, 'does not take `optional`');
    // @ts-expect-error a fresh route is an access-token route
    expect(() => FreshJwtRequired({ refresh: true })).to.throw(TypeError, '@FreshJwtRequired() does not take `refresh`');
    // @ts-expect-error a fresh route
    expect(() => FreshJwtRequired({ fresh: false })).to.throw(TypeError, 'does not take `fresh`');
    // @ts-expect-error roles always need a token
    expect(() => JwtOptional({ roles: ['admin'] })).to.throw(TypeError, '@JwtOptional() does not take `roles`');
    // @ts-expect-error optional already
    expect(() => JwtOptional({ optional: false })).to.throw(TypeError, 'does not take `optional`');

    const both: JwtRequiredOptions = { refresh: true, fresh: true };
    expect(() => JwtRequired(both)).to.throw(TypeError, '@JwtRequired(): `refresh` and `fresh` contradict each other');
  });

  it('stacked shortcuts that contradict each other fail at start-up, naming the action', async () => {
    @JsonController('/stacked')
    class Stacked {
      @Post('/both') @JwtRefreshTokenRequired() @FreshJwtRequired() both() { return {}; }
    }
    let error: unknown;
    try {
      await (await startServer([Stacked])).close();
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.equal('the decorators on Stacked.both: `refresh` and `fresh` contradict each other (refresh tokens are never fresh), so no token could pass');
  });
});
