import { JsonWebTokenError, verify as jwsVerify, type Jwt } from 'jsonwebtoken';
import { now, type DecodedJwt, type JwtClaims, type JwtHeader } from './claims';
import type { ResolvedConfig } from './config';
import { isHighS, signatureLength } from './ecdsa';
import { ExpiredTokenError, InvalidSignatureError, JwtDecodeError } from './errors';
import { hasDuplicateMembers } from './json';

/** Options of {@link verifyToken}. */
export interface VerifyOptions {
  /** Accept a token whose `exp` has passed (its signature and other claims are still checked). */
  allowExpired?: boolean;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;
/** jsonwebtoken's messages for a signature that does not verify, or is empty. */
const SIGNATURE_REFUSALS = new Set(['invalid signature', 'jwt signature is required']);
/** The largest NumericDate of a four-digit year (9999-12-31T23:59:59Z); beyond it, likely milliseconds. */
const MAX_NUMERIC_DATE = 253402300799;

/**
 * Decodes and verifies a compact JWT, or finds it in the verified-token cache.
 * Throws a {@link JwtError}; never echoes the token, a key or an expected value.
 */
export async function verifyToken(token: string, config: ResolvedConfig, options: VerifyOptions = {}): Promise<DecodedJwt> {
  if (token.length > config.maxTokenLength) throw new JwtDecodeError('Token is too long');
  const cache = options.allowExpired ? undefined : config.cache;
  const cached = cache?.get(token);
  if (cached) return cached;
  const decoded = await decodeAndVerify(token, config, options);
  cache?.set(token, decoded);
  return decoded;
}

/**
 * Size and strict form first (no decoding before that), then the algorithm
 * (from the configured list only, with the configured key only), the signature
 * (jsonwebtoken's, with that key and that algorithm alone), and only then the
 * payload and its registered claims, with PyJWT's messages so a token gets the
 * same answer here as from Flask-JWT-Extended. Each accepted token has exactly
 * one accepted string form.
 */
async function decodeAndVerify(token: string, config: ResolvedConfig, options: VerifyOptions): Promise<DecodedJwt> {
  const segments = token.split('.');
  if (segments.length !== 3) throw new JwtDecodeError(segments.length < 3 ? 'Not enough segments' : 'Too many segments');
  for (const segment of segments) assertCanonical(segment);

  const headerText = Buffer.from(segments[0], 'base64url').toString('utf8');
  const header = parseObject(headerText, 'header') as JwtHeader;
  // The payload is read before its signature is checked only for a decodeKeyLoader, which asks for it.
  const { algorithm, key } = await config.keys.verificationKey(header, () => parseObject(payloadText(segments[1]), 'payload'));
  // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
  if (header.crit !== undefined) throw new JwtDecodeError('Unsupported critical header parameter');
  const length = signatureLength(algorithm);
  if (length !== undefined) {
    const signature = Buffer.from(segments[2], 'base64url');
    if (signature.length !== length) throw new InvalidSignatureError();
    if (!config.allowHighS && isHighS(algorithm, signature)) throw new JwtDecodeError('Non-canonical signature (high S)');
  }

  let verified: Jwt;
  try {
    // Expiry and the other claims are ours to check below, in PyJWT's order and with its messages.
    verified = jwsVerify(token, key, { algorithms: [algorithm], complete: true, ignoreExpiration: true, ignoreNotBefore: true });
  } catch (error) {
    throw refusalOf(error, segments[1]);
  }
  const payload = verifiedPayload(verified.payload, payloadText(segments[1]));
  return { header, claims: checkClaims(payload, config, options) };
}

/**
 * Strict base64url: its alphabet, no padding, and the one canonical encoding
 * (a last character whose unused bits are zero), so no second string decodes to
 * the same bytes. Linear, without decoding.
 */
function assertCanonical(segment: string): void {
  const unusedBits = [0, -1, 4, 2][segment.length % 4];
  if (unusedBits < 0 || !SEGMENT.test(segment)) throw new JwtDecodeError('Invalid token encoding');
  if (unusedBits > 0 && (sextet(segment.charCodeAt(segment.length - 1)) & ((1 << unusedBits) - 1)) !== 0) {
    throw new JwtDecodeError('Invalid token encoding');
  }
}

/** The 6-bit value of a base64url character already known to be in the alphabet. */
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26-51
  if (code >= 65) return code - 65; // A-Z: 0-25
  if (code >= 48) return code + 4; // 0-9: 52-61
  return code === 45 ? 62 : 63; // - and _
}

