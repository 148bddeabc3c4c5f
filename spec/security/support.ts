import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import type { Response } from 'supertest';
import { Get, JsonController, Post } from 'routing-controllers';
import { CurrentIdentity, JwtRefreshTokenRequired, JwtRequired } from '../../src';
import { SECRET } from '../helpers';

export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
export const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
export const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;

@JsonController('/sec')
export class SecurityRoutes {
  @Get('/access') @JwtRequired() access(@CurrentIdentity() id: string) { return { id }; }
  @Post('/refresh') @JwtRefreshTokenRequired() refresh(@CurrentIdentity() id: string) { return { id }; }
}

export const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs raw header and payload text (so duplicates and odd JSON survive) with any key and algorithm. */
export function signRaw(header: string | object, payload: string | object, alg: string, key: KeyObject | string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const hash = `sha${alg.slice(2)}`;
  let signature: Buffer;
  if (alg.startsWith('HS')) signature = createHmac(hash, key).update(input).digest();
  else if (alg.startsWith('ES')) signature = sign(hash, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  else signature = sign(hash, Buffer.from(input), key as KeyObject);
  return `${input}.${signature.toString('base64url')}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSeconds();
  return { fresh: false, iat, jti: `jti-${Math.random()}`, type: 'access', sub: 'alice', nbf: iat, exp: iat + 600, ...overrides };
}

/** Things no response may contain. */
export const SECRETS = [SECRET.slice(0, 24), rsaPem.split('\n')[1], ecPem.split('\n')[1], 'expected-audience', 'https://issuer.example', '    at '];

/**
 * Every answer to a hostile request: a 4xx (never 5xx), exactly `{ "msg": <string> }`,
 * and nothing of the token, a key, an expected value or a stack.
 */
export function expectRefusal(res: Response, token: string | undefined, status?: number, msg?: string | RegExp): void {
  expect(res.status, res.text).to.be.within(400, 499);
  if (status !== undefined) expect(res.status, res.text).to.equal(status);
  if (res.status !== 431) {
    expect(res.body).to.have.all.keys('msg');
    expect(res.body.msg).to.be.a('string');
    if (typeof msg === 'string') expect(res.body.msg).to.equal(msg);
    else if (msg) expect(res.body.msg).to.match(msg);
  }
  for (const secret of SECRETS) expect(res.text).not.to.contain(secret);
  if (token) for (const segment of token.split('.').filter((s) => s.length > 12)) expect(res.text).not.to.contain(segment.slice(0, 24));
}
