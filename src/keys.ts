import { createPrivateKey, createPublicKey, createSecretKey, KeyObject, X509Certificate, type JsonWebKey as NodeJwk } from 'node:crypto';
import type { CallbackName } from './callbacks';
import type { JwtHeader } from './claims';
import { JwtDecodeError, TokenIssueError } from './errors';

/** The JWS algorithms this library signs and verifies with: jsonwebtoken's set, RFC 7518's HS, RS, PS and ES. */
export const ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
] as const;

export type Algorithm = (typeof ALGORITHMS)[number];

/**
 * A JSON Web Key (RFC 7517) as JSON: what `keyObject.export({ format: 'jwk' })`
 * gives. The library's own type, so the published types compile against every
 * `@types/node` (whose `JsonWebKey` left `node:crypto` in later versions).
 */
export interface Jwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  d?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
  oth?: unknown[];
  k?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  ext?: boolean;
  kid?: string;
}

/**
 * A key as the application holds it: a PEM (or, for HMAC, the secret) as text or
 * bytes, a `KeyObject`, or a JWK (whose `use`, `key_ops` and `alg`, when present, must allow the use).
 */
export type KeyMaterial = string | Buffer | KeyObject | Jwk;

/**
 * One key of a key ring. The first key of the ring signs new tokens; every key
 * verifies the tokens that name its `kid`, with its own algorithm only.
 */
export interface RingKey {
  /** Key id, carried in the `kid` header of the tokens it signs. */
  kid: string;
  algorithm: Algorithm;
  /** The secret of an HS key. */
  secretKey?: KeyMaterial;
  /** The private key of an RS, PS or ES key: signs, and verifies through its public half. */
  privateKey?: KeyMaterial;
  /** The public key of an RS, PS or ES key kept for verifying only. */
  publicKey?: KeyMaterial;
}

/** A signing key for a token, as a key loader or the configuration provides it. */
export type EncodeKeyLoader = (identity: string) => KeyMaterial | Promise<KeyMaterial>;
/** The key to verify a token with, chosen from its header and (not yet verified) claims. */
export type DecodeKeyLoader = (header: JwtHeader, unverifiedClaims: Record<string, unknown>) => KeyMaterial | Promise<KeyMaterial>;

/** A public JWK as served in a JWK Set. */
export interface PublicJwk extends Jwk {
  kid?: string;
  alg: Algorithm;
  use: 'sig';
}

/** A JWK Set (RFC 7517 §5). */
export interface JsonWebKeySet {
  keys: PublicJwk[];
}

/** Where keys come from, as given in the configuration. */
export interface KeyConfig {
  algorithm?: Algorithm;
  decodeAlgorithms?: Algorithm[];
  secretKey?: KeyMaterial;
  privateKey?: KeyMaterial;
  publicKey?: KeyMaterial;
  keys?: RingKey[];
  encodeKeyLoader?: EncodeKeyLoader;
  decodeKeyLoader?: DecodeKeyLoader;
  allowWeakSecret?: boolean;
  maxRsaModulusBits?: number;
}

/** Receives why a key a loader returned was refused (the message, never the key). */
export type RefusedKeyReporter = (error: Error, callback: Extract<CallbackName, 'decodeKeyLoader' | 'encodeKeyLoader'>) => void;

/** A key ready to sign with. */
export interface SigningKey {
  readonly algorithm: Algorithm;
  readonly key: KeyObject;
  readonly kid?: string;
}

/** A key to verify with, and the one algorithm it verifies. */
export interface VerificationKey {
  readonly algorithm: Algorithm;
  readonly key: KeyObject;
}

const EC_CURVES: Readonly<Record<string, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const MIN_RSA_BITS = 2048;
/** Distinct keys from loaders remembered at once (tenants, rotations); beyond, the oldest is converted again when next met. */
const MAX_LOADED_KEYS = 1_000;
/** Verifying costs grow with the modulus (and exponent): an attacker's bogus tokens must not name a key that is costly to try. */
const DEFAULT_MAX_RSA_BITS = 8192;
/** The largest public exponent accepted: every real key's fits in 32 bits (65537 is the usual one), and so a check costs what a normal key's does. */
const MAX_RSA_EXPONENT = 2n ** 32n - 1n;
/** `kid`s are opaque, short and plain: never a path, URL or query, only a map key. */
const MAX_KID_LENGTH = 128;
const KID = new RegExp(`^[A-Za-z0-9._~:+=-]{1,${MAX_KID_LENGTH}}$`);

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value);
}