function payloadText(segment: string): string {
  return Buffer.from(segment, 'base64url').toString('utf8');
}

/**
 * Why jsonwebtoken refused a token whose form we already checked: its
 * signature, or (jsonwebtoken parses a `typ: JWT` payload before it checks the
 * signature) a payload that is no JSON object.
 */
function refusalOf(error: unknown, payloadSegment: string): JwtDecodeError {
  if (error instanceof JsonWebTokenError && SIGNATURE_REFUSALS.has(error.message)) return new InvalidSignatureError();
  try {
    verifiedPayload(JSON.parse(payloadText(payloadSegment)), payloadText(payloadSegment));
  } catch (refusal) {
    if (refusal instanceof JwtDecodeError) return refusal;
    return new JwtDecodeError('Invalid payload string');
  }
  return new InvalidSignatureError();
}

/** The payload jsonwebtoken parsed, if it is a JSON object whose member names each appear once. */
function verifiedPayload(parsed: unknown, text: string): Record<string, unknown> {
  if (!isPlainObject(parsed)) throw new JwtDecodeError('Invalid payload string');
  // JSON.parse keeps the last of duplicate names: {"sub":"a","sub":"admin"} must not become admin.
  if (hasDuplicateMembers(text)) throw new JwtDecodeError('Duplicate member name in payload');
  return parsed;
}

function checkClaims(payload: Record<string, unknown>, config: ResolvedConfig, options: VerifyOptions): JwtClaims {
  const time = now();
  const { leeway } = config;
  const exp = numericDate(payload, 'exp', 'Expiration Time');
  const nbf = numericDate(payload, 'nbf', 'Not Before');
  const iat = numericDate(payload, 'iat', 'Issued At');
  // Tokens minted elsewhere may lack these; Flask-JWT-Extended reads them so too.
  const type = payload.type ?? 'access';
  if (type !== 'access' && type !== 'refresh') throw new JwtDecodeError('Invalid claim: type');
  // A token that never expires only where the app issues such tokens itself.
  if (exp === undefined && (type === 'access' ? config.accessTokenExpires : config.refreshTokenExpires) !== false) {
    throw new JwtDecodeError('Token is missing the "exp" claim');
  }
  if (exp !== undefined && exp <= time - leeway && !options.allowExpired) throw new ExpiredTokenError(payload as JwtClaims);
  if (nbf !== undefined && nbf > time + leeway) throw new JwtDecodeError('The token is not yet valid (nbf)');
  if (iat !== undefined && iat > time + leeway) throw new JwtDecodeError('The token is not yet valid (iat)');

  checkAudience(payload.aud, config.decodeAudience);
  if (config.decodeIssuer !== undefined) {
    if (payload.iss === undefined) throw new JwtDecodeError('Token is missing the "iss" claim');
    if (payload.iss !== config.decodeIssuer) throw new JwtDecodeError('Invalid issuer');
  }

  const identity = payload[config.identityClaim];
  if (identity === undefined) throw new JwtDecodeError(`Missing claim: ${config.identityClaim}`);
  if (typeof identity !== 'string') throw new JwtDecodeError('Subject must be a string');
  if (payload.jti !== undefined && typeof payload.jti !== 'string') throw new JwtDecodeError('Invalid claim: jti');

  const fresh = payload.fresh ?? false;
  if (typeof fresh !== 'boolean' && !(typeof fresh === 'number' && Number.isFinite(fresh))) {
    throw new JwtDecodeError('Invalid claim: fresh');
  }
  return { ...payload, type, fresh };
}

/** Without a configured audience, a token that names one is refused, as PyJWT does. */
function checkAudience(aud: unknown, expected: readonly string[] | undefined): void {
  if (expected === undefined) {
    if (aud !== undefined) throw new JwtDecodeError('Invalid audience');
    return;
  }
  if (aud === undefined) throw new JwtDecodeError('Token is missing the "aud" claim');
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

/** The header (or, for a key loader, the unverified payload): a JSON object, each member name once. */
function parseObject(text: string, part: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JwtDecodeError(`Invalid ${part} string`);
  }
  if (!isPlainObject(value)) throw new JwtDecodeError(`Invalid ${part} string`);
  if (hasDuplicateMembers(text)) throw new JwtDecodeError(`Duplicate member name in ${part}`);
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
