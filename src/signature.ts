import { constants, createHmac, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { Algorithm } from './keys';

/**
 * JWS signatures (RFC 7518 §3) with node's crypto, for an algorithm the
 * configuration pinned and a key already checked against it (see `KeyStore`).
 * One table of how each family signs serves both directions.
 */

/** Signs `signingInput` (`header.payload`); ES signatures come out in JOSE's r‖s form. */
export function createSignature(alg: Algorithm, key: KeyObject, signingInput: string): Buffer {
  const hash = hashOf(alg);
  if (alg.startsWith('HS')) return createHmac(hash, key).update(signingInput).digest();
  return sign(hash, Buffer.from(signingInput), asymmetricKey(alg, key));
}

/** Whether `signature` is `alg`'s signature of `signingInput` under `key`; a malformed one simply is not. */
export function isValidSignature(alg: Algorithm, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const hash = hashOf(alg);
  try {
    if (alg.startsWith('HS')) {
      const expected = createHmac(hash, key).update(signingInput).digest();
      return expected.length === signature.length && timingSafeEqual(expected, signature);
    }
    return verify(hash, Buffer.from(signingInput), asymmetricKey(alg, key), signature);
  } catch {
    return false;
  }
}

function hashOf(alg: Algorithm): string {
  return `sha${alg.slice(2)}`;
}

function asymmetricKey(alg: Algorithm, key: KeyObject) {
  // RFC 7518 §3.5: PSS with MGF1 of the same hash and a salt as long as the hash.
  if (alg.startsWith('PS')) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  // RFC 7518 §3.4: R and S as fixed-size big-endian integers, not DER.
  if (alg.startsWith('ES')) return { key, dsaEncoding: 'ieee-p1363' as const };
  return key;
}
