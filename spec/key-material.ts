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

/** The certificate above as a PKCS#7 bundle (`openssl crl2pkcs7 -nocrl -certfile cert.pem -outform DER | base64`). */
const PKCS7_DER = Buffer.from(`
MIIBowYJKoZIhvcNAQcCoIIBlDCCAZACAQExADALBgkqhkiG9w0BBwGgggF4MIIB
dDCCARugAwIBAgIUHEDPcO3OLbxgYyfK222HUA+fHVAwCgYIKoZIzj0EAwIwDzEN
MAsGA1UEAwwEdGVzdDAgFw0yNjEyMDgwMzA1MDNaGA8yMTI2MTExNDAzMDUwM1ow
DzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDhNcZvB
6f9hAQDXAPBQ080mYOL1Umj6O4E4yC0Ko1SCLB7qP9eLTuoWcbsYtXCQIHQw9Q25
JyaC69HWIn64aUGjUzBRMB0GA1UdDgQWBBRKkRee/GLz3M93cuMV8cRWEkaSRzAf
BgNVHSMEGDAWgBRKkRee/GLz3M93cuMV8cRWEkaSRzAPBgNVHRMBAf8EBTADAQH/
MAoGCCqGSM49BAMCA0cAMEQCIHn/fhql9+jcuqFH5Tm5HpQg6SQEQVvDemo0pn0q
S9CeAiAFzZXnFwhKL8IGSpV1uGnJ+Hx4etSvZulhs55KTUQR0DEA`, 'base64');

/** A P-256 certificate request (`openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -subj /CN=test -outform DER | base64`). */
const CSR_DER = Buffer.from(`
MIHIMHECAQAwDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABBUvmEJFm5yWWzYHz92lCR1ui6QFY9Msi8YV243OqUk7sY0nNzmJMsZX94g4
QzxQcYvOMuYr6GLFD6ETcsT6M16gADAKBggqhkjOPQQDAgNHADBEAiAXBSpwlbfL
+QBH+7taC8mzFZ5x2TE6qRAeaWqylvf6PQIgD5nHhavh2NlkFWwFPepvFOHP/vrW
DNJnlu4Wu4fS0Kc=`, 'base64');

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ed25519 = generateKeyPairSync('ed25519');

/** The body of a PEM: base64 wrapped at 64 columns, its armour lines gone. */
function pemBody(der: Buffer, eol = '\n'): string {
  return (der.toString('base64').match(/.{1,64}/g) ?? []).join(eol);
}

/** An SSH wire-format string or mpint (RFC 4251 §5): a 32-bit length, then the bytes. */
function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** A positive mpint from base64url, a zero byte before a set top bit. */
function sshMpint(base64url: string): Buffer {
  const bytes = Buffer.from(base64url, 'base64url');
  return sshString(bytes[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), bytes]) : bytes);
}

/** The OpenSSH public key blobs (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4) of the keys above, built from their JWKs. */
function sshBlobs(): Record<'rsa' | 'ecdsa' | 'ed25519', Buffer> {
  const rsaJwk = rsa.publicKey.export({ format: 'jwk' });
  const ecJwk = ec.publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(String(ecJwk.x), 'base64url'), Buffer.from(String(ecJwk.y), 'base64url')]);
  return {
    rsa: Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshMpint(String(rsaJwk.e)), sshMpint(String(rsaJwk.n))]),
    ecdsa: Buffer.concat([sshString(Buffer.from('ecdsa-sha2-nistp256')), sshString(Buffer.from('nistp256')), sshString(point)]),
    ed25519: Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(String(ed25519.publicKey.export({ format: 'jwk' }).x), 'base64url'))]),
  };
}

/** Text in UTF-16 with a byte-order mark, as Windows editors save "Unicode". */
function utf16(text: string, order: 'LE' | 'BE'): Buffer {
  const bytes = Buffer.from(`\uFEFF${text}`, 'utf16le');
  return order === 'LE' ? bytes : bytes.swap16();
}

/** DER re-encoded with BER's indefinite length on its outer SEQUENCE, as streaming PKCS#7 writers do. */
function indefiniteLength(der: Buffer): Buffer {
  const header = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
  return Buffer.concat([Buffer.from([0x30, 0x80]), der.subarray(header), Buffer.alloc(2)]);
}

/**
 * Public (and private) key material in the encodings a verifier is handed, as an
 * app might pass it for an HMAC secret: each keys the forgery with public bytes.
 * A JWK's bare `n` is not among them: it is not told apart from a random secret.
 */