function isHmac(alg: Algorithm): boolean {
  return alg.startsWith('HS');
}

/** The answer to a token whose key could not be had: its loader threw, or returned a key refused on its own account. */
export function noVerificationKey(): JwtDecodeError {
  return new JwtDecodeError('No key to verify the token with');
}

/** What every key is checked against, whether configured or loaded. */
interface KeyRules {
  readonly allowWeakSecret: boolean;
  readonly maxRsaModulusBits: number;
}

/**
 * A key refused on its own account (its size, its exponent, a weak secret), not
 * for the algorithm it was offered for: a loader that returns one has failed.
 */
class RefusedKeyError extends Error {}

/**
 * Every key the manager signs and verifies with, turned into `KeyObject`s once
 * at construction (parsing a PEM costs more than the signature it checks). A
 * key is only ever used with the algorithm it was checked against, so an RSA
 * public key can never act as an HMAC secret, and a token's `kid` is only ever
 * looked up among the configured keys.
 */
export class KeyStore {
  /** The algorithm new tokens are signed with. */
  readonly algorithm: Algorithm;
  private readonly signing?: SigningKey;
  private readonly decodeAlgorithms: readonly Algorithm[];
  /** Without a ring: the key for each accepted algorithm. */
  private readonly byAlgorithm = new Map<Algorithm, VerificationKey>();
  /** With a ring: the key for each `kid`. */
  private readonly byKid?: Map<string, VerificationKey>;
  private readonly rules: KeyRules;
  /**
   * What loaders returned, converted and checked, by algorithm, use and the
   * material's text: a loader is asked on every request, and the conversion and
   * checks depend on nothing else. One object per material also lets the
   * verified-token cache see the same key. At most MAX_LOADED_KEYS, oldest out.
   */
  private readonly loaded = new Map<string, VerificationKey>();

  constructor(private readonly config: KeyConfig, private readonly report: RefusedKeyReporter) {
    const maxRsaModulusBits = config.maxRsaModulusBits ?? DEFAULT_MAX_RSA_BITS;
    if (!Number.isInteger(maxRsaModulusBits) || maxRsaModulusBits < MIN_RSA_BITS) {
      throw new Error(`JwtManager: \`maxRsaModulusBits\` must be an integer of at least ${MIN_RSA_BITS}`);
    }
    this.rules = { allowWeakSecret: config.allowWeakSecret ?? false, maxRsaModulusBits };
    if (config.keys !== undefined) {
      for (const option of ['algorithm', 'decodeAlgorithms', 'secretKey', 'privateKey', 'publicKey', 'encodeKeyLoader', 'decodeKeyLoader'] as const) {
        if (config[option] !== undefined) throw new Error(`JwtManager: \`keys\` replaces \`${option}\`; each ring key names its algorithm and key`);
      }
      const ring = this.buildRing(config.keys);
      this.byKid = ring.byKid;
      this.signing = ring.signing;
      this.algorithm = ring.signing?.algorithm ?? config.keys[0].algorithm;
      this.decodeAlgorithms = [...new Set([...ring.byKid.values()].map((k) => k.algorithm))];
      return;
    }
    this.algorithm = checkAlgorithm(config.algorithm ?? 'HS256');
    this.decodeAlgorithms = (config.decodeAlgorithms ?? [this.algorithm]).map(checkAlgorithm);
    if (this.decodeAlgorithms.length === 0) throw new Error('JwtManager: `decodeAlgorithms` must list at least one algorithm');
    if (!config.encodeKeyLoader) this.signing = this.staticSigningKey();
    if (!config.decodeKeyLoader) {
      for (const alg of this.decodeAlgorithms) this.byAlgorithm.set(alg, { algorithm: alg, key: this.staticVerifyingKey(alg) });
    }
  }

  /** Whether tokens name their key with a `kid`. */
  get usesKeyIds(): boolean {
    return this.byKid !== undefined;
  }

  /** The key that signs a token for `identity`. */
  async signingKey(identity: string): Promise<SigningKey> {
    if (this.config.encodeKeyLoader) {
      const material = await this.config.encodeKeyLoader(identity);
      try {
        return this.converted(material, this.algorithm, 'sign', 'the key `encodeKeyLoader` returned');
      } catch (error) {
        // A key that cannot sign is the loader failing: answered as one that threw, never a 500.
        this.report(error as Error, 'encodeKeyLoader');
        throw new TokenIssueError();
      }
    }
    if (!this.signing) throw new Error(`JwtManager: no key to sign ${this.algorithm} tokens with; this configuration only verifies`);
    return this.signing;
  }

