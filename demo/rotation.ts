/**
 * Key rotation, step by step, without logging anyone out:
 * `npm run build && node dist/demo/rotation.js`.
 */
import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { JwtManager } from '../src';

async function main(): Promise<void> {
  // In production, load these from your secret store.
  const october = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const november = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  let jwt = new JwtManager({ keys: [{ kid: '2026-10', algorithm: 'ES256', privateKey: october.privateKey }] });
  const issuedBefore = await jwt.tokens.createRefreshToken('alice');

  // 1. Publish the new key: it verifies and is in the JWKS, but the old key still signs.
  jwt = new JwtManager({ keys: [
    { kid: '2026-10', algorithm: 'ES256', privateKey: october.privateKey },
    { kid: '2026-11', algorithm: 'ES256', privateKey: november.privateKey },
  ] });
  console.log('1. published:', jwt.jwks().keys.map((key) => key.kid).join(', '));

  // 2. Sign with the new key; the old one only verifies.
  jwt = new JwtManager({ keys: [
    { kid: '2026-11', algorithm: 'ES256', privateKey: november.privateKey },
    { kid: '2026-10', algorithm: 'ES256', publicKey: october.publicKey },
  ] });
  const issuedAfter = await jwt.tokens.createAccessToken('bob');
  console.log('2. signing with', JSON.parse(Buffer.from(issuedAfter.split('.')[0], 'base64url').toString()).kid,
    '- old token still valid for', (await jwt.tokens.decodeToken(issuedBefore)).sub);

  // 3. After the old key's last token has expired, retire it.
  jwt = new JwtManager({ keys: [{ kid: '2026-11', algorithm: 'ES256', privateKey: november.privateKey }] });
  const refused = await jwt.tokens.decodeToken(issuedBefore).then(() => 'accepted', (error: Error) => error.message);
  console.log('3. retired 2026-10; its tokens now:', refused);
  console.log('JWKS:', JSON.stringify(jwt.jwks()));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
