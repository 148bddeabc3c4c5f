import { isUtf8 } from 'node:buffer';
import { verify as jwsVerify, type VerifyOptions as JwsVerifyOptions } from 'jsonwebtoken';
import type { VerifiedToken, VerifiedTokenCache } from './cache';
import { exactNow, type DecodedJwt, type JwtClaims, type JwtHeader } from './claims';
import type { ResolvedConfig } from './config';
import { isHighS, signatureLength } from './ecdsa';
import { ExpiredTokenError, InvalidSignatureError, JwtDecodeError } from './errors';
import { hasDuplicateMembers } from './json';
import { ALGORITHMS, type Algorithm, type VerificationKey } from './keys';
import { deepFreeze, detached } from './retained';
import { isThenable } from './thenable';

/** Options of {@link verifyToken}. */
export interface VerifyOptions {
  /** Accept a token whose `exp` has passed (its signature and other claims are still checked). */
  allowExpired?: boolean;
}

const BASE64URL = '[A-Za-z0-9_-]*';
/** One segment's alphabet (see {@link canonicalEnd} for the rest of strict base64url). */
const SEGMENT = new RegExp(`^${BASE64URL}$`);
/** The payload's and the signature's alphabet, checked in one pass. */
const SIGNED_SEGMENTS = new RegExp(`^${BASE64URL}\\.${BASE64URL}$`);
/** Bits that a segment's last character holds beyond its bytes, by the segment's length mod 4 (-1: no such length). */
const UNUSED_BITS = [0, -1, 4, 2];
const INVALID_ENCODING = 'Invalid token encoding';
/** RFC 7519 §4.1.3: a recipient that does not find itself in `aud` must reject the token. */
const AUDIENCE_NOT_ACCEPTED = 'Invalid audience: the token names an audience and this service accepts none (RFC 7519, section 4.1.3)';
/** The largest NumericDate of a four-digit year (9999-12-31T23:59:59Z); beyond it, likely milliseconds. */
const MAX_NUMERIC_DATE = 253402300799;

/**
 * `input` in the shape of a verified token's claims (an object whose identity
 * claim is a string), else a 422: a function given claims by mistake (a token
 * string, a number, an array) answers as for a bad token, not with a TypeError.
 * The claims are taken as verified (from `@CurrentJwt()`, `getJwt()`,
 * `decodeToken`): request input must never reach these functions as an object.
 */
export function claimsShaped(input: unknown, identityClaim: string): JwtClaims {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || typeof (input as JwtClaims)[identityClaim] !== 'string') {
    throw new JwtDecodeError('Invalid claims: pass the claims of a verified token');
  }
  return input as JwtClaims;
}

/**
 * `token` if it is a string; else a {@link JwtDecodeError} (422). The first step
 * of everything that takes a token, since one may come straight from a request
 * body (`{"refresh_token": true}`) where nothing has checked its type.
 */
export function tokenString(token: unknown): string {
  if (typeof token !== 'string') throw new JwtDecodeError('Invalid token type: a token is a string');
  return token;
}

/**
 * Decodes and verifies a compact JWT, or finds it in the verified-token cache.
 * Throws a {@link JwtError}; never echoes the token, a key or an expected value.
 */
export function verifyToken(input: unknown, config: ResolvedConfig, given?: VerifyOptions | null): DecodedJwt | Promise<DecodedJwt> {
  const options = given ?? {};
  const token = tokenString(input);
  if (token.length > config.maxTokenLength) throw new JwtDecodeError('Token is too long');
  const cache = options.allowExpired ? undefined : config.cache;
  if (cache === undefined) return decodeAndVerify(token, config, options);
  const cached = cache.get(token);
  if (cached === undefined) return verifyIntoCache(token, config, cache);
  // An entry never outlives its key: the configuration (a decodeKeyLoader, say) must still pick it.
  // With configured keys that is the same object, answered at once: a hit stays synchronous.
  const key = config.keys.verificationKey(cached.header, () => ({ ...cached.claims }));
  if (key === cached.key) return cached;
  return stillVerifies(key, cached).then((same) => (same ? cached : (cache.delete(token), verifyIntoCache(token, config, cache))));
}

function verifyIntoCache(token: string, config: ResolvedConfig, cache: VerifiedTokenCache): VerifiedToken | Promise<VerifiedToken> {
  const verified = decodeAndVerify(token, config, {});
  if (isThenable(verified)) return verified.then((value) => (cache.set(token, value), value));
  cache.set(token, verified);
  return verified;
}

