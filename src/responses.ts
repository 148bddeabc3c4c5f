import { HttpError } from 'routing-controllers';
import { reportCallbackError } from './callbacks';
import type { JwtClaims } from './claims';
import type { ResolvedConfig } from './config';
import { JwtErrorCode, type JwtError } from './errors';

/** The kinds of failure an application can answer its own way, as Flask-JWT-Extended's loaders do. */
export type ErrorKind =
  | 'unauthorized' // no token
  | 'invalidToken' // malformed header or token, bad signature, bad claims, wrong type
  | 'expired' // the token, or its session (max age, idle timeout)
  | 'needsFresh'
  | 'roleMissing'
  | 'userLookup'
  | 'claimsVerification'
  | 'revoked' // revoked, refresh token reused, or used twice at once under rotation
  | 'storeUnavailable' // the revocation store, or a callback a new token needs, could not answer (503)
  | 'csrf';

/** What an error callback learns of a failure. */
export interface JwtFailure {
  readonly kind: ErrorKind;
  readonly code: JwtErrorCode;
  readonly message: string;
  /** The status the failure answers with by default. */
  readonly status: number;
  /** The token's claims, when the failure came after its signature was verified. */
  readonly claims?: JwtClaims;
  /** The driver's request object: Koa's `ctx`, or Express's `req`. */
  readonly ctx: object;
  readonly error: JwtError;
}

/** A response to a failure; whatever a callback leaves out keeps its default. */
export interface JwtErrorResponse {
  status?: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Re-shapes the response to one kind of failure (may be async); `undefined` keeps the default. */
export type ErrorCallback = (failure: JwtFailure) => JwtErrorResponse | undefined | Promise<JwtErrorResponse | undefined>;

/** Error callbacks by kind of failure. */
export type ErrorCallbacks = Partial<Record<ErrorKind, ErrorCallback>>;

const KINDS: Readonly<Record<JwtErrorCode, ErrorKind>> = {
  [JwtErrorCode.NoAuthorization]: 'unauthorized',
  [JwtErrorCode.InvalidHeader]: 'invalidToken',
  [JwtErrorCode.Decode]: 'invalidToken',
  [JwtErrorCode.InvalidSignature]: 'invalidToken',
  [JwtErrorCode.WrongTokenType]: 'invalidToken',
  [JwtErrorCode.ClaimsValidation]: 'invalidToken',
  [JwtErrorCode.Expired]: 'expired',
  [JwtErrorCode.FreshTokenRequired]: 'needsFresh',
  [JwtErrorCode.RoleMissing]: 'roleMissing',
  [JwtErrorCode.UserLookup]: 'userLookup',
  [JwtErrorCode.ClaimsVerification]: 'claimsVerification',
  [JwtErrorCode.Revoked]: 'revoked',
  [JwtErrorCode.RefreshTokenReused]: 'revoked',
  [JwtErrorCode.RefreshTokenConcurrent]: 'revoked',
  [JwtErrorCode.SessionEnded]: 'expired',
  [JwtErrorCode.StoreUnavailable]: 'storeUnavailable',
  [JwtErrorCode.TokenIssue]: 'storeUnavailable',
  [JwtErrorCode.Csrf]: 'csrf',
};

/**
 * The response to `error`: the defaults, then whatever the app's callback for
 * its kind says. A callback that throws (anything but an `HttpError`, which
 * passes through) or answers what could not be sent is reported to
 * `onCallbackError` and the default answers.
 */
export async function errorResponse(error: JwtError, ctx: object, config: ResolvedConfig): Promise<Required<JwtErrorResponse>> {
  const kind = KINDS[error.code];
  const fallback = defaultResponse(error, config);
  const callback = config.errorCallbacks[kind];
  if (!callback) return fallback;
  try {
    const custom = await callback({ kind, code: error.code, message: error.message, status: fallback.status, claims: error.claims, ctx, error });
    return sendableResponse(custom, fallback, kind);
  } catch (thrown) {
    if (thrown instanceof HttpError) throw thrown;
    reportCallbackError(config.onCallbackError, thrown, { callback: `errorCallbacks.${kind}`, ctx });
    return fallback;
  }
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A callback's answer over the defaults, each part read once and checked, so
 * that rendering it cannot fail later (a 500, or a crash on Express): throws
 * when node or `JSON.stringify` would refuse a part (a status outside 400–599,
 * a bad header, a body that is not a JSON object: circular, a BigInt, a getter
 * or `toJSON` that throws). The body sent is the JSON copy checked here.
 */
function sendableResponse(custom: JwtErrorResponse | undefined, fallback: Required<JwtErrorResponse>, kind: ErrorKind): Required<JwtErrorResponse> {
  const refuse = (part: string) => new TypeError(`errorCallbacks.${kind} returned ${part}`);
  if (custom === undefined || custom === null) return fallback;
  if (typeof custom !== 'object') throw refuse('something other than an object');
  const { status, body, headers } = custom;
  if (status !== undefined && !(Number.isInteger(status) && status >= 400 && status <= 599)) throw refuse(`an error status out of range: ${String(status).slice(0, 16)}`);
  if (headers !== undefined && (typeof headers !== 'object' || headers === null)) throw refuse('headers that are not an object');
  const sent: Record<string, string> = { ...fallback.headers };
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.length > 256 || !HEADER_NAME.test(name)) throw refuse('an invalid header name');
    if (typeof value !== 'string' || !isHeaderValue(value)) throw refuse(`an invalid value for header ${name}`);
    sent[name] = value;
  }
  return { status: status ?? fallback.status, body: body === undefined || body === null ? fallback.body : jsonObject(body, refuse), headers: sent };
}

