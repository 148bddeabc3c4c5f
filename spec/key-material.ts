import { createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Jwk, KeyMaterial } from '../src';

/** A self-signed P-256 certificate (`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj /CN=test -days 36500`). */
export const CERTIFICATE_PEM = `-----BEGIN CERTIFICATE-----
MIIBdDCCARugAwIBAgIUHEDPcO3OLbxgYyfK222HUA+fHVAwCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEdGVzdDAgFw0yNjEyMDgwMzA1MDNaGA8yMTI2MTExNDAzMDUw
M1owDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDhN
cZvB6f9hAQDXAPBQ080mYOL1Umj6O4E4yC0Ko1SCLB7qP9eLTuoWcbsYtXCQIHQw
9Q25JyaC69HWIn64aUGjUzBRMB0GA1UdDgQWBBRKkRee/GLz3M93cuMV8cRWEkaS
RzAfBgNVHSMEGDAWgBRKkRee/GLz3M93cuMV8cRWEkaSRzAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0cAMEQCIHn/fhql9+jcuqFH5Tm5HpQg6SQEQVvDemo0
pn0qS9CeAiAFzZXnFwhKL8IGSpV1uGnJ+Hx4etSvZulhs55KTUQR0A==
-----END CERTIFICATE-----
`;

/** The certificate's DER bytes: the public "secret" of the certificate forgery. */
export const CERTIFICATE_DER = new X509Certificate(CERTIFICATE_PEM).raw;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** The body of a PEM: base64 wrapped at 64 columns, its armour lines gone. */
function pemBody(der: Buffer, eol = '\n'): string {
  return (der.toString('base64').match(/.{1,64}/g) ?? []).join(eol);
}

/**
 * Public (and private) key material in the encodings a verifier is handed, as an
 * app might pass it for an HMAC secret: each keys the forgery with public bytes.
 */
export function keyMaterialForms(): Array<[name: string, material: string | Buffer | KeyObject | Jwk]> {
  const spki = rsa.publicKey.export({ type: 'spki', format: 'der' });
  const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'der' });
  const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'der' });
  const sec1 = ec.privateKey.export({ type: 'sec1', format: 'der' });
  const ecSpki = ec.publicKey.export({ type: 'spki', format: 'der' });
  const publicJwk = rsa.publicKey.export({ format: 'jwk' });
  return [
    ['certificate DER', CERTIFICATE_DER],
    ['certificate DER as a secret KeyObject', createSecretKey(CERTIFICATE_DER)],
    ['certificate DER as an oct JWK', { kty: 'oct', k: CERTIFICATE_DER.toString('base64url') }],
    ['certificate PEM body without armour', pemBody(CERTIFICATE_DER)],
    ['certificate base64 on one line, as a Buffer', Buffer.from(CERTIFICATE_DER.toString('base64'))],
    ['certificate base64url', CERTIFICATE_DER.toString('base64url')],
    ['RSA SPKI PEM body without armour', pemBody(spki)],
    ['RSA SPKI PEM body, CRLF-wrapped and indented, with a BOM', `\uFEFF  ${pemBody(spki, '\r\n    ')}\r\n`],
    ['RSA PKCS#1 PEM body without armour', pemBody(pkcs1)],
    ['RSA PKCS#8 (private) PEM body without armour', pemBody(pkcs8)],
    ['EC SEC1 (private) PEM body without armour', pemBody(sec1)],
    ['EC SPKI base64url', ecSpki.toString('base64url')],
    ['RSA SPKI DER as an oct JWK', { kty: 'oct', k: spki.toString('base64url') }],
    ['RSA SPKI hex', spki.toString('hex')],
    ['EC SPKI hex, upper case, wrapped', (ecSpki.toString('hex').toUpperCase().match(/.{1,32}/g) ?? []).join('\n')],
    ['EC SPKI hex with colons (openssl -text)', (ecSpki.toString('hex').match(/../g) ?? []).join(':')],
    ['RSA public JWK as JSON text', JSON.stringify(publicJwk)],
    ['RSA public JWK as pretty JSON text, as a Buffer', Buffer.from(`\n${JSON.stringify({ ...publicJwk, kid: 'k1', alg: 'RS256' }, null, 2)}\n`)],
    ['EC private JWK as JSON text', JSON.stringify(ec.privateKey.export({ format: 'jwk' }))],
    ['oct JWK as JSON text', JSON.stringify({ kty: 'oct', k: randomBytes(32).toString('base64url') })],
    ['JWK Set as JSON text', JSON.stringify({ keys: [publicJwk] })],
  ];
}