  /**
   * The key that verifies a token with this header, chosen by the configuration
   * (the token's `alg` must be accepted, and must be its key's own algorithm).
   */
  verificationKey(header: JwtHeader, unverifiedClaims: () => Record<string, unknown>): VerificationKey | Promise<VerificationKey> {
    const alg = header.alg;
    if (alg === undefined) throw new JwtDecodeError('Algorithm not specified');
    if (this.byKid) {
      if (header.kid === undefined) throw new JwtDecodeError('Missing "kid" header');
      // Length first: the pattern never sees more than a kid may hold.
      if (typeof header.kid !== 'string' || header.kid.length > MAX_KID_LENGTH || !KID.test(header.kid)) throw new JwtDecodeError('Invalid "kid" header');
      const entry = this.byKid.get(header.kid);
      if (!entry) throw new JwtDecodeError('Unknown "kid"');
      if (alg !== entry.algorithm) throw new JwtDecodeError('The specified alg value is not allowed');
      return entry;
    }
    if (!this.decodeAlgorithms.includes(alg as Algorithm)) throw new JwtDecodeError('The specified alg value is not allowed');
    if (this.config.decodeKeyLoader) return this.loadedKey(this.config.decodeKeyLoader, header, unverifiedClaims());
    return this.byAlgorithm.get(alg as Algorithm)!;
  }

  private async loadedKey(loader: DecodeKeyLoader, header: JwtHeader, unverifiedClaims: Record<string, unknown>): Promise<VerificationKey> {
    const material = await loader(header, unverifiedClaims);
    const algorithm = header.alg as Algorithm;
    try {
      return this.converted(material, algorithm, 'verify', 'the key `decodeKeyLoader` returned');
    } catch (error) {
      if (error instanceof RefusedKeyError) {
        // Out of bounds whatever the token: the loader's failure, answered and reported as one that threw.
        this.report(error, 'decodeKeyLoader');
        throw noVerificationKey();
      }
      // The token chose an accepted alg its key does not fit (e.g. HS256 for an RSA key).
      throw new JwtDecodeError('The specified alg value is not allowed');
    }
  }

  /** A loader's `material` as a key for `algorithm`, converted and checked once per material (see {@link loaded}). */
  private converted(material: KeyMaterial, algorithm: Algorithm, use: 'sign' | 'verify', option: string): VerificationKey {
    // Text and bytes are remembered by their content; a KeyObject or JWK object is converted each time.
    const text = typeof material === 'string' ? `s${material}` : Buffer.isBuffer(material) ? `b${material.toString('latin1')}` : undefined;
    const id = text === undefined ? undefined : `${algorithm}\0${use}\0${text}`;
    const known = id === undefined ? undefined : this.loaded.get(id);
    if (known) return known;
    const key: VerificationKey = { algorithm, key: toKey(material, algorithm, use, this.rules, option) };
    if (id === undefined) return key;
    if (this.loaded.size >= MAX_LOADED_KEYS) this.loaded.delete(this.loaded.keys().next().value!);
    this.loaded.set(id, key);
    return key;
  }

  /** The public keys as a JWK Set: never a private key, never an HMAC secret. */
  jwks(): JsonWebKeySet {
    const keys: PublicJwk[] = [];
    const add = (key: KeyObject, alg: Algorithm, kid?: string) => {
      if (key.type === 'secret') return;
      const publicKey = key.type === 'private' ? createPublicKey(key) : key;
      const jwk = publicKey.asymmetricKeyType === 'rsa-pss' ? pssPublicJwk(publicKey) : publicKey.export({ format: 'jwk' });
      keys.push({ ...jwk, ...(kid === undefined ? {} : { kid }), alg, use: 'sig' });
    };
    if (this.byKid) for (const [kid, { key, algorithm }] of this.byKid) add(key, algorithm, kid);
    else for (const { key, algorithm } of this.byAlgorithm.values()) add(key, algorithm);
    return { keys };
  }