export function keyMaterialForms(): Array<[name: string, material: string | Buffer | KeyObject | Jwk]> {
  const spki = rsa.publicKey.export({ type: 'spki', format: 'der' });
  const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'der' });
  const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'der' });
  const sec1 = ec.privateKey.export({ type: 'sec1', format: 'der' });
  const ecSpki = ec.publicKey.export({ type: 'spki', format: 'der' });
  const publicJwk = rsa.publicKey.export({ format: 'jwk' });
  const ssh = sshBlobs();
  const pem = (key: KeyObject) => String(key.export({ type: 'spki', format: 'pem' }));
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
    ['OpenSSH ssh-rsa public key line', `ssh-rsa ${ssh.rsa.toString('base64')} alice@example.org\n`],
    ['OpenSSH ssh-ed25519 public key line', `ssh-ed25519 ${ssh.ed25519.toString('base64')}`],
    ['authorized_keys ecdsa-sha2-nistp256 line with options', `from="10.0.0.0/8",no-pty ecdsa-sha2-nistp256 ${ssh.ecdsa.toString('base64')} ci`],
    ['OpenSSH public key blob alone, in base64', ssh.rsa.toString('base64')],
    ['RFC 4716 SSH2 public key block', `---- BEGIN SSH2 PUBLIC KEY ----\nComment: "alice"\n${(ssh.ed25519.toString('base64').match(/.{1,70}/g) ?? []).join('\n')}\n---- END SSH2 PUBLIC KEY ----\n`],
    ['base64 of a certificate PEM (a Kubernetes secret)', Buffer.from(CERTIFICATE_PEM).toString('base64')],
    ['base64 of an RSA SPKI PEM', Buffer.from(pem(rsa.publicKey)).toString('base64')],
    ['base64 of a PEM body (base64 twice)', Buffer.from(pemBody(ecSpki)).toString('base64')],
    ['RSA SPKI PEM in UTF-16LE with a BOM, as a Buffer', utf16(pem(rsa.publicKey), 'LE')],
    ['EC SPKI PEM in UTF-16BE with a BOM, as a Buffer', utf16(pem(ec.publicKey), 'BE')],
    ['PKCS#7 bundle DER (.p7b)', PKCS7_DER],
    ['PKCS#7 bundle PEM body without armour', pemBody(PKCS7_DER)],
    ['PKCS#7 bundle in BER, of indefinite length', indefiniteLength(PKCS7_DER)],
    ['certificate request (PKCS#10) DER', CSR_DER],
    ['RSA SPKI DER with a trailing line feed', Buffer.concat([spki, Buffer.from('\n')])],
    ['EC SPKI DER with a trailing NUL', Buffer.concat([ecSpki, Buffer.alloc(1)])],
    ['RSA SPKI hex with a 0x prefix', `0x${spki.toString('hex')}`],
    ['EC SPKI hex with dashes', (ecSpki.toString('hex').match(/../g) ?? []).join('-')],
    ['RSA SPKI base64 in quotes', `"${spki.toString('base64')}"`],
    ['RSA SPKI PEM body as a JSON string', JSON.stringify(pemBody(spki))],
    ['certificate PEM body with an env file\'s \\n escapes', `'${pemBody(CERTIFICATE_DER).replace(/\n/g, '\\n')}'`],
    ['JSON array of JWKs', JSON.stringify([publicJwk])],
    ["base64 of a JWK's JSON text", Buffer.from(JSON.stringify(publicJwk)).toString('base64')],
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
  ["'abcdefghijklmnopqrstuvwxyz012345'", 'abcdefghijklmnopqrstuvwxyz012345'],
  ['bytes 0 to 31', counter(32)],
  ['bytes 0 to 63 (HS512)', counter(64), 'HS512'],
  ["the hex counter '000102…1f'", counter(32).toString('hex')],
  ['the base64 of bytes 0 to 31', counter(32).toString('base64')],
  ["'abcdefghijklmnopq' and 15 'x's", `abcdefghijklmnopq${'x'.repeat(15)}`],
  ["'abcdefghijklmnop' and 'ABCDEFGHIJKLMNOP'", 'abcdefghijklmnopABCDEFGHIJKLMNOP'],
  ["'passwordpassword1234567890123456'", 'passwordpassword1234567890123456'],
  ['four runs of 8 letters', 'abcdefghABCDEFGHijklmnopIJKLMNOP'],
];

/** The bytes 0, 1, 2… up to `length` - 1. */
function counter(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => i));
}

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
