import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createDemoApp } from './app';

async function main(): Promise<void> {
  let secretKey = process.env.JWT_SECRET_KEY;
  if (!secretKey) {
    secretKey = randomBytes(48).toString('base64url');
    console.warn('WARNING: JWT_SECRET_KEY is not set; using a random secret, so tokens die with this process.\n'
      + '         Set JWT_SECRET_KEY to a random value of at least 32 bytes (openssl rand -base64 48) to keep them.');
  }
  const app = await createDemoApp({ secretKey });
  const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    console.log(`Demo API listening on ${url}
Try it (user "test", password "test"):
  curl -s -X POST ${url}/login -H 'Content-Type: application/json' -d '{"username":"test","password":"test"}'
  TOKEN=<access_token from above>; REFRESH=<refresh_token from above>
  curl -s ${url}/protected -H "Authorization: Bearer $TOKEN"
  curl -s -X POST ${url}/refresh -H "Authorization: Bearer $REFRESH"
  curl -s -X POST ${url}/change-password -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"newPassword":"a-longer-one"}'
  curl -s ${url}/optional`);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