  private buildRing(ring: RingKey[]): { byKid: Map<string, VerificationKey>; signing?: SigningKey } {
    if (!Array.isArray(ring) || ring.length === 0) throw new Error('JwtManager: `keys` must list at least one key');
    const byKid = new Map<string, VerificationKey>();
    let signing: SigningKey | undefined;
    ring.forEach((entry, index) => {
      const where = `JwtManager: keys[${index}]`;
      if (typeof entry.kid !== 'string' || !KID.test(entry.kid)) {
        throw new Error(`${where}: \`kid\` must be 1-128 characters of A-Z a-z 0-9 . _ ~ : + = -`);
      }
      if (byKid.has(entry.kid)) throw new Error(`${where}: \`kid\` "${entry.kid}" appears twice`);
      try {
        const { algorithm, key, signer } = this.ringKey(entry);
        byKid.set(entry.kid, { algorithm, key });
        if (index === 0 && signer) signing = { algorithm, key: signer, kid: entry.kid };
      } catch (error) {
        throw new Error(`${where}: ${(error as Error).message.replace(/^JwtManager: /, '')}`);
      }
    });
    return { byKid, signing };
  }

  private ringKey(entry: RingKey): VerificationKey & { signer?: KeyObject } {
    const algorithm = checkAlgorithm(entry.algorithm);
    if (isHmac(algorithm)) {
      if (entry.privateKey !== undefined || entry.publicKey !== undefined) throw new Error(`${algorithm} takes \`secretKey\`, not a private or public key`);
      const key = toSecretKey(entry.secretKey, algorithm, this.rules, '`secretKey`');
      return { algorithm, key, signer: key };
    }
    if (entry.secretKey !== undefined) throw new Error(`${algorithm} takes \`privateKey\` or \`publicKey\`, not \`secretKey\``);
    const signer = entry.privateKey === undefined ? undefined : toKey(entry.privateKey, algorithm, 'sign', this.rules, '`privateKey`');
    const material = entry.publicKey ?? signer;
    if (material === undefined) throw new Error(`${algorithm} needs \`privateKey\` or \`publicKey\``);
    return { algorithm, key: toKey(material, algorithm, 'verify', this.rules, entry.publicKey === undefined ? '`privateKey`' : '`publicKey`'), signer };
  }

  private staticSigningKey(): SigningKey | undefined {
    const { algorithm, config } = this;
    if (isHmac(algorithm)) return { algorithm, key: toSecretKey(config.secretKey, algorithm, this.rules, '`secretKey`') };
    if (config.privateKey !== undefined) return { algorithm, key: toKey(config.privateKey, algorithm, 'sign', this.rules, '`privateKey`') };
    // Verify-only services hold just the public key; anything else is a mistake.
    if (config.publicKey === undefined) {
      throw new Error(`JwtManager: algorithm ${algorithm} signs with a private key; set \`privateKey\` (a PEM string or KeyObject)`);
    }
    return undefined;
  }

  private staticVerifyingKey(alg: Algorithm): KeyObject {
    const { config } = this;
    if (isHmac(alg)) return toSecretKey(config.secretKey, alg, this.rules, '`secretKey`');
    const material = config.publicKey ?? config.privateKey;
    if (material === undefined) throw new Error(`JwtManager: verifying ${alg} requires a public key; set \`publicKey\` or \`privateKey\``);
    return toKey(material, alg, 'verify', this.rules, config.publicKey === undefined ? '`privateKey`' : '`publicKey`');
  }
}

function checkAlgorithm(alg: unknown): Algorithm {
  if (!isAlgorithm(alg)) throw new Error(`JwtManager: unknown algorithm ${JSON.stringify(alg)}; use one of ${ALGORITHMS.join(', ')}`);
  return alg;
}

/**
 * Turns key material into the `KeyObject` that `alg` signs or verifies with,
 * refusing anything that does not fit it or is out of bounds. The one conversion
 * every key goes through, configured or loaded; `option` names it in errors.
 */
function toKey(material: KeyMaterial, alg: Algorithm, use: 'sign' | 'verify', rules: KeyRules, option: string): KeyObject {
  const plain = isJwk(material) ? fromJwk(material, alg, use) : material;
  if (isHmac(alg)) return toSecretKey(plain, alg, rules, option);
  const key = use === 'sign' ? toPrivateKey(plain) : toPublicKey(plain);
  assertFits(key, alg, rules, option);
  return key;
}

function isJwk(material: KeyMaterial): material is Jwk {
  return typeof material === 'object' && !Buffer.isBuffer(material) && !(material instanceof KeyObject);
}

