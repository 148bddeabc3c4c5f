import type { CookieNames, ResolvedConfig, TokenLocation } from '../config';
import { CsrfError, InvalidHeaderError, NoAuthorizationError } from '../errors';
import type { RequestAdapter } from './adapter';

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
    if (!(found instanceof NoAuthorizationError)) return { ...found, location };
    missing.push(found);
  }
  if (optional) return undefined;
  if (missing.length === 1) throw missing[0];
  const places = `${locations.slice(0, -1).join(', ')} or ${locations[locations.length - 1]}`;
  throw new NoAuthorizationError(`Missing JWT in ${places} (${missing.map((e) => e.message).join('; ')})`);
}

/**
 * `Authorization: Bearer <JWT>`, as Flask-JWT-Extended reads it: the field may
 * hold several comma-separated credentials; exactly one must use our scheme
 * (matched case-insensitively, RFC 7235) and carry exactly one token.
 */
function readHeader<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig): Found {
  const { headerName, headerType } = config;
  const value = adapter.header(ctx, headerName)?.trim();
  if (!value) return new NoAuthorizationError(`Missing ${headerName} Header`);
  const expected = headerType ? `${headerType} <JWT>` : '<JWT>';
  const badHeader = () => new InvalidHeaderError(`Bad ${headerName} header. Expected '${headerName}: ${expected}'`);
  if (!headerType) {
    const parts = value.split(/\s+/);
    if (parts.length !== 1) throw badHeader();
    return { token: parts[0] };
  }
  const scheme = headerType.toLowerCase();
  // The usual case, `Bearer <JWT>` and nothing else, without splitting.
  const token = value.slice(scheme.length + 1);
  if (value[scheme.length] === ' ' && value.slice(0, scheme.length).toLowerCase() === scheme && !/[\s,]/.test(token) && token) {
    return { token };
  }
  const credentials = value.split(/\s*,\s*/).filter((credential) => credential.split(/\s+/, 1)[0].toLowerCase() === scheme);
  if (credentials.length === 0) {
    return new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected '${headerName}: ${expected}'`);
  }
  if (credentials.length > 1) throw badHeader();
  const parts = credentials[0].split(/\s+/);
  if (parts.length !== 2) throw badHeader();
  return { token: parts[1] };
}

/**
 * The token's cookie. On the CSRF methods, the double-submit value must come
 * along in the CSRF header (or form field): it is matched against the token's
 * `csrf` claim once the token is verified.
 */
function readCookie<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig, refresh: boolean): Found {
  const { cookies } = config;
  const names: CookieNames = refresh ? cookies.refresh : cookies.access;
  const token = cookieValue(adapter.header(ctx, 'cookie'), names.cookie);
  if (!token) return new NoAuthorizationError(`Missing cookie "${names.cookie}"`);
  if (!cookies.csrfProtect || !cookies.csrfMethods.includes(adapter.method(ctx))) return { token };
  let csrf = adapter.header(ctx, names.csrfHeader);
  if (!csrf && cookies.csrfCheckForm) {
    const field = bodyField(adapter.body(ctx), names.csrfField);
    if (typeof field === 'string') csrf = field;
  }
  if (!csrf) throw new CsrfError('Missing CSRF token');
  return { token, csrf };
}

function readQueryString<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig): Found {
  const name = config.queryStringName;
  const value = adapter.query(ctx, name);
  if (Array.isArray(value)) throw new InvalidHeaderError(`Bad "${name}" query parameter: give it once`);
  if (!value) return new NoAuthorizationError(`Missing "${name}" query parameter`);
  return { token: value };
}

function readJson<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig, refresh: boolean): Found {
  const key = refresh ? config.refreshJsonKey : config.jsonKey;
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(adapter.header(ctx, 'content-type') ?? '')) {
    return new NoAuthorizationError('Invalid content-type. Must be application/json');
  }
  const value = bodyField(adapter.body(ctx), key);
  if (value === undefined || value === null || value === '') return new NoAuthorizationError(`Missing "${key}" key in json data`);
  if (typeof value !== 'string') throw new InvalidHeaderError(`Bad "${key}" key in json data: expected a string`);
  return { token: value };
}

function bodyField(body: unknown, key: string): unknown {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.hasOwn(body, key)
    ? (body as Record<string, unknown>)[key]
    : undefined;
}

/** The first cookie of that name in a `Cookie` header (RFC 6265 §5.4), unquoted. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator < 0 || pair.slice(0, separator).trim() !== name) continue;
    const value = pair.slice(separator + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}
