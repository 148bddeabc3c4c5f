import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { RedisRevocationStore, type JwtConfig } from '../src';
import { createDemoApp, type DemoDriver } from './app';

/**
 * The demo's keys: an HMAC secret from JWT_SECRET_KEY by default; with
 * JWT_ALGORITHM=ES256 (or RS256, PS256, ...) a key pair from JWT_PRIVATE_KEY (PEM),
 * served at /.well-known/jwks.json. Missing ones are generated, with a warning.
 */
function keyConfig(): JwtConfig {
  const algorithm = (process.env.JWT_ALGORITHM ?? 'HS256') as NonNullable<JwtConfig['algorithm']>;
  const warn = (what: string) => console.warn(`WARNING: ${what} is not set; using a random one, so tokens die with this process.`);
  if (algorithm.startsWith('HS')) {
    if (process.env.JWT_SECRET_KEY) return { algorithm, secretKey: process.env.JWT_SECRET_KEY };
    warn('JWT_SECRET_KEY');
    // RFC 7518 §3.2, as JwtManager enforces it: at least the hash's size.
    const bytes = Number(algorithm.slice(2)) / 8;
    console.warn(`         Set it to a random value of at least ${bytes} bytes for ${algorithm} (openssl rand -base64 ${bytes}) to keep tokens across restarts.`);
    return { algorithm, secretKey: randomBytes(bytes).toString('base64url') };
  }
  let privateKey = process.env.JWT_PRIVATE_KEY;
  if (!privateKey) {
    warn('JWT_PRIVATE_KEY');
    const curve = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[algorithm as string];
    const pair = curve ? generateKeyPairSync('ec', { namedCurve: curve }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
  return { keys: [{ kid: `demo-${new Date().toISOString().slice(0, 10)}`, algorithm, privateKey }] };
}

/** Revocations in Redis when REDIS_URL is set (shared by every instance), else in memory. */
async function revocationConfig(): Promise<JwtConfig> {
  const grace = process.env.JWT_ROTATION_GRACE_PERIOD;
  const config: JwtConfig = grace === undefined ? {} : { rotationGracePeriod: grace };
  if (!process.env.REDIS_URL) return config;
  const { Redis } = await import('ioredis');
  // No offline queue: while Redis is away, requests fail fast (503) instead of waiting.
  const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, enableAutoPipelining: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // ioredis reconnects by itself; the 503s say enough
  await redis.connect();
  return { ...config, revocationStore: new RedisRevocationStore(redis) };
}

/** The JWKS line of the start-up message: an HMAC secret is never published, so with one the set is empty, and the line says why. */
function jwksHint(url: string, hmac: boolean): string {
  if (!hmac) return `curl -s ${url}/.well-known/jwks.json   # the public key other services verify tokens with`;
  return `# ${url}/.well-known/jwks.json publishes public keys: an HMAC secret has none, so it answers {"keys":[]}.
  # JWT_ALGORITHM=ES256 npm start signs with a key pair and publishes its public key there.`;
}

/** Whether the demo listens on this machine only: there its cookies go over plain HTTP; anywhere else they are Secure (HTTPS only). */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

async function main(): Promise<void> {
  const keys = keyConfig();
  const driver: DemoDriver = process.env.DRIVER === 'express' ? 'express' : 'koa';
  const host = process.env.HOST ?? '127.0.0.1';
  const app = await createDemoApp({ ...keys, cookieSecure: !isLoopback(host), ...(await revocationConfig()) }, driver);
  const server = app.listen(Number(process.env.PORT ?? 3000), host, () => {
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    console.log(`Demo API listening on ${url} (${driver === 'express' ? 'Express' : 'Koa'}; revocations: ${process.env.REDIS_URL ? 'Redis' : 'in memory'})
Try it (user "test", password "test"):
  curl -s -X POST ${url}/login -H 'Content-Type: application/json' -d '{"username":"test","password":"test"}'
  TOKEN=<access_token from above>; REFRESH=<refresh_token from above>
  curl -s ${url}/protected -H "Authorization: Bearer $TOKEN"
  curl -s -X POST ${url}/refresh -H "Authorization: Bearer $REFRESH"     # rotates: use the new refresh_token next time
  curl -s -X POST ${url}/change-password -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"newPassword":"a-longer-one"}'
  curl -s ${url}/optional
  curl -s -X POST ${url}/logout -H "Authorization: Bearer $TOKEN"
  ${jwksHint(url, keys.secretKey !== undefined)}
Or open ${url}/ in a browser for the cookie session (login, a POST with the CSRF header, logout).`);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