/** A JWK as a `KeyObject`, if its own restrictions allow `use` with `alg` (RFC 7517 §4.2-4.4). */
function fromJwk(jwk: Jwk, alg: Algorithm, use: 'sign' | 'verify'): KeyObject {
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new Error(`JwtManager: the JWK is for "use": "${String(jwk.use)}", not signatures`);
  const keyOps = jwk.key_ops as unknown;
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes(use))) throw new Error(`JwtManager: the JWK's key_ops do not allow "${use}"`);
  if (jwk.alg !== undefined && jwk.alg !== alg) throw new Error(`JwtManager: the JWK is for ${String(jwk.alg)}, not ${alg}`);
  try {
    if (jwk.kty === 'oct') return createSecretKey(Buffer.from(String(jwk.k), 'base64url'));
    const key = jwk as NodeJwk;
    return use === 'sign' ? createPrivateKey({ key, format: 'jwk' }) : createPublicKey({ key, format: 'jwk' });
  } catch {
    throw new Error(`JwtManager: the JWK is not a readable ${use === 'sign' ? 'private' : 'public'} key`);
  }
}

/**
 * An HMAC secret as a `KeyObject`. Its bytes are checked whatever form they came
 * in (text, Buffer, secret `KeyObject`, `oct` JWK): never key material, which
 * would key the algorithm-confusion forgery (`allowWeakSecret` does not change
 * that), and, unless `allowWeakSecret`, long and varied enough.
 */
function toSecretKey(material: KeyMaterial | undefined, alg: Algorithm, rules: KeyRules, option: string): KeyObject {
  const secret = material !== undefined && isJwk(material) ? fromJwk(material, alg, 'verify') : material;
  if (secret === undefined || secret === '' || (Buffer.isBuffer(secret) && secret.length === 0)) {
    throw new Error(`JwtManager: ${option} is required for ${alg}; pass a random secret of at least 32 bytes (e.g. from \`openssl rand -base64 48\`)`);
  }
  if (secret instanceof KeyObject && secret.type !== 'secret') {
    throw new Error(`JwtManager: ${option} must be a secret KeyObject, got a ${secret.type} key; asymmetric keys go in \`privateKey\`/\`publicKey\` with an RS, PS or ES algorithm`);
  }
  const bytes = secret instanceof KeyObject ? secret.export() : typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  const keyMaterial = keyMaterialIn(bytes);
  if (keyMaterial !== undefined) {
    throw new Error(`JwtManager: ${option} is ${keyMaterial}; HMAC algorithms take a random secret, asymmetric keys go in \`privateKey\`/\`publicKey\``);
  }
  if (!rules.allowWeakSecret) {
    const weakness = secretWeakness(bytes, alg);
    if (weakness !== undefined) {
      throw new RefusedKeyError(`JwtManager: ${option} ${weakness}. Use a random secret (e.g. from \`openssl rand -base64 48\`), or set \`allowWeakSecret: true\` for tests`);
    }
  }
  return secret instanceof KeyObject ? secret : createSecretKey(bytes);
}

/**
 * Why a secret is too weak for `alg`, if it is: shorter than the hash (RFC 7518
 * §3.2), or of trivially low diversity. Linear rules, which a random secret in
 * any encoding or a passphrase of that length passes by far:
 * - at least half as many distinct pairs of adjacent bytes as the hash has bytes
 *   (16 for HS256): refuses a few characters (3 give at most 9 pairs) and a
 *   short block repeated (`'secret'.repeat(6)` has 6), tail or not;
 * - the shape rules of `shapeWeakness`, on the bytes and, where the secret is
 *   hex or base64 text, on what it decodes to (hex of a counter is varied text).
 */
function secretWeakness(bytes: Buffer, alg: Algorithm): string | undefined {
  const needed = Number(alg.slice(2)) / 8;
  if (bytes.length < needed) return `is ${bytes.length} bytes; ${alg} requires at least ${needed} (RFC 7518 §3.2)`;
  const neededPairs = needed / 2;
  const pairs = new Set<number>();
  for (let i = 1; i < bytes.length && pairs.size < neededPairs; i++) pairs.add((bytes[i - 1] << 8) | bytes[i]);
  if (pairs.size < neededPairs) {
    return `has ${pairs.size} distinct pair${pairs.size === 1 ? '' : 's'} of adjacent bytes; ${alg} requires at least ${neededPairs} (too few characters, or a short block repeated)`;
  }
  const shape = shapeWeakness(bytes);
  if (shape !== undefined) return shape;
  for (const [encoding, decoded] of decodings(textOf(bytes))) {
    // What decodes to less than half the hash is text that merely looks encoded.
    const weakness = decoded.length >= neededPairs ? shapeWeakness(decoded) : undefined;
    if (weakness !== undefined) return `is ${encoding} whose decoding ${weakness}`;
  }
  return undefined;
}