/** Secrets of the right length and trivially low diversity, for `alg`'s sake named with it. */
export const WEAK_SECRETS: Array<[name: string, secret: KeyMaterial, alg?: 'HS384' | 'HS512']> = [
  ["'x'.repeat(32)", 'x'.repeat(32)],
  ['32 zero bytes', Buffer.alloc(32)],
  ['32 zero bytes as a secret KeyObject', createSecretKey(Buffer.alloc(32))],
  ['32 zero bytes as an oct JWK', { kty: 'oct', k: Buffer.alloc(32).toString('base64url') }],
  ['64 0xff bytes (HS512)', Buffer.alloc(64, 0xff), 'HS512'],
  ["'secret'.repeat(6)", 'secret'.repeat(6)],
  ["'ab'.repeat(16)", 'ab'.repeat(16)],
  ["'password'.repeat(4)", 'password'.repeat(4)],
  ["'0123456789'.repeat(4)", '0123456789'.repeat(4)],
  ["'abcdefgh'.repeat(4) and a tail", `${'abcdefgh'.repeat(4)}Z`],
  ["a head and 'abcdefgh'.repeat(4)", `Z${'abcdefgh'.repeat(4)}`],
  ["31 'a's and a 'b'", `${'a'.repeat(31)}b`],
  ['three characters, no period', 'abcabbacbcaacbbcabacbccabaabcbcaabbcacb'],
  ['24 random characters repeated (HS384)', 'k3P9zQ7wLm2xR8vT5nB1cY6d'.repeat(2), 'HS384'],
  ['a 20-character block repeated, HS256', 'Tr0ub4dor&3-horse-st'.repeat(2)],
];

/** An odd number of exactly `bits` bits, as base64url: a stand-in modulus (a public key is never checked for its factors). */
export function oddNumber(bits: number): Buffer {
  const bytes = randomBytes(Math.ceil(bits / 8));
  const spare = bytes.length * 8 - bits;
  bytes[0] = (bytes[0] | 0x80) >> spare;
  bytes[bytes.length - 1] |= 1;
  return bytes;
}

/** The big-endian bytes of a positive bigint. */
export function bigintBytes(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

/** A public RSA JWK with a random `bits`-bit modulus and exponent `e`: built by hand, no key generation. */
export function rsaPublicJwk(bits: number, e: bigint | Buffer = 65537n): Jwk {
  return { kty: 'RSA', n: oddNumber(bits).toString('base64url'), e: (typeof e === 'bigint' ? bigintBytes(e) : e).toString('base64url') };
}

/** A private RSA JWK of `bits` bits with exponent `e`, its parameters random (node reads it without checking them). */
export function rsaPrivateJwk(bits: number, e: bigint | Buffer = 65537n): Jwk {
  const half = () => oddNumber(bits / 2).toString('base64url');
  return { ...rsaPublicJwk(bits, e), d: oddNumber(bits - 1).toString('base64url'), p: half(), q: half(), dp: half(), dq: half(), qi: half() };
}

/**
 * Whether this Node reads a private RSA JWK without checking its parameters (20
 * and 22 do); Node 24's OpenSSL refuses an inconsistent one when it is read, so
 * there the hand-built keys above never get as far as the library's bounds.
 */
export const READS_UNCHECKED_RSA_KEYS = (() => {
  try {
    createPrivateKey({ key: rsaPrivateJwk(2048) as JsonWebKey, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
})();

/** What refusing a hand-built private RSA key says: the library's `bound`, or where node checks such keys, that it cannot be read. */
export function privateKeyRefusal(bound: RegExp): RegExp {
  return READS_UNCHECKED_RSA_KEYS ? bound : /the JWK is not a readable private key/;
}

/** A DER element: `tag`, its definite length, `content`. */
function der(tag: number, content: Buffer): Buffer {
  const length = content.length < 0x80 ? Buffer.from([content.length]) : (() => {
    const bytes = bigintBytes(BigInt(content.length));
    return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
  })();
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

/**
 * An RSA-PSS public key (restricted to SHA-256, as PS256 needs) around the RSA
 * public key of `jwk`: its SubjectPublicKeyInfo built by hand, the
 * AlgorithmIdentifier taken from a generated PSS key.
 */
export function pssPublicKey(jwk: Jwk): KeyObject {
  const template = generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256', saltLength: 32 as unknown as string });
  const spki = template.publicKey.export({ type: 'spki', format: 'der' });
  // SEQUENCE { AlgorithmIdentifier, BIT STRING }: the identifier is the first element inside the outer header.
  const inner = spki.subarray(spki[1] & 0x80 ? 2 + (spki[1] & 0x7f) : 2);
  const idLength = inner[1] & 0x80 ? 2 + (inner[1] & 0x7f) + inner.readUIntBE(2, inner[1] & 0x7f) : 2 + inner[1];
  const algorithmIdentifier = inner.subarray(0, idLength);
  const rsaPublicKey = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'pkcs1', format: 'der' });
  const bitString = der(0x03, Buffer.concat([Buffer.from([0]), rsaPublicKey]));
  return createPublicKey({ key: der(0x30, Buffer.concat([algorithmIdentifier, bitString])), format: 'der', type: 'spki' });
}
