/**
 * Values kept beyond the request that brought them (in the verified-token
 * cache, or shared by every token with the same header): frozen, so no sharer
 * can change them for the others, and copied, so they do not keep a request's
 * much larger strings alive.
 */

/** `value`, frozen at every depth; nested values wait in a list, not on the stack (a header may nest thousands deep). */
export function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next !== 'object' || next === null || Object.isFrozen(next)) continue;
    Object.freeze(next);
    for (const child of Object.values(next)) if (typeof child === 'object' && child !== null) pending.push(child);
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