/** Fewer distinct differences between adjacent bytes than this is a few progressions joined. */
const MIN_DIFFERENCES = 8;

/**
 * Why bytes are of a trivially regular shape, if they are:
 * - one block repeated (the shortest period at most half the length);
 * - a run in arithmetic progression (equal differences between adjacent bytes:
 *   `'abcd…'`, bytes 0, 1, 2…, `'xxxx'`) longer than 8 bytes or a quarter of
 *   the length, whichever is more;
 * - fewer than MIN_DIFFERENCES distinct differences between adjacent bytes.
 */
function shapeWeakness(bytes: Buffer): string | undefined {
  const period = shortestPeriod(bytes);
  if (period * 2 <= bytes.length) return `is a block of ${period} bytes repeated`;
  const differences = new Set<number>();
  let run = 1;
  let longest = 1;
  for (let i = 1; i < bytes.length; i++) {
    const difference = (bytes[i] - bytes[i - 1]) & 0xff;
    run = i > 1 && difference === ((bytes[i - 1] - bytes[i - 2]) & 0xff) ? run + 1 : 2;
    longest = Math.max(longest, run);
    differences.add(difference);
  }
  const maxRun = Math.max(8, Math.floor(bytes.length / 4));
  if (longest > maxRun) return `has a run of ${longest} bytes in arithmetic progression (like 'abcd…' or 0, 1, 2…); at most ${maxRun} are accepted`;
  if (differences.size < MIN_DIFFERENCES) {
    return `has ${differences.size} distinct differences between adjacent bytes; at least ${MIN_DIFFERENCES} are required (a few runs like 'abcd…' joined)`;
  }
  return undefined;
}

/** The shortest p with bytes[i] = bytes[i + p] throughout: the length minus its longest border (KMP's failure function, linear). */
function shortestPeriod(bytes: Buffer): number {
  const border = new Uint32Array(bytes.length);
  for (let i = 1, k = 0; i < bytes.length; i++) {
    while (k > 0 && bytes[i] !== bytes[k]) k = border[k - 1];
    if (bytes[i] === bytes[k]) k++;
    border[i] = k;
  }
  return bytes.length - border[bytes.length - 1];
}

/** How many encodings deep key material is looked for: a Kubernetes secret holding a PEM body is the base64 of base64 (two). */
const MAX_DECODINGS = 3;

/**
 * What key material the bytes of a would-be secret are, if any (a noun phrase):
 * an HMAC keyed with a public key's or certificate's bytes, in whatever encoding
 * the verifier was given, is a forgery anyone can make. Looked for in the bytes
 * and, up to MAX_DECODINGS levels down, in their hex and base64 decodings: a PEM
 * or RFC 4716 block; an OpenSSH public key (its line or its blob); DER of a key,
 * a certificate or anything holding a public key (a CSR, a PKCS#7 bundle); a JWK,
 * JWK Set or array of JWKs as JSON. Each level is a few linear passes over an
 * input shorter than the one above it. A bare RSA modulus (a JWK's `n`) is not
 * looked for: a random secret of its length is as often odd with its top bit set.
 */
function keyMaterialIn(bytes: Buffer, depth = 0): string | undefined {
  const der = derKind(bytes);
  if (der !== undefined) return `a DER-encoded ${der}`;
  if (isSshBlob(bytes)) return 'an SSH public key';
  const text = textOf(bytes);
  if (text.includes('-----BEGIN')) return 'a PEM key';
  if (SSH_PUBLIC_KEY.test(text)) return 'an SSH public key';
  const json = jwkJsonIn(text);
  if (json !== undefined || depth === MAX_DECODINGS) return json;
  for (const [encoding, decoded] of decodings(text)) {
    const inner = keyMaterialIn(decoded, depth + 1);
    if (inner !== undefined) return `the ${encoding} of ${inner}`;
  }
  return undefined;
}

