import type { TokenType } from './claims';
import type { ResolvedConfig } from './config';

/** Where a test request can carry its token in headers alone. */
export type HeaderLocation = 'headers' | 'cookies';

/**
 * The location a test request carries its token in: the one asked for, else the
 * first of `tokenLocation` that travels in request headers (the Authorization
 * header, or cookies). Query strings and JSON bodies are not headers: a test
 * puts the token there itself.
 */
export function headerLocation(config: ResolvedConfig, asked?: HeaderLocation): HeaderLocation {
  const location = asked ?? config.tokenLocation.find((l): l is HeaderLocation => l === 'headers' || l === 'cookies');
  if (location !== 'headers' && location !== 'cookies') {
    throw new TypeError(`authHeaders: tokenLocation is ${config.tokenLocation.join(', ')}; tokens travel in headers only with 'headers' or 'cookies'. Put a token from jwt.tokens.createAccessToken() in the query string or JSON body yourself`);
  }
  return location;
}

/**
 * The request headers that carry `token` from `location`: `Authorization: Bearer …`,
 * or its cookie, CSRF cookie and CSRF header (`csrf` is the token's `csrf` claim).
 */
export function tokenHeaders(config: ResolvedConfig, location: HeaderLocation, type: TokenType, token: string, csrf?: unknown): Record<string, string> {
  if (location === 'headers') {
    const { headerName, headerType } = config;
    return { [headerName]: headerType ? `${headerType} ${token}` : token };
  }
  return cookieHeaders(config, [{ type, token, csrf }], type);
}

/** A token and its `csrf` claim, as a cookie session holds it. */
export interface SessionToken {
  readonly type: TokenType;
  readonly token: string;
  readonly csrf: unknown;
}

/**
 * What a browser sends with a cookie session: a `Cookie` header with every token
 * cookie and its readable CSRF cookie, and the CSRF header of the token `csrfFor`
 * (the access token on access routes, the refresh token on refresh routes), as
 * its page's script would send it.
 */
export function cookieHeaders(config: ResolvedConfig, tokens: readonly SessionToken[], csrfFor: TokenType): Record<string, string> {
  const { cookies } = config;
  const pairs: string[] = [];
  const headers: Record<string, string> = {};
  for (const { type, token, csrf } of tokens) {
    const names = cookies[type];
    pairs.push(`${names.cookie}=${token}`);
    if (!cookies.csrfProtect || typeof csrf !== 'string') continue;
    if (cookies.csrfInCookies) pairs.push(`${names.csrfCookie}=${csrf}`);
    if (type === csrfFor) headers[names.csrfHeader] = csrf;
  }
  return { Cookie: pairs.join('; '), ...headers };
}
