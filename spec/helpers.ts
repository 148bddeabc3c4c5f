import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKoaServer, type RoutingControllersOptions } from 'routing-controllers';
import supertest from 'supertest';
import { JwtManager, type JwtConfig } from '../src';

/** A secret long enough for every HS algorithm. */
export const SECRET = 'test-secret-that-is-long-enough-for-hs512-0123456789abcdef-0123456789';

/** A real Koa server on an ephemeral loopback port, and a supertest agent for it. */
export interface TestServer {
  readonly jwt: JwtManager;
  readonly request: ReturnType<typeof supertest.agent>;
  readonly url: string;
  close(): Promise<void>;
}

export async function startServer(
  controllers: Function[],
  config: JwtConfig = { secretKey: SECRET },
  options: Partial<RoutingControllersOptions> = {},
): Promise<TestServer> {
  const jwt = new JwtManager(config);
  const app = createKoaServer({
    controllers,
    authorizationChecker: jwt.authorizationChecker,
    currentUserChecker: jwt.currentUserChecker,
    ...options,
  }) as { listen(port: number, host: string): Server };
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    jwt,
    request: supertest.agent(url),
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** base64url of a JSON value, for hand-built tokens. */
export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Signs `header.payload` with HMAC by hand: the way to build tokens no library would. */
export function hmacToken(header: unknown, payload: unknown, secret: string | Buffer = SECRET, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** Claims of a valid access token for `sub`, to be varied by a test. */
export function accessClaims(sub = 'alice', overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { fresh: false, iat, jti: randomUUID(), type: 'access', sub, nbf: iat, exp: iat + 900, ...overrides };
}

/**
 * A GET with a raw header list, so a header can appear twice (supertest merges
 * them). Node adds no Host of its own to a raw list, so it goes first.
 */
export function getWithRawHeaders(base: string, path: string, headers: Array<[string, string]>): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: [['Host', url.host], ...headers].flat() }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}
