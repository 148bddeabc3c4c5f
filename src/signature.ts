import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { Algorithm } from './keys';

/**
 * Checks a JWS signature with node's crypto, for an algorithm the configuration
 * already pinned and a key already checked against it (see `KeyStore`). Any
 * malformed signature is simply not valid.
 */
export function isValidSignature(alg: Algorithm, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const hash = `sha${alg.slice(2)}`;
  try {
    switch (alg.slice(0, 2)) {
      case 'HS': {
        const expected = createHmac(hash, key).update(signingInput).digest();
        return expected.length === signature.length && timingSafeEqual(expected, signature);
      }
      case 'RS':
        return verify(hash, Buffer.from(signingInput), key, signature);
      case 'PS':
        // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
        return verify(hash, Buffer.from(signingInput), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
      default:
        // RFC 7518 §3.4: R and S as fixed-size big-endian integers, not DER.
        return verify(hash, Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
  } catch {
    return false;
  }
}
