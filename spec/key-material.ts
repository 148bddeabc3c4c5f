import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Jwk } from '../src';

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
