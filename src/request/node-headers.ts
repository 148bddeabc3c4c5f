import type { IncomingMessage } from 'node:http';

// Node keeps only the first line of these fields; a second Authorization line
// must not go unnoticed, so they are read from the raw headers.
const FIRST_LINE_ONLY = new Set([
  'authorization', 'proxy-authorization', 'age', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/**
 * A header of node's request, every field line of that name joined with `", "`
 * (RFC 9110 §5.3), or `undefined` when absent. Both drivers sit on node's
 * request, so both adapters read headers here.
 */
export function nodeRequestHeader(req: IncomingMessage, name: string): string | undefined {
  const field = lowerCase(name);
  const value = req.headers[field];
  if (value === undefined || typeof value !== 'string') return Array.isArray(value) ? value.join(', ') : value;
  if (!FIRST_LINE_ONLY.has(field)) return value;
  const raw = req.rawHeaders;
  let joined: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (isFieldName(raw[i], field)) joined = joined === undefined ? raw[i + 1] : `${joined}, ${raw[i + 1]}`;
  }
  return joined ?? value;
}

/** Lower-cased field names, made once: the names asked for come from the configuration and the library. */
const lowerCased = new Map<string, string>();
const MAX_NAMES = 64;

function lowerCase(name: string): string {
  let lower = lowerCased.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerCased.size < MAX_NAMES) lowerCased.set(name, lower);
  }
  return lower;
}

/** Whether a raw field name is `field` (lower case) in any case, without copying it. */
function isFieldName(raw: string, field: string): boolean {
  if (raw.length !== field.length) return false;
  if (raw === field) return true;
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if ((code >= 65 && code <= 90 ? code | 32 : code) !== field.charCodeAt(i)) return false;
  }
  return true;
}

/** A response header's values so far (`Set-Cookie` may have several), from a getter like node's `getHeader`. */
export function headerValues(value: string | string[] | number | undefined): string[] {
  return value === undefined || value === '' ? [] : Array.isArray(value) ? value : [String(value)];
}

/** A request URL's path, without its query string. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
