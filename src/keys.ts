import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';

/** The JWS algorithms this library signs and verifies with (those jsonwebtoken implements). */
export const ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
] as const;

export type Algorithm = (typeof ALGORITHMS)[number];

/** A key as the application holds it: a PEM (or, for HMAC, the secret) as text or bytes, or a `KeyObject`. */
export type KeyMaterial = string | Buffer | KeyObject;

/** What the keys are made of, as given in the configuration. */
export interface KeyConfig {
  secretKey?: KeyMaterial;
  privateKey?: KeyMaterial;
  publicKey?: KeyMaterial;
  allowWeakSecret: boolean;
}

const EC_CURVES: Readonly<Record<string, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const MIN_RSA_BITS = 2048;

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value);
}

function isHmac(alg: Algorithm): boolean {
  return alg.startsWith('HS');
}

/**
 * The keys, turned into `KeyObject`s once at construction: jsonwebtoken
 * re-parses string keys on every call, which costs more than the crypto.
 * A key is only ever used with the algorithm family it was checked against,
 * so an RSA public key can never act as an HMAC secret.
 */
export class KeySet {
  private readonly secret?: KeyObject;
  private readonly privateKey?: KeyObject;
  private readonly publicKey?: KeyObject;

  constructor(
    readonly algorithm: Algorithm,
    readonly decodeAlgorithms: readonly Algorithm[],
    config: KeyConfig,
  ) {
    const used = [...new Set([algorithm, ...decodeAlgorithms])];
    if (used.some(isHmac)) {
      this.secret = toSecretKey(config.secretKey, used.filter(isHmac), config.allowWeakSecret);
    }
    const asymmetric = used.filter((alg) => !isHmac(alg));
    if (asymmetric.length > 0) {
      if (config.privateKey !== undefined) this.privateKey = toPrivateKey(config.privateKey);
      if (config.publicKey !== undefined) this.publicKey = toPublicKey(config.publicKey);
      else if (this.privateKey) this.publicKey = createPublicKey(this.privateKey);
      if (!isHmac(algorithm) && !this.privateKey) {
        throw new Error(`JwtManager: algorithm ${algorithm} signs with a private key; set \`privateKey\` (a PEM string or KeyObject)`);
      }
      if (!this.publicKey) {
        throw new Error(`JwtManager: verifying ${asymmetric.join(', ')} requires a public key; set \`publicKey\` or \`privateKey\``);
      }
      for (const alg of asymmetric) assertFits(this.publicKey, alg);
      if (this.privateKey && !isHmac(algorithm)) assertFits(this.privateKey, algorithm);
    }
  }

  /** The key that signs new tokens. */
  signingKey(): KeyObject {
    const key = isHmac(this.algorithm) ? this.secret : this.privateKey;
    // The constructor guarantees it; the check keeps the type honest.
    if (!key) throw new Error(`JwtManager: no signing key for ${this.algorithm}`);
    return key;
  }

  /** The key that verifies a token signed with `alg`, or `undefined` when `alg` is not accepted. */
  verificationKey(alg: unknown): KeyObject | undefined {
    if (!this.decodeAlgorithms.includes(alg as Algorithm)) return undefined;
    return isHmac(alg as Algorithm) ? this.secret : this.publicKey;
  }
}

function toSecretKey(secret: KeyMaterial | undefined, algorithms: Algorithm[], allowWeak: boolean): KeyObject {
  if (secret === undefined || secret === '' || (Buffer.isBuffer(secret) && secret.length === 0)) {
    throw new Error(`JwtManager: \`secretKey\` is required for ${algorithms.join(', ')}; pass a random secret of at least 32 bytes (e.g. from \`openssl rand -base64 48\`)`);
  }
  let key: KeyObject;
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') throw new Error(`JwtManager: \`secretKey\` must be a secret KeyObject, got a ${secret.type} key; asymmetric keys go in \`privateKey\`/\`publicKey\` with an RS, PS or ES algorithm`);
    key = secret;
  } else {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (bytes.includes('-----BEGIN')) {
      throw new Error('JwtManager: `secretKey` looks like a PEM key; HMAC algorithms take a random secret, PEM keys go in `privateKey`/`publicKey`');
    }
    key = createSecretKey(bytes);
  }
  // RFC 7518 §3.2: the key must be at least as long as the hash output.
  const needed = Math.max(...algorithms.map((alg) => Number(alg.slice(2)) / 8));
  const size = key.symmetricKeySize ?? 0;
  if (size < needed && !allowWeak) {
    throw new Error(`JwtManager: \`secretKey\` is ${size} bytes; ${algorithms.join(', ')} requires at least ${needed} (RFC 7518 §3.2). Use a longer random secret, or set \`allowWeakSecret: true\` for tests`);
  }
  return key;
}

function toPrivateKey(material: KeyMaterial): KeyObject {
  if (material instanceof KeyObject) {
    if (material.type !== 'private') throw new Error(`JwtManager: \`privateKey\` must be a private key, got a ${material.type} key`);
    return material;
  }
  try {
    return createPrivateKey(material);
  } catch {
    throw new Error('JwtManager: `privateKey` is not a readable private key (expected a PEM string, Buffer or KeyObject)');
  }
}

function toPublicKey(material: KeyMaterial): KeyObject {
  if (material instanceof KeyObject) {
    if (material.type === 'secret') throw new Error('JwtManager: `publicKey` must be a public (or private) key, got a secret key');
    return material.type === 'private' ? createPublicKey(material) : material;
  }
  try {
    return createPublicKey(material);
  } catch {
    throw new Error('JwtManager: `publicKey` is not a readable public key (expected a PEM string, Buffer or KeyObject)');
  }
}

function assertFits(key: KeyObject, alg: Algorithm): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (alg.startsWith('ES')) {
    if (type !== 'ec' || details.namedCurve !== EC_CURVES[alg]) {
      throw new Error(`JwtManager: ${alg} needs an EC key on curve ${EC_CURVES[alg]}, got ${describe(key)}`);
    }
    return;
  }
  const rsaTypes = alg.startsWith('PS') ? ['rsa', 'rsa-pss'] : ['rsa'];
  if (!type || !rsaTypes.includes(type)) {
    throw new Error(`JwtManager: ${alg} needs an RSA key, got ${describe(key)}`);
  }
  if ((details.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new Error(`JwtManager: ${alg} needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${details.modulusLength} bits`);
  }
}

function describe(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `a ${key.asymmetricKeyType ?? key.type} key${curve ? ` on ${curve}` : ''}`;
}
