/**
 * Values kept beyond the request that brought them (in the verified-token
 * cache, or shared by every token with the same header): frozen, so no sharer
 * can change them for the others, and copied, so they do not keep a request's
 * much larger strings alive.
 */

/** `value`, frozen at every depth. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * A string equal to `text` (plain ASCII, as a token is) in memory of its own:
 * a slice of a request header would otherwise hold the whole header.
 */
export function detached(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}