/** A JSON copy of `body`, which must serialise to a JSON object. */
function jsonObject(body: unknown, refuse: (part: string) => TypeError): Record<string, unknown> {
  const copy: unknown = JSON.parse(JSON.stringify(body) ?? 'null');
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) throw refuse('a body that is not a JSON object');
  return copy as Record<string, unknown>;
}

/** Whether node sends `value` as a header value: tab, printable ASCII and Latin-1 (RFC 9110 §5.5), nothing else. */
function isHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f || code > 0xff) return false;
  }
  return true;
}

/**
 * Flask-JWT-Extended's answers, or RFC 6750's with `rfc6750Errors`: there every
 * token problem is a 401 `invalid_token` whose challenge says why.
 */
function defaultResponse(error: JwtError, config: ResolvedConfig): Required<JwtErrorResponse> {
  const body = { [config.errorMessageKey]: error.message };
  if (!config.rfc6750Errors) {
    return { status: error.status, body, headers: error.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {} };
  }
  // RFC 6750 §3: no error code when the request carried no credentials at all.
  if (error.code === JwtErrorCode.NoAuthorization) return { status: 401, body, headers: { 'WWW-Authenticate': 'Bearer' } };
  // Not token problems: the store being down, a refresh race.
  if (error.status === 503 || error.status === 409) return { status: error.status, body, headers: {} };
  const [status, code] = error.code === JwtErrorCode.InvalidHeader ? [400, 'invalid_request']
    : error.code === JwtErrorCode.RoleMissing ? [403, 'insufficient_scope']
      : [401, 'invalid_token'];
  return { status, body, headers: { 'WWW-Authenticate': `Bearer error="${code}", error_description="${errorDescription(error.message)}"` } };
}

/** The longest `error_description` sent; the body carries the whole message. */
const MAX_DESCRIPTION_LENGTH = 200;

/**
 * A message as RFC 6750 §3 lets it into `error_description`: printable ASCII
 * without '"' and '\\' (`%x20-21 / %x23-5B / %x5D-7E`). Quotes and backslashes
 * become `'`, every other character outside the set (non-ASCII such as a user's
 * name, control characters) `?`; long messages are cut. One pass, no regex.
 */
function errorDescription(message: string): string {
  const length = Math.min(message.length, MAX_DESCRIPTION_LENGTH);
  let description = '';
  for (let i = 0; i < length; i++) {
    const code = message.charCodeAt(i);
    description += code === 0x22 || code === 0x5c ? "'" : code >= 0x20 && code <= 0x7e ? message[i] : '?';
  }
  return message.length > length ? `${description}...` : description;
}