/** Whether the key the configuration gives now is the one that verified the cached token (a loader may give an equal copy). */
async function stillVerifies(current: VerificationKey | Promise<VerificationKey>, cached: VerifiedToken): Promise<boolean> {
  const key = await current;
  return key === cached.key || (key.algorithm === cached.key.algorithm && key.key.equals(cached.key.key));
}

/**
 * Flask-JWT-Extended's order of checks (PyJWT's, plus its own), so that a token
 * with two faults gets the same answer from both: size first (no decoding
 * before that), then the header (strict base64url, UTF-8, a JSON object, each
 * member once, a string `kid`, no `crit`), the payload likewise, the algorithm
 * (from the configured list only, with the configured key only) and the
 * signature (jsonwebtoken's, with that key and that algorithm alone), then the
 * claims (see {@link checkClaims}). No token has a second accepted string
 * form with the same bytes; with `allowHighS: false`, none at all.
 *
 * jsonwebtoken parses the payload as it verifies, and that parse is the one a
 * valid token gets: the payload is parsed here too only for a key loader (which
 * reads it unverified) or when a later check fails, to let a fault in the
 * payload come first, as it does in PyJWT. Synchronous unless the key is loaded.
 */
function decodeAndVerify(token: string, config: ResolvedConfig, options: VerifyOptions): VerifiedToken | Promise<VerifiedToken> {
  const headerEnd = token.indexOf('.');
  const payloadEnd = headerEnd < 0 ? -1 : token.indexOf('.', headerEnd + 1);
  if (payloadEnd < 0) throw new JwtDecodeError('Not enough segments');
  if (token.includes('.', payloadEnd + 1)) throw new JwtDecodeError('Too many segments');
  const header = decodeHeader(token.slice(0, headerEnd));
  // RFC 7797: an unencoded payload travels detached; PyJWT refuses one inside the token before decoding it.
  if (header.b64 === false && payloadEnd > headerEnd + 1) throw new JwtDecodeError("Payload segment must be empty when 'b64' is false.");
  const payloadSegment = token.slice(headerEnd + 1, payloadEnd);
  const signatureSegment = token.slice(payloadEnd + 1);
  if (!SIGNED_SEGMENTS.test(token.slice(headerEnd + 1)) || !canonicalEnd(payloadSegment) || !canonicalEnd(signatureSegment)) {
    throw new JwtDecodeError(INVALID_ENCODING);
  }
  const payloadBytes = Buffer.from(payloadSegment, 'base64url');
  // RFC 7515 §4.1.4: a kid is a string (PyJWT's message; a key ring names its own, see KeyStore).
  if (header.kid !== undefined && typeof header.kid !== 'string' && !config.keys.usesKeyIds) {
    throw new JwtDecodeError('Key ID header parameter must be a string');
  }
  // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
  if (header.crit !== undefined) throw new JwtDecodeError('Unsupported critical header parameter');
  // RFC 7797 §3: b64 must be listed in crit, which we refuse whatever it names.
  if (header.b64 === false) throw new JwtDecodeError("The 'b64' header parameter requires 'b64' to be listed in 'crit'.");
  if (!isUtf8(payloadBytes)) throw new JwtDecodeError('Invalid payload string');

  let unverified: Record<string, unknown> | undefined;
  const unverifiedPayload = () => (unverified ??= parseObject(payloadBytes, 'payload'));
  /** A check after the payload's failed: a fault in the payload (PyJWT reads it before the key and signature) answers instead. */
  const refuse = (error: unknown): never => {
    unverifiedPayload();
    throw error;
  };
  const signed = (key: VerificationKey): VerifiedToken => {
    let payload: unknown;
    try {
      payload = verifySignature(token, signatureSegment, key, config);
    } catch (error) {
      return refuse(error);
    }
    // jsonwebtoken's parse, as lenient as JSON.parse: held to the header's strictness without a second parse.
    const claims = unverified ?? (isPlainObject(payload) && !hasDuplicateMembers(payloadBytes, payload) ? payload : unverifiedPayload());
    return { header, claims: checkClaims(claims, config, options), key };
  };
  let key: VerificationKey | Promise<VerificationKey>;
  try {
    key = config.keys.verificationKey(header, unverifiedPayload);
  } catch (error) {
    return refuse(error);
  }
  return isThenable(key) ? key.then(signed, refuse) : signed(key);
}

