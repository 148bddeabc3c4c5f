import type { DecodedJwt, JwtClaims } from './claims';
import { systemClock, type Clock } from './clock';
import type { VerificationKey } from './keys';
import { deepFreeze, detached } from './retained';

/** Options of the verified-token cache. */
export interface VerifiedTokenCacheOptions {
  /** Most tokens held. Default 10 000. */
  maxEntries?: number;
  /** Longest time a token stays cached, in milliseconds; never past its own `exp`. Default 5 minutes. */
  ttl?: number;
  /** Where the time is read (the manager's `clock`). Default `Date`. */
  clock?: Clock;
}

/** A token that passed decoding, signature and claim checks, and the key that verified it. */
export interface VerifiedToken extends DecodedJwt {
  readonly key: VerificationKey;
}

/**
 * How many tokens, seen once while every entry is in use, the cache remembers
 * (at most: two that share a place keep the newer) so as to admit them when
 * seen again. A power of two: the places of a record whose memory never grows.
 */
const DOORKEEPER_SIZE = 256;

/**
 * Tokens that passed decoding, signature and claim checks, found by their exact
 * string, so a token sent again and again is verified once. Only verification
 * is cached: type, freshness, revocation and CSRF checks run on every request,
 * and the caller checks on every hit that the configuration still verifies the
 * token with the entry's key.
 *
 * Bounded in time (an entry never outlives the token's `exp`, nor `ttl`) and in
 * size, with CLOCK (second chance) eviction: a hit only sets its entry's
 * reference bit, so it costs the same whatever the cache holds; a hand sweeping
 * the slots spares each referenced entry once, and takes the first that was not
 * used since its last pass. While every entry is live, a new token takes one's
 * place only when seen a second time within the last {@link DOORKEEPER_SIZE}
 * new tokens: a working set larger than the cache (tokens cycling) keeps the
 * cached part hitting instead of churning every entry, and a miss costs a few
 * lookups more than no cache.
 */
export class VerifiedTokenCache {
  private readonly maxEntries: number;
  private readonly ttl: number;
  private readonly clock: Clock;
  /** {@link indexKey} of the token → its slot. The slot arrays below hold one entry per index. */
  private readonly slots = new Map<number, number>();
  private readonly tokens: (string | undefined)[] = [];
  private readonly values: (VerifiedToken | undefined)[] = [];
  /** When each entry stops being served, in ms since the epoch; 0 for a free slot. */
  private readonly expires: number[] = [];
  /** 1 when the entry was used since the hand last passed it. */
  private readonly referenced: number[] = [];
  private hand = 0;
  /**
   * {@link indexKey}s of tokens seen once while the cache was full of live
   * entries, each at the place its low bits give (a newer one there takes it),
   * and when, counted in such tokens: a few instructions a miss, no allocation.
   */
  private readonly doorkeeper = new Int32Array(DOORKEEPER_SIZE).fill(-1);
  private readonly rememberedAt = new Float64Array(DOORKEEPER_SIZE);
  private newcomers = 0;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttl = options.ttl ?? 300_000;
    this.clock = options.clock ?? systemClock;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('verifiedTokenCache: `maxEntries` must be a positive integer');
    if (!(this.ttl > 0)) throw new RangeError('verifiedTokenCache: `ttl` must be positive');
  }

  /** Entries held, live or expired but not yet replaced. */
  get size(): number {
    return this.slots.size;
  }

  /** The token's entry, unless absent or expired. Writes nothing but the entry's reference bit. */
  get(token: string): VerifiedToken | undefined {
    const slot = this.slots.get(indexKey(token));
    if (slot === undefined || this.tokens[slot] !== token || this.expires[slot] <= this.clock.now()) return undefined;
    this.referenced[slot] = 1;
    return this.values[slot];
  }

  /** Caches a token that just passed verification with `verified.key`. */
  set(token: string, verified: VerifiedToken): void {
    const time = this.clock.now();
    const exp = verified.claims.exp;
    const expires = Math.min(typeof exp === 'number' ? exp * 1000 : Infinity, time + this.ttl);
    const key = indexKey(token);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      if (this.tokens.length < this.maxEntries) {
        slot = this.tokens.length;
      } else {
        slot = this.victim(time);
        if (this.expires[slot] > time && !this.seenBefore(key)) return;
        const previous = this.tokens[slot];
        if (previous !== undefined) this.slots.delete(indexKey(previous));
        this.hand = slot + 1 === this.maxEntries ? 0 : slot + 1;
      }
      this.slots.set(key, slot);
    }
    // (A slot found under the key may hold another token that shares it: this one takes its place.)
    if (this.tokens[slot] !== token) this.tokens[slot] = detached(token);
    this.referenced[slot] = 0;
    this.expires[slot] = expires;
    // Shared by every request that sends this token: nobody may change it (the header is frozen and shared already, see verify).
    this.values[slot] = Object.freeze({ header: verified.header, claims: deepFreeze(reshaped(verified.claims)), key: verified.key });
  }

  /** Forgets a token (its key is no longer the configuration's). */
  delete(token: string): void {
    const key = indexKey(token);
    const slot = this.slots.get(key);
    if (slot === undefined || this.tokens[slot] !== token) return;
    this.slots.delete(key);
    this.tokens[slot] = undefined;
    this.values[slot] = undefined;
    this.expires[slot] = 0;
    this.referenced[slot] = 0;
  }

  /**
   * The slot the next entry may take: the first, from the hand on, that is free,
   * expired or not referenced since the hand last passed; referenced ones get
   * their second chance (bit cleared). Stops there without passing it, so a
   * refused newcomer leaves it for the next.
   */
  private victim(time: number): number {
    for (;;) {
      const slot = this.hand;
      if (this.referenced[slot] === 0 || this.expires[slot] <= time) return slot;
      this.referenced[slot] = 0;
      this.hand = slot + 1 === this.maxEntries ? 0 : slot + 1;
    }
  }

  /** Whether the token (its key) was seen among the last {@link DOORKEEPER_SIZE} newcomers; remembers it otherwise. */
  private seenBefore(key: number): boolean {
    const place = key & (DOORKEEPER_SIZE - 1);
    const seen = this.doorkeeper[place] === key && this.newcomers - this.rememberedAt[place] < DOORKEEPER_SIZE;
    this.newcomers++;
    this.doorkeeper[place] = seen ? -1 : key;
    this.rememberedAt[place] = this.newcomers;
    return seen;
  }
}

/** How many of a token's last characters its index key mixes: its signature's, as random as the signature is. */
const KEY_CHARACTERS = 8;

/**
 * The number a token is indexed by: its last characters (the signature's)
 * mixed into 30 bits. Hashing that small integer costs a fraction of hashing
 * the whole token string; a hit still compares the whole token, so tokens that
 * share a key (by chance, or forged) are never confused.
 */
function indexKey(token: string): number {
  let hash = 0x811c9dc5;
  for (let i = Math.max(0, token.length - KEY_CHARACTERS); i < token.length; i++) hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193);
  return hash & 0x3fffffff;
}

/**
 * The same claims in an object built property by property. An object made by
 * spreading (as verification makes claims) has a shape that cannot remember
 * its frozen variant, so freezing it creates a new shape for every token (some
 * 260 bytes each); this one's frozen shape is shared by every token alike.
 */
function reshaped(claims: JwtClaims): JwtClaims {
  return Object.fromEntries(Object.entries(claims)) as JwtClaims;
}
