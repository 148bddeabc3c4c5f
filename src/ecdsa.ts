/**
 * ECDSA signature malleability: (r, s) and (r, n − s) both verify, so every
 * ES token has a "high-s" twin, a different string with the same claims. We
 * sign with low s only and, unless `allowHighS`, refuse high s, so each token
 * has exactly one accepted form.
 */

/** The order n of each curve's base point (SEC 2). */
const CURVE_ORDERS: Readonly<Record<string, bigint>> = {
  ES256: BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  ES384: BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
  ES512: BigInt('0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409'),
};

/** The length of an ES signature (JOSE's r‖s form) in bytes: twice the byte length of the curve order. */
const SIGNATURE_LENGTHS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(CURVE_ORDERS).map(([alg, n]) => [alg, 2 * Math.ceil(n.toString(16).length / 2)]),
);

/** The length in bytes of an ES signature; `undefined` for other algorithms. */
export function signatureLength(alg: string): number | undefined {
  return SIGNATURE_LENGTHS[alg];
}

/** Whether `signature` (JOSE's r‖s form) of an ES token has s > n/2; `false` for other algorithms. */
export function isHighS(alg: string, signature: Buffer): boolean {
  const n = CURVE_ORDERS[alg];
  if (n === undefined) return false;
  return sOf(signature) > n >> 1n;
}

/** The low-s form of an ES signature (r‖s), changed in place; other signatures pass unchanged. */
export function toLowS(alg: string, signature: Buffer): Buffer {
  if (!isHighS(alg, signature)) return signature;
  const half = signature.length / 2;
  const low = CURVE_ORDERS[alg] - sOf(signature);
  Buffer.from(low.toString(16).padStart(half * 2, '0'), 'hex').copy(signature, half);
  return signature;
}

function sOf(signature: Buffer): bigint {
  return BigInt(`0x${signature.subarray(signature.length / 2).toString('hex') || '0'}`);
}