/** The signature checks in PyJWT's order (the form ECDSA needs, then the signature itself); the payload as jsonwebtoken parsed it. */
function verifySignature(token: string, signatureSegment: string, key: VerificationKey, config: ResolvedConfig): unknown {
  const { algorithm } = key;
  const length = signatureLength(algorithm);
  if (length !== undefined) {
    const signature = Buffer.from(signatureSegment, 'base64url');
    if (signature.length !== length) throw new InvalidSignatureError();
    if (!config.allowHighS && isHighS(algorithm, signature)) throw new JwtDecodeError('Non-canonical signature (high S)');
  }
  try {
    return jwsVerify(token, key.key, JWS_OPTIONS[algorithm]);
  } catch {
    // Form, header, payload, algorithm and key are checked above: what jsonwebtoken still refuses is the signature.
    throw new InvalidSignatureError();
  }
}

/**
 * jsonwebtoken's options for each algorithm: that algorithm alone; expiry and
 * the other claims are ours to check, in PyJWT's order and with its messages.
 * Made once (jsonwebtoken copies them before use).
 */
const JWS_OPTIONS = Object.fromEntries(
  ALGORITHMS.map((algorithm) => [algorithm, Object.freeze({ algorithms: Object.freeze([algorithm]), ignoreExpiration: true, ignoreNotBefore: true })]),
) as Record<Algorithm, JwsVerifyOptions>;

/** A few headers cover every token an issuer makes (one per key and algorithm): each is decoded once. */
const decodedHeaders = new Map<string, JwtHeader>();
/** How many decoded headers are kept; more (an attacker's variations) start the set over. */
const DECODED_HEADERS = 64;

/** The header segment, decoded and parsed: one frozen object for every token that shares it. */
function decodeHeader(segment: string): JwtHeader {
  const known = decodedHeaders.get(segment);
  if (known !== undefined) return known;
  if (!SEGMENT.test(segment) || !canonicalEnd(segment)) throw new JwtDecodeError(INVALID_ENCODING);
  const header = deepFreeze(parseObject(Buffer.from(segment, 'base64url'), 'header') as JwtHeader);
  if (decodedHeaders.size >= DECODED_HEADERS) decodedHeaders.clear();
  decodedHeaders.set(detached(segment), header);
  return header;
}

/**
 * Whether a segment in the base64url alphabet is the one canonical encoding of
 * its bytes: no padding, a length that some bytes encode to, and a last
 * character whose unused bits are zero. With the alphabet, no second string
 * decodes to the same bytes. Constant time, without decoding.
 */
function canonicalEnd(segment: string): boolean {
  const unusedBits = UNUSED_BITS[segment.length % 4];
  return unusedBits === 0 || (unusedBits > 0 && (sextet(segment.charCodeAt(segment.length - 1)) & ((1 << unusedBits) - 1)) === 0);
}

/** The 6-bit value of a base64url character already known to be in the alphabet. */
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26-51
  if (code >= 65) return code - 65; // A-Z: 0-25
  if (code >= 48) return code + 4; // 0-9: 52-61
  return code === 45 ? 62 : 63; // - and _
}

/**
 * The registered claims in PyJWT's order (iat, nbf, exp, iss, aud, sub, jti),
 * then Flask-JWT-Extended's (the identity claim), then ours (exp required, no
 * foreign audience, type, fresh). An expired token is refused as expired only
 * once every other check of Flask-JWT-Extended's has passed: it decodes the token
 * a second time without the expiry check, and that decoding's error wins.
 */