/** An OpenSSH public key line (authorized_keys, `.pub`), or an RFC 4716 block. */
const SSH_PUBLIC_KEY = /(^|\s)(ssh-(rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com)\s+AAAA|---- BEGIN SSH2 PUBLIC KEY ----/;

/** Whether bytes are an SSH public key blob (RFC 4253 §6.6): a length-prefixed key type name first. */
function isSshBlob(bytes: Buffer): boolean {
  if (bytes.length < 4) return false;
  const nameLength = bytes.readUInt32BE(0);
  return nameLength <= 64 && 4 + nameLength < bytes.length && /^(ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]+$/.test(bytes.toString('latin1', 4, 4 + nameLength));
}

/**
 * Bytes as text, as a person would read them: UTF-16 by its byte-order mark
 * (a Windows editor's "Unicode"), else UTF-8; without surrounding whitespace,
 * BOM or NULs, nor the quotes around it (a JSON string is read as JSON).
 */
function textOf(bytes: Buffer): string {
  const text = bytes[0] === 0xff && bytes[1] === 0xfe ? bytes.toString('utf16le', 2)
    : bytes[0] === 0xfe && bytes[1] === 0xff ? Buffer.from(bytes.subarray(2, 2 + ((bytes.length - 2) & ~1))).swap16().toString('utf16le')
    : bytes.toString('utf8');
  const padding = (c: string): boolean => c === '\0' || c.trim() === '';
  let start = 0;
  let end = text.length;
  while (start < end && padding(text[start])) start++;
  while (end > start && padding(text[end - 1])) end--;
  const trimmed = text.slice(start, end);
  const quote = trimmed[0];
  if (trimmed.length < 2 || !(quote === '"' || quote === "'" || quote === '`') || !trimmed.endsWith(quote)) return trimmed;
  const json = quote === '"' ? parseJson(trimmed) : undefined;
  return typeof json === 'string' ? json : trimmed.slice(1, -1);
}

/**
 * The hex and base64 readings of text, where it is all of one alphabet once
 * what carries nothing is dropped: whitespace, a `0x` prefix and the `:` or `-`
 * between hex bytes, `\n` escapes of an env file in base64.
 */
function decodings(text: string): Array<[encoding: 'hex' | 'base64', bytes: Buffer]> {
  const found: Array<[encoding: 'hex' | 'base64', bytes: Buffer]> = [];
  const hex = text.replace(/^0x/i, '').replace(/[\s:-]/g, '');
  if (hex.length % 2 === 0 && /^[0-9A-Fa-f]+$/.test(hex)) found.push(['hex', Buffer.from(hex, 'hex')]);
  // Node's base64 decoder reads both alphabets (RFC 4648 §4 and §5), padded or not.
  const base64 = text.replace(/\\[nr]|\s/g, '');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(base64)) found.push(['base64', Buffer.from(base64, 'base64')]);
  return found;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether text is a JWK (a `kty` member), a JWK Set (a `keys` array) or an array holding a JWK as JSON, and which. */
function jwkJsonIn(text: string): string | undefined {
  if (!text.startsWith('{') && !text.startsWith('[')) return undefined;
  const value = parseJson(text);
  const isJwk = (item: unknown): boolean => typeof item === 'object' && item !== null && typeof (item as Record<string, unknown>).kty === 'string';
  if (Array.isArray(value)) return value.some(isJwk) ? 'a JSON array of JWKs' : undefined;
  if (isJwk(value)) return "a JWK's JSON text";
  if (typeof value === 'object' && value !== null && Array.isArray((value as Record<string, unknown>).keys)) return "a JWK Set's JSON text";
  return undefined;
}

/** The DER forms asymmetric key material comes in: a public (SPKI, PKCS#1) or private (PKCS#8, PKCS#1, SEC1) key, or a certificate. */
const DER_FORMS: ReadonlyArray<[kind: string, parse: (der: Buffer) => unknown]> = [
  ['key', (der) => createPublicKey({ key: der, format: 'der', type: 'spki' })],
  ['key', (der) => createPublicKey({ key: der, format: 'der', type: 'pkcs1' })],
  ['key', (der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })],
  ['key', (der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' })],
  ['key', (der) => createPrivateKey({ key: der, format: 'der', type: 'sec1' })],
  ['certificate', (der) => new X509Certificate(der)],
];

/**
 * The public-key algorithm OIDs, encoded (tag and length too): rsaEncryption,
 * RSASSA-PSS, id-ecPublicKey, DSA, X25519, X448, Ed25519, Ed448. Whatever
 * holds an SPKI holds one (a certificate, a CSR, a PKCS#7 bundle).
 */
const KEY_OIDS = ['06092a864886f70d010101', '06092a864886f70d01010a', '06072a8648ce3d0201', '06072a8648ce380401', '06032b656e', '06032b656f', '06032b6570', '06032b6571']
  .map((hex) => Buffer.from(hex, 'hex'));

/**
 * Whether bytes start with asymmetric key material in DER, and which: a
 * SEQUENCE that parses as a key or certificate, or holds a public-key OID.
 * Only the SEQUENCE counts (a trailing line break or NUL disguises nothing);
 * a random secret almost never starts with a plausible one.
 */
function derKind(bytes: Buffer): string | undefined {
  const length = bytes[0] === 0x30 ? derLength(bytes) : undefined;
  if (length === undefined || length > bytes.length) return undefined;
  const der = bytes.subarray(0, length);
  const parsed = DER_FORMS.find(([, parse]) => {
    try {
      parse(der);
      return true;
    } catch {
      return false;
    }
  });
  if (parsed !== undefined) return parsed[0];
  return KEY_OIDS.some((oid) => der.includes(oid)) ? 'structure holding a public key (a certificate request, a PKCS#7 bundle)' : undefined;
}

/** The length of the DER element at the start of `bytes`, its header included (`undefined` if malformed); BER's indefinite length runs to the end. */
function derLength(bytes: Buffer): number | undefined {
  const first = bytes[1];
  if (first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  if (first === 0x80) return bytes.length;
  const octets = first & 0x7f;
  if (octets > 4 || bytes.length < 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + bytes[2 + i];
  return 2 + octets + length;
}

function toPrivateKey(material: string | Buffer | KeyObject): KeyObject {
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

function toPublicKey(material: string | Buffer | KeyObject): KeyObject {
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

function assertFits(key: KeyObject, alg: Algorithm, rules: KeyRules, option: string): void {
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
  if (type === 'rsa-pss') {
    // jsonwebtoken verifies with an RSA-PSS key only where the key's own restrictions are the algorithm's.
    const hash = `sha${alg.slice(2)}`;
    const saltBytes = Number(alg.slice(2)) / 8;
    if (details.hashAlgorithm !== hash || details.mgf1HashAlgorithm !== hash || (details.saltLength ?? 0) > saltBytes) {
      throw new Error(`JwtManager: ${alg} with an RSA-PSS key needs the key restricted to ${hash} (hashAlgorithm and mgf1HashAlgorithm) with a salt of at most ${saltBytes} bytes; or use a plain RSA key`);
    }
  }
  const bits = details.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new RefusedKeyError(`JwtManager: ${alg} needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${bits} bits`);
  }
  if (bits > rules.maxRsaModulusBits) {
    throw new RefusedKeyError(`JwtManager: ${option} is an RSA key of ${bits} bits; at most ${rules.maxRsaModulusBits} are accepted (\`maxRsaModulusBits\`)`);
  }
  // e = 1 makes every message its own signature, an even e is no RSA key, and a huge one makes each check slow.
  const e = details.publicExponent ?? 0n;
  if (e < 3n || e % 2n === 0n || e > MAX_RSA_EXPONENT) {
    const got = e > MAX_RSA_EXPONENT ? `one of ${e.toString(2).length} bits` : String(e);
    throw new RefusedKeyError(`JwtManager: ${option} has an RSA public exponent of ${got}; it must be odd, from 3 to 2^32 - 1 (65537 is the usual one)`);
  }
}

/**
 * The public JWK of an RSA-PSS key, which node does not export as a JWK: RFC 7518
 * describes it as any RSA key (n, e), read from the SubjectPublicKeyInfo's BIT
 * STRING (an RSAPublicKey, whatever the PSS parameters beside it).
 */
function pssPublicJwk(key: KeyObject): Jwk {
  const spki = key.export({ type: 'spki', format: 'der' });
  const info = derElement(spki, 0);
  const algorithmIdentifier = derElement(spki, info.contentStart);
  const bitString = derElement(spki, algorithmIdentifier.end);
  // The BIT STRING's first content byte counts unused bits (0 here); the RSAPublicKey follows.
  const rsaPublicKey = spki.subarray(bitString.contentStart + 1, bitString.end);
  return createPublicKey({ key: rsaPublicKey, format: 'der', type: 'pkcs1' }).export({ format: 'jwk' });
}

/** Where the content of the DER element at `at` starts and where the element ends (definite lengths, as DER has). */
function derElement(der: Buffer, at: number): { contentStart: number; end: number } {
  let length = der[at + 1];
  let contentStart = at + 2;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + der[contentStart + i];
    contentStart += lengthBytes;
  }
  return { contentStart, end: contentStart + length };
}

function describe(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `a ${key.asymmetricKeyType ?? key.type} key${curve ? ` on ${curve}` : ''}`;
}
