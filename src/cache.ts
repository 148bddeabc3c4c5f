import type { DecodedJwt } from './claims';

/** Options of the verified-token cache. */
export interface VerifiedTokenCacheOptions {
  /** Most tokens held. Default 10 000. */
  maxEntries?: number;
  /** Longest time a token stays cached, in milliseconds; never past its own `exp`. Default 5 minutes. */
  ttl?: number;
}

/**
 * Tokens that passed decoding, signature and claim checks, keyed by their exact
 * string, so a token sent again and again is verified once. Bounded in size
 * (least recently used goes first) and in time (an entry never outlives the
 * token's `exp`, nor `ttl`). Only verification is cached: type, freshness,
 * revocation and CSRF checks run on every request.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, { decoded: DecodedJwt; expires: number }>();
  private readonly maxEntries: number;
  private readonly ttl: number;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttl = options.ttl ?? 300_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('verifiedTokenCache: `maxEntries` must be a positive integer');
    if (!(this.ttl > 0)) throw new RangeError('verifiedTokenCache: `ttl` must be positive');
  }

  get size(): number {
    return this.entries.size;
  }

  get(token: string): DecodedJwt | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    this.entries.delete(token);
    if (entry.expires <= Date.now()) return undefined;
    this.entries.set(token, entry); // most recently used last
    return entry.decoded;
  }

  set(token: string, decoded: DecodedJwt): void {
    const exp = typeof decoded.claims.exp === 'number' ? decoded.claims.exp * 1000 : Infinity;
    const expires = Math.min(exp, Date.now() + this.ttl);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    // Shared by every request that sends this token: nobody may change it.
    this.entries.set(token, { decoded: deepFreeze(decoded), expires });
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