function checkClaims(payload: Record<string, unknown>, config: ResolvedConfig, options: VerifyOptions): JwtClaims {
  const time = exactNow(config.clock);
  const { leeway } = config;
  // Tokens minted elsewhere may lack a type; Flask-JWT-Extended reads them as access tokens.
  const type = payload.type ?? 'access';
  const iat = numericDate(payload, 'iat', 'Issued At');
  if (iat !== undefined && iat > time + leeway) throw new JwtDecodeError('The token is not yet valid (iat)');
  const nbf = numericDate(payload, 'nbf', 'Not Before');
  if (nbf !== undefined && nbf > time + leeway) throw new JwtDecodeError('The token is not yet valid (nbf)');
  const exp = numericDate(payload, 'exp', 'Expiration Time');
  const expired = exp !== undefined && exp <= time - leeway && !options.allowExpired;

  checkIssuer(payload.iss, config.decodeIssuer);
  if (config.decodeAudience !== undefined) checkAudience(payload.aud, config.decodeAudience);
  if (payload.sub !== undefined && typeof payload.sub !== 'string') throw new JwtDecodeError('Subject must be a string');
  if (payload.jti !== undefined && typeof payload.jti !== 'string') throw new JwtDecodeError('JWT ID must be a string');
  const identity = payload[config.identityClaim];
  if (identity === undefined) throw new JwtDecodeError(`Missing claim: ${config.identityClaim}`);
  if (typeof identity !== 'string') {
    throw new JwtDecodeError(config.identityClaim === 'sub' ? 'Subject must be a string' : `Invalid claim: ${config.identityClaim} must be a string`);
  }
  if (expired) throw new ExpiredTokenError(payload as JwtClaims);

  // Ours, not Flask-JWT-Extended's (README: Differences on purpose), so after all of its checks:
  // a token with another fault gets Flask's answer for it.
  // A token that never expires only where the app issues such tokens itself (PyJWT's `require`).
  if (payload.exp === undefined && (type === 'refresh' ? config.refreshTokenExpires : config.accessTokenExpires) !== false) {
    throw new JwtDecodeError('Token is missing the "exp" claim');
  }
  // RFC 7519 §4.1.3: a recipient that finds no audience of its own in `aud` rejects the token.
  if (config.decodeAudience === undefined && !isEmpty(payload.aud)) throw new JwtDecodeError(AUDIENCE_NOT_ACCEPTED);
  if (type !== 'access' && type !== 'refresh') throw new JwtDecodeError('Invalid claim: type');
  // Neither a boolean nor a NumericDate: not fresh (Flask-JWT-Extended reads it only on fresh routes, and fails there).
  const fresh = typeof payload.fresh === 'boolean' || (typeof payload.fresh === 'number' && Number.isFinite(payload.fresh)) ? payload.fresh : false;
  // Our own tokens carry both, as Flask-JWT-Extended's do: no copy for them.
  return payload.type === type && payload.fresh === fresh ? (payload as JwtClaims) : { ...payload, type, fresh };
}

function checkIssuer(iss: unknown, expected: string | undefined): void {
  if (expected === undefined) return;
  if (iss === undefined) throw new JwtDecodeError('Token is missing the "iss" claim');
  if (typeof iss !== 'string') throw new JwtDecodeError('Payload Issuer (iss) must be a string');
  if (iss !== expected) throw new JwtDecodeError('Invalid issuer');
}

/**
 * With a configured audience, the token must name one of it (an empty `aud`
 * names none). (Without one, a token that names an audience is refused later, see
 * {@link checkClaims}; Flask-JWT-Extended skips the check instead.)
 */
function checkAudience(aud: unknown, expected: readonly string[]): void {
  if (isEmpty(aud)) throw new JwtDecodeError('Token is missing the "aud" claim');
  const named = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(named) || !named.every((a) => typeof a === 'string')) throw new JwtDecodeError('Invalid claim format in token');
  if (!named.some((a) => expected.includes(a))) throw new JwtDecodeError('Invalid audience');
}

function numericDate(payload: Record<string, unknown>, claim: string, name: string): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new JwtDecodeError(`${name} claim (${claim}) must be a number`);
  if (value < 0 || value > MAX_NUMERIC_DATE) throw new JwtDecodeError(`${name} claim (${claim}) is out of range`);
  return value;
}

/** The header or payload: UTF-8 (decoded fatally: no two byte strings read the same), a JSON object, each member name once. */
function parseObject(bytes: Buffer, part: 'header' | 'payload'): Record<string, unknown> {
  if (!isUtf8(bytes)) throw new JwtDecodeError(`Invalid ${part} string`);
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JwtDecodeError(`Invalid ${part} string`);
  }
  if (!isPlainObject(value)) throw new JwtDecodeError(`Invalid ${part} string`);
  // JSON.parse keeps the last of duplicate names: {"sub":"a","sub":"admin"} must not become admin.
  if (hasDuplicateMembers(bytes, value)) throw new JwtDecodeError(`Duplicate member name in ${part}`);
  return value;
}

/** Absent, or empty the way PyJWT's `not payload["aud"]` reads it (null, false, 0, "", [], {}). */
function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (isPlainObject(value)) return Object.keys(value).length === 0;
  return value === undefined || value === null || value === false || value === 0 || value === '';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
