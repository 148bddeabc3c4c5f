import type { CookieNames, ResolvedConfig, TokenLocation } from '../config';
import { CsrfError, InvalidHeaderError, NoAuthorizationError } from '../errors';
import { MAX_COOKIE_HEADER_LENGTH, requestCookie } from '../cookies';
import type { RequestAdapter } from './adapter';
import { multipartFields, peekBody, urlencodedFields } from './body';
import { isFormMediaType, isJsonMediaType, listElements, mediaType, words } from './fields';

/** A token found in a request, where, and the CSRF value sent with it (cookies on unsafe methods). */
export interface LocatedToken {
  readonly token: string;
  readonly location: TokenLocation;
  readonly csrf?: string;
}

/** What a location yields: a token (maybe with its CSRF value), or why there is none. */
type Found = { token: string; csrf?: string } | NoAuthorizationError;

/**
 * Reads one location for an access (or, with `refresh`, a refresh) token.
 * Throws when the location holds something malformed: that fails the request outright.
 */
type LocationReader = <C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig, refresh: boolean) => Found;

const readers: Readonly<Record<TokenLocation, LocationReader>> = {
  headers: readHeader,
  cookies: readCookie,
  query_string: readQueryString,
  json: readJson,
};

/** Bodies the library read itself (no parser had), by request; `undefined` for a malformed one. */
const readBodies = new WeakMap<object, unknown>();

/** The request's parsed body: the body parser's, or the one the library read itself. */
function bodyOf<C>(adapter: RequestAdapter<C>, ctx: C): unknown {
  return readBodies.has(ctx as object) ? readBodies.get(ctx as object) : adapter.body(ctx);
}

/**
 * Reads a body no parser read when `locations` may need it, as Flask's
 * `request.json` and `request.form` would: a JSON location's body of an
 * `application/…+json` type the parser skipped, or a multipart (or unparsed
 * urlencoded) body holding the CSRF form field of a cookie token. Returns
 * `undefined` (nothing to wait for) on every other request. A malformed body
 * counts as holding nothing, so it answers in the library's shape (401).
 */
