import { expect } from 'chai';
import { IsString } from 'class-validator';
import { CurrentUser, Get, JsonController, UseBefore } from 'routing-controllers';
import { CurrentIdentity, CurrentJwt, JwtOptional, verifyJwtInRequest, type DriverContext, type JwtClaims } from '../src';
import { forEachDriver, startServer, type Driver, type TestServer } from './helpers';

class AppClaims { @IsString() sub!: string; }

@JsonController('/unprotected')
class Unprotected {
  @Get('/identity') identity(@CurrentIdentity() id: string) { return { id }; }
  @Get('/jwt') jwt(@CurrentJwt() claims: JwtClaims) { return { claims }; }
  @Get('/typed') typed(@CurrentJwt() claims: AppClaims) { return { claims }; }
  @Get('/user') user(@CurrentUser() user: unknown) { return { user }; }
}

/** verifyJwtInRequest as a route middleware, on either driver. */
function verifying(driver: Driver): Function {
  return driver === 'koa'
    ? async (ctx: DriverContext, next: () => Promise<unknown>) => { await verifyJwtInRequest(ctx, { optional: true }); await next(); }
    : (req: DriverContext, _res: unknown, next: (error?: unknown) => void) => { verifyJwtInRequest(req, { optional: true }).then(() => next(), next); };
}

function verifiedControllers(driver: Driver): Function[] {
  @JsonController(`/verified-${driver}`)
  class Verified {
    @Get('/optional') @JwtOptional() optional(@CurrentIdentity() id?: string) { return { id: id ?? null }; }
    @Get('/middleware') @UseBefore(verifying(driver)) middleware(@CurrentIdentity() id?: string, @CurrentUser() user?: unknown) {
      return { id: id ?? null, user: user ?? null };
    }
  }
  return [Verified];
}

describe('@CurrentIdentity(), @CurrentJwt(), @CurrentUser() on an action without a JWT requirement', () => forEachDriver((driver) => {
  let server: TestServer;
  before(async () => { server = await startServer([Unprotected, ...verifiedControllers(driver)], undefined, {}, driver); });
  after(() => server.close());

  for (const [path, where] of [
    ['/unprotected/identity', '@CurrentIdentity() on Unprotected.identity'],
    ['/unprotected/jwt', '@CurrentJwt() on Unprotected.jwt'],
    ['/unprotected/typed', '@CurrentJwt() on Unprotected.typed'],
    ['/unprotected/user', '@CurrentUser() on GET /unprotected/user'],
  ]) {
    it(`${path}: fails loudly, naming the action and what to add, instead of injecting undefined`, async () => {
      const token = await server.jwt.tokens.createAccessToken('alice');
      for (const request of [server.request.get(path), server.request.get(path).set('Authorization', `Bearer ${token}`)]) {
        const res = await request.expect(500);
        expect(res.body.name).to.equal('JwtRequirementMissingError');
        expect(res.body.message).to.match(new RegExp(`^${where.replace(/[()]/g, '\\$&')} reads the request's verified token, but nothing verified one: add @JwtRequired\\(\\)`));
        expect(res.body.message).to.contain('verifyJwtInRequest()');
      }
    });
  }

  it('an optional route without a token, or a verifyJwtInRequest middleware, is a requirement: no error', async () => {
    const base = `/verified-${driver}`;
    await server.request.get(`${base}/optional`).expect(200, { id: null });
    await server.request.get(`${base}/middleware`).expect(200, { id: null, user: null });
    const token = await server.jwt.tokens.createAccessToken('alice');
    await server.request.get(`${base}/middleware`).set('Authorization', `Bearer ${token}`).expect(200, { id: 'alice', user: 'alice' });
  });
}));
