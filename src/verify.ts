import jsonwebtoken from 'jsonwebtoken';
import { now, type DecodedJwt, type JwtClaims, type JwtHeader } from './claims';
import type { ResolvedConfig } from './config';
import { ExpiredTokenError, InvalidSignatureError, JwtDecodeError } from './errors';

/** Options of {@link verifyToken}. */
export interface VerifyOptions {
  /** Accept a token whose `exp` has passed (its signature and other claims are still checked). */
  allowExpired?: boolean;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * Decodes and verifies a compact JWT: form, algorithm (from the configured list
 * only), signature, then the registered claims with PyJWT's messages, so a
 * token gets the same answer here as from Flask-JWT-Extended.
 * Throws a {@link JwtError}; never echoes the token, a key or an expected value.
 */
export async function verifyToken(token: string, config: ResolvedConfig, options: VerifyOptions = {}): Promise<DecodedJwt> {
  const segments = token.split('.');
  if (segments.length !== 3) throw new JwtDecodeError(segments.length < 3 ? 'Not enough segments' : 'Too many segments');
  if (!segments.every((segment) => SEGMENT.test(segment))) throw new JwtDecodeError('Invalid token encoding');

  const header = parseObject(segments[0]) as JwtHeader | undefined;
  if (!header) throw new JwtDecodeError('Invalid header string');
  const payload = parseObject(segments[1]);
  if (!payload) throw new JwtDecodeError('Invalid payload string');
  const key = await config.keys.verificationKey(header, payload);
  // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
  if (header.crit !== undefined) throw new JwtDecodeError('Unsupported critical header parameter');

  try {
    jsonwebtoken.verify(token, key, {
      algorithms: [header.alg as jsonwebtoken.Algorithm],
      // Time and audience claims are checked below, with our messages.
      ignoreExpiration: true,
      ignoreNotBefore: true,
    });
  } catch (error) {
    if (error instanceof jsonwebtoken.JsonWebTokenError && error.message === 'invalid signature') {
      throw new InvalidSignatureError();
    }
    throw new JwtDecodeError('Invalid token');
  }
  return { header, claims: checkClaims(payload, config, options) };
}

function checkClaims(payload: Record<string, unknown>, config: ResolvedConfig, options: VerifyOptions): JwtClaims {
  const time = now();
  const { leeway } = config;
  const exp = numericDate(payload, 'exp', 'Expiration Time');
  const nbf = numericDate(payload, 'nbf', 'Not Before');
  const iat = numericDate(payload, 'iat', 'Issued At');
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

  // Tokens minted elsewhere may lack these; Flask-JWT-Extended reads them so too.
  const type = payload.type ?? 'access';
  if (type !== 'access' && type !== 'refresh') throw new JwtDecodeError('Invalid claim: type');
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
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new JwtDecodeError(`${name} claim (${claim}) must be a number`);
  }
  return value;
}

function parseObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
