import { now, type DecodedJwt, type JwtClaims, type JwtHeader } from './claims';
import type { ResolvedConfig } from './config';
import { isHighS } from './ecdsa';
import { ExpiredTokenError, InvalidSignatureError, JwtDecodeError } from './errors';
import { hasDuplicateMembers } from './json';
import type { Algorithm } from './keys';
import { isValidSignature } from './signature';

/** Options of {@link verifyToken}. */
export interface VerifyOptions {
  /** Accept a token whose `exp` has passed (its signature and other claims are still checked). */
  allowExpired?: boolean;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;
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
 * (from the configured list only, with the configured key only), the signature,
 * and only then the payload and its registered claims, with PyJWT's messages so
 * a token gets the same answer here as from Flask-JWT-Extended. Each accepted
 * token has exactly one accepted string form.
 */
async function decodeAndVerify(token: string, config: ResolvedConfig, options: VerifyOptions): Promise<DecodedJwt> {
  const segments = token.split('.');
  if (segments.length !== 3) throw new JwtDecodeError(segments.length < 3 ? 'Not enough segments' : 'Too many segments');
  const [headerBytes, payloadBytes, signature] = segments.map(decodeSegment);

  const header = parseObject(headerBytes, 'header') as JwtHeader;
  // The payload is read before its signature is checked only for a decodeKeyLoader, which asks for it.
  const key = await config.keys.verificationKey(header, () => parseObject(payloadBytes, 'payload'));
  // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
  if (header.crit !== undefined) throw new JwtDecodeError('Unsupported critical header parameter');
  if (!config.allowHighS && isHighS(header.alg, signature)) throw new JwtDecodeError('Non-canonical signature (high S)');
  const signingInput = token.slice(0, segments[0].length + 1 + segments[1].length);
  if (!isValidSignature(header.alg as Algorithm, key, signingInput, signature)) throw new InvalidSignatureError();

  return { header, claims: checkClaims(parseObject(payloadBytes, 'payload'), config, options) };
}

/**
 * Strict base64url: its alphabet, no padding, and the one canonical encoding
 * (unused trailing bits zero), so no second string decodes to the same bytes.
 */
function decodeSegment(segment: string): Buffer {
  if (!SEGMENT.test(segment)) throw new JwtDecodeError('Invalid token encoding');
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) throw new JwtDecodeError('Invalid token encoding');
  return bytes;
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

/** The header or payload: a JSON object in UTF-8, each member name once. */
function parseObject(bytes: Buffer, part: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  const text = bytes.toString('utf8');
  try {
    value = JSON.parse(text);
  } catch {
    throw new JwtDecodeError(`Invalid ${part} string`);
  }
  if (!isPlainObject(value)) throw new JwtDecodeError(`Invalid ${part} string`);
  // JSON.parse keeps the last of duplicate names: {"sub":"a","sub":"admin"} must not become admin.
  if (hasDuplicateMembers(text)) throw new JwtDecodeError(`Duplicate member name in ${part}`);
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