export function readUnparsedBody<C>(
  adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig, locations: readonly TokenLocation[], refresh: boolean,
): Promise<void> | undefined {
  // Header-only routes (the usual case) read no Content-Type.
  if (!locations.includes('json') && !(locations.includes('cookies') && config.cookies.csrfCheckForm)) return undefined;
  const contentType = adapter.header(ctx, 'content-type');
  const type = mediaType(contentType);
  const json = locations.includes('json') && isJsonMediaType(type);
  const names = refresh ? config.cookies.refresh : config.cookies.access;
  const form = isFormMediaType(type) && locations.includes('cookies') && config.cookies.csrfCheckForm
    && config.cookies.csrfMethods.includes(adapter.method(ctx)) && !adapter.header(ctx, names.csrfHeader);
  if (!json && !form) return undefined;
  const pending = peekBody(adapter.incoming(ctx));
  return pending?.then((bytes) => {
    if (bytes !== undefined) readBodies.set(ctx as object, json ? parseJson(bytes) : formFields(bytes, type, contentType ?? ''));
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as JSON, `undefined` when it is not: invalid UTF-8 included, never read as U+FFFD (which would make a token of it). */
function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(UTF8.decode(bytes));
  } catch {
    return undefined;
  }
}

function formFields(bytes: Buffer, type: string, contentType: string): unknown {
  return type === 'multipart/form-data' ? multipartFields(bytes, contentType) : urlencodedFields(bytes);
}

/**
 * Finds the request's token in `locations`, in order. The first location that
 * holds a token decides, valid or not: a bad cookie is never rescued by a good
 * header. When none holds one, the error names every place looked at.
 * Returns `undefined` only when `optional` and nothing was found.
 */
export function locateToken<C>(
  adapter: RequestAdapter<C>,
  ctx: C,
  config: ResolvedConfig,
  locations: readonly TokenLocation[],
  refresh: boolean,
  optional: boolean,
): LocatedToken | undefined {
  const missing: NoAuthorizationError[] = [];
  for (const location of locations) {
    const found = readers[location](adapter, ctx, config, refresh);
    if (!(found instanceof NoAuthorizationError)) return { token: found.token, csrf: found.csrf, location };
    missing.push(found);
  }
  if (optional) return undefined;
  if (missing.length === 1) throw missing[0];
  const places = `${locations.slice(0, -1).join(', ')} or ${locations[locations.length - 1]}`;
  throw new NoAuthorizationError(`Missing JWT in ${places} (${missing.map((e) => e.message).join('; ')})`);
}

/** The longest `Authorization` header read, in characters (a token is at most `maxTokenLength`); a longer one is refused unread. */
const MAX_HEADER_LENGTH = 65_536;

/**
 * `Authorization: Bearer <JWT>`, as Flask-JWT-Extended reads it — whitespace
 * and stray commas around the value ignored, the scheme matched
 * case-insensitively (RFC 7235) — except that the field must hold one
 * credential: a Bearer credential beside another one (a second field line, a
 * `Basic` credential) is refused rather than picked out. Linear in the
 * header's length, which is capped before any parsing.
 */
function readHeader<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig): Found {
  const { headerName, headerType } = config;
  const value = adapter.header(ctx, headerName);
  if (value === undefined) return new NoAuthorizationError(`Missing ${headerName} Header`);
  if (value.length > MAX_HEADER_LENGTH) throw badHeader(config);
  // The usual case, `Bearer <JWT>` and nothing else, without splitting (and without a copy when the scheme is spelt as configured).
  if (headerType && value.charCodeAt(headerType.length) === 32
    && (value.startsWith(headerType) || value.slice(0, headerType.length).toLowerCase() === headerType.toLowerCase())) {
    const token = value.slice(headerType.length + 1);
    if (token && !/[\s\x1c-\x1f\x85,]/.test(token)) return { token };
  }
  const credentials = listElements(value);
  if (credentials.length === 0) return new NoAuthorizationError(`Missing ${headerName} Header`);
  if (!headerType) {
    const parts = credentials.length === 1 ? words(credentials[0]) : [];
    if (parts.length !== 1) throw badHeader(config);
    return { token: parts[0] };
  }
  const scheme = headerType.toLowerCase();
  const ours = credentials.filter((credential) => words(credential)[0].toLowerCase() === scheme);
  if (ours.length === 0) {
    return new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected '${headerName}: ${expectedHeader(config)}'`);
  }
  if (credentials.length !== 1) throw badHeader(config);
  const parts = words(ours[0]);
  if (parts.length !== 2) throw badHeader(config);
  return { token: parts[1] };
}

function expectedHeader({ headerType }: ResolvedConfig): string {
  return headerType ? `${headerType} <JWT>` : '<JWT>';
}

function badHeader(config: ResolvedConfig): InvalidHeaderError {
  return new InvalidHeaderError(`Bad ${config.headerName} header. Expected '${config.headerName}: ${expectedHeader(config)}'`);
}

/**
 * The token's cookie, refused (as is its CSRF cookie) when sent twice with
 * different values: see {@link requestCookie}. On the CSRF methods, the
 * double-submit value must come along in the CSRF header (or, with
 * `csrfCheckForm`, a form field of an urlencoded or multipart body — never a
 * JSON key): it is matched against the token's `csrf` claim once the token is
 * verified.
 */
function readCookie<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig, refresh: boolean): Found {
  const { cookies } = config;
  const names: CookieNames = refresh ? cookies.refresh : cookies.access;
  const header = adapter.header(ctx, 'cookie');
  if (header !== undefined && header.length > MAX_COOKIE_HEADER_LENGTH) throw new InvalidHeaderError('Cookie header too large');
  const token = requestCookie(header, names.cookie);
  if (!token) return new NoAuthorizationError(`Missing cookie "${names.cookie}"`);
  // Its CSRF cookie tossed beside it is refused too: the page's script would send the first copy it sees.
  if (cookies.csrfProtect && cookies.csrfInCookies) requestCookie(header, names.csrfCookie);
  if (!cookies.csrfProtect || !cookies.csrfMethods.includes(adapter.method(ctx))) return { token };
  let csrf = adapter.header(ctx, names.csrfHeader);
  if (!csrf && cookies.csrfCheckForm && isFormMediaType(mediaType(adapter.header(ctx, 'content-type')))) {
    // A repeated field counts by its first value, as Flask's `request.form.get`.
    const field = bodyField(bodyOf(adapter, ctx), names.csrfField);
    const first = Array.isArray(field) ? field[0] : field;
    if (typeof first === 'string') csrf = first;
  }
  if (!csrf) throw new CsrfError('Missing CSRF token');
  return { token, csrf };
}

/** `?jwt=<JWT>`: once, and a string (a nested query parser can make it an object). */
function readQueryString<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig): Found {
  const name = config.queryStringName;
  const value: unknown = adapter.query(ctx, name);
  if (Array.isArray(value)) throw new InvalidHeaderError(`Bad "${name}" query parameter: give it once`);
  // Flask-JWT-Extended's words, its spelling included, so a client that matches them works with both.
  if (value === undefined || value === '') return new NoAuthorizationError(`Missing '${name}' query paramater`);
  if (typeof value !== 'string') throw new InvalidHeaderError(`Bad "${name}" query parameter: expected a string`);
  return { token: value };
}

/**
 * The JSON body's key, as Flask-JWT-Extended reads it: only from a JSON media
 * type (`application/json`, `application/…+json`), and a value Python finds
 * false (`null`, `false`, `0`, `""`, `[]`, `{}`) is no token. Any other
 * value that is not a string is malformed.
 */
function readJson<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig, refresh: boolean): Found {
  const key = refresh ? config.refreshJsonKey : config.jsonKey;
  if (!isJsonMediaType(mediaType(adapter.header(ctx, 'content-type')))) {
    return new NoAuthorizationError('Invalid content-type. Must be application/json.');
  }
  const value = bodyField(bodyOf(adapter, ctx), key);
  if (isPythonFalse(value)) return new NoAuthorizationError(`Missing "${key}" key in json data.`);
  if (typeof value !== 'string') throw new InvalidHeaderError(`Bad "${key}" key in json data: expected a string`);
  return { token: value };
}

function isPythonFalse(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value as object).length === 0;
}

function bodyField(body: unknown, key: string): unknown {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.hasOwn(body, key)
    ? (body as Record<string, unknown>)[key]
    : undefined;
}
