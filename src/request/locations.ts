import type { ResolvedConfig, TokenLocation } from '../config';
import { InvalidHeaderError, NoAuthorizationError } from '../errors';
import type { RequestAdapter } from './adapter';

/** A token found in a request, and where. */
export interface LocatedToken {
  readonly token: string;
  readonly location: TokenLocation;
}

/**
 * Reads one location: the raw token, or why there is none. Throws when the
 * location holds something malformed (that fails the request outright).
 */
type LocationReader = <C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig) => string | NoAuthorizationError;

const readers: Readonly<Record<TokenLocation, LocationReader>> = {
  headers: readHeader,
};

/**
 * Finds the request's token in `locations`, in order. The first location that
 * holds a token decides; when none does, the error names every place looked at.
 * Returns `undefined` only when `optional` and nothing was found.
 */
export function locateToken<C>(
  adapter: RequestAdapter<C>,
  ctx: C,
  config: ResolvedConfig,
  locations: readonly TokenLocation[],
  optional: boolean,
): LocatedToken | undefined {
  const missing: NoAuthorizationError[] = [];
  for (const location of locations) {
    const found = readers[location](adapter, ctx, config);
    if (typeof found === 'string') return { token: found, location };
    missing.push(found);
  }
  if (optional) return undefined;
  if (missing.length === 1) throw missing[0];
  throw new NoAuthorizationError(`Missing JWT in ${locations.join(' or ')} (${missing.map((e) => e.message).join('; ')})`);
}

/**
 * `Authorization: Bearer <JWT>`, as Flask-JWT-Extended reads it: the field may
 * hold several comma-separated credentials; exactly one must use our scheme
 * (matched case-insensitively, RFC 7235) and carry exactly one token.
 */
function readHeader<C>(adapter: RequestAdapter<C>, ctx: C, config: ResolvedConfig): string | NoAuthorizationError {
  const { headerName, headerType } = config;
  const value = adapter.header(ctx, headerName)?.trim();
  if (!value) return new NoAuthorizationError(`Missing ${headerName} Header`);
  const expected = headerType ? `${headerType} <JWT>` : '<JWT>';
  const badHeader = () => new InvalidHeaderError(`Bad ${headerName} header. Expected '${headerName}: ${expected}'`);
  if (!headerType) {
    const parts = value.split(/\s+/);
    if (parts.length !== 1) throw badHeader();
    return parts[0];
  }
  const scheme = headerType.toLowerCase();
  const credentials = value.split(/\s*,\s*/).filter((credential) => credential.split(/\s+/, 1)[0].toLowerCase() === scheme);
  if (credentials.length === 0) {
    return new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected '${headerName}: ${expected}'`);
  }
  if (credentials.length > 1) throw badHeader();
  const parts = credentials[0].split(/\s+/);
  if (parts.length !== 2) throw badHeader();
  return parts[1];
}
