import type { JwtClaims, TokenType } from './claims';
import { now } from './claims';
import type { Clock } from './clock';
import type { CookieNames, CookieSettings } from './config';
import { InvalidHeaderError } from './errors';
import type { RequestAdapter } from './request/adapter';
import { unquote } from './request/fields';

/** Flask-JWT-Extended's Max-Age for persistent cookies: about a year. */
const ONE_YEAR = 31_540_000;

/**
 * Puts a token and, with CSRF protection, its double-submit value into the
 * response's cookies: the token `HttpOnly`, the CSRF value readable by the
 * page's script, which sends it back in the CSRF header.
 * `maxAge` (seconds) overrides the configured lifetime of persistent cookies.
 */
export function setTokenCookies<C>(
  adapter: RequestAdapter<C>, ctx: C, settings: CookieSettings, clock: Clock, type: TokenType, token: string, claims: JwtClaims, maxAge?: number,
): void {
  const names = namesOf(settings, type);
  if (settings.csrfProtect && typeof claims.csrf !== 'string') {
    // Such a cookie would be refused on every unsafe method ('Missing CSRF token'): say why, once, here.
    throw new TypeError(`Setting the ${type} token cookie: the token carries no csrf claim, so the cookie would be refused on ${settings.csrfMethods.join(', ')}. `
      + "Tokens carry one when tokenLocation includes 'cookies' (also when only some routes read cookies through `locations`); or set cookieCsrfProtect: false");
  }
  const lifetime = maxAge ?? (settings.session ? undefined
    : settings.maxAgeFromToken && typeof claims.exp === 'number' ? Math.max(0, claims.exp - now(clock)) : ONE_YEAR);
  const at = clock.now();
  setCookie(adapter, ctx, names.cookie, token, { ...attributes(settings, names.path, lifetime), httpOnly: true }, at);
  if (settings.csrfProtect && settings.csrfInCookies && typeof claims.csrf === 'string') {
    setCookie(adapter, ctx, names.csrfCookie, claims.csrf, { ...attributes(settings, names.csrfPath, lifetime), httpOnly: false }, at);
  }
}

/** Expires a token type's cookies (token and CSRF value) in the browser. */
export function unsetTokenCookies<C>(adapter: RequestAdapter<C>, ctx: C, settings: CookieSettings, type: TokenType): void {
  const names = namesOf(settings, type);
  // Max-Age 0 expires at the epoch, whatever the time.
  setCookie(adapter, ctx, names.cookie, '', { ...attributes(settings, names.path, 0), httpOnly: true }, 0);
  if (settings.csrfProtect && settings.csrfInCookies) {
    setCookie(adapter, ctx, names.csrfCookie, '', { ...attributes(settings, names.csrfPath, 0), httpOnly: false }, 0);
  }
}

/** Whether the response already sets (or unsets) the cookie `name`. */
export function responseSetsCookie<C>(adapter: RequestAdapter<C>, ctx: C, name: string): boolean {
  return adapter.responseHeader(ctx, 'Set-Cookie').some((line) => setsCookie(line, name));
}

interface CookieAttributes {
  path: string;
  domain?: string;
  maxAge?: number;
  secure: boolean;
  sameSite?: string;
  httpOnly: boolean;
}

function namesOf(settings: CookieSettings, type: TokenType): CookieNames {
  return type === 'access' ? settings.access : settings.refresh;
}

function attributes(settings: CookieSettings, path: string, maxAge: number | undefined): Omit<CookieAttributes, 'httpOnly'> {
  return { path, domain: settings.domain, maxAge, secure: settings.secure, sameSite: settings.sameSite };
}

/** Sets one cookie, replacing any earlier Set-Cookie of the same name in this response; `at`: now in milliseconds, for `Expires`. */
function setCookie<C>(adapter: RequestAdapter<C>, ctx: C, name: string, value: string, attrs: CookieAttributes, at: number): void {
  const parts = [`${name}=${value}`, `Path=${attrs.path}`];
  if (attrs.domain) parts.push(`Domain=${attrs.domain}`);
  if (attrs.maxAge !== undefined) {
    const expires = attrs.maxAge === 0 ? new Date(0) : new Date(at + attrs.maxAge * 1000);
    parts.push(`Max-Age=${attrs.maxAge}`, `Expires=${expires.toUTCString()}`);
  }
  if (attrs.httpOnly) parts.push('HttpOnly');
  if (attrs.secure) parts.push('Secure');
  if (attrs.sameSite) parts.push(`SameSite=${attrs.sameSite}`);
  const others = adapter.responseHeader(ctx, 'Set-Cookie').filter((line) => !setsCookie(line, name));
  adapter.setHeader(ctx, 'Set-Cookie', [...others, parts.join('; ')]);
}

/** The longest `Cookie` header read, in characters; a longer one is refused unread. */
export const MAX_COOKIE_HEADER_LENGTH = 65_536;

/**
 * The cookie of that name in a `Cookie` header (RFC 6265 §5.4), unquoted: one
 * pass over the header, no regular expression. A request may carry a name
 * more than once (cookies of other paths or a parent domain's), and browsers
 * put the longest path first, so a sibling subdomain can toss its own cookie
 * in front of the app's ("cookie tossing"): a name sent with different values
 * is refused, as neither can be told to be the app's. Identical copies are
 * one value, and pass.
 */
export function requestCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator < 0 || pair.slice(0, separator).trim() !== name) continue;
    const value = unquote(pair.slice(separator + 1).trim());
    if (found === undefined) found = value;
    else if (value !== found) throw new InvalidHeaderError(`Bad cookie "${name}": sent more than once with different values`);
  }
  return found;
}

/** Whether a Set-Cookie line is about the cookie `name`. */
function setsCookie(line: string, name: string): boolean {
  return line.startsWith(`${name}=`);
}
