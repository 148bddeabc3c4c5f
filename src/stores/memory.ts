import type { ConsumeOptions, RevocationStore, StoredToken, TokenStatus } from './store';

/** Options of {@link MemoryRevocationStore}. */
export interface MemoryRevocationStoreOptions {
  /** Most entries held at once. Default 100 000. */
  maxEntries?: number;
}

/**
 * The embedded revocation store: one process, no server, answers without
 * waiting (so without a time limit). Entries expire with
 * what they revoke and the store never holds more than `maxEntries`; when full
 * of live entries it refuses new revocations (with a `RangeError`) rather than
 * forget an old one, which would un-revoke a token.
 */
export class MemoryRevocationStore implements RevocationStore {
  // key → expiry (ms since epoch; Infinity for none) and value.
  private readonly entries = new Map<string, { expires: number; value: number }>();
  private readonly maxEntries: number;

  constructor(options: MemoryRevocationStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('MemoryRevocationStore: `maxEntries` must be a positive integer');
  }

  /** Live entries held now. */
  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  status(token: StoredToken, consume?: ConsumeOptions): TokenStatus {
    const { identity, jti, family } = token;
    if ((jti !== undefined && this.get(key(identity, 'j', jti)) !== undefined)
      || (family !== undefined && this.get(key(identity, 'f', family)) !== undefined)
      || token.generation < (this.get(key(identity, 'g')) ?? 0)) {
      return 'revoked';
    }
    if (!consume || jti === undefined) return 'active';
    const usedKey = key(identity, 'u', jti);
    const firstUse = this.get(usedKey);
    const now = Date.now();
    if (firstUse === undefined) {
      this.set(usedKey, now, consume.ttl);
      return 'active';
    }
    if (now - firstUse <= consume.grace) return 'concurrent';
    if (family !== undefined) this.set(key(identity, 'f', family), 1, consume.familyTtl);
    return 'reused';
  }

  revokeToken(identity: string, jti: string, ttl: number | undefined): void {
    this.set(key(identity, 'j', jti), 1, ttl);
  }

  revokeFamily(identity: string, family: string, ttl: number | undefined): void {
    this.set(key(identity, 'f', family), 1, ttl);
  }

  revokeAll(identity: string, ttl: number | undefined): void {
    const generationKey = key(identity, 'g');
    this.set(generationKey, (this.get(generationKey) ?? 0) + 1, ttl);
  }

  generation(identity: string): number {
    return this.get(key(identity, 'g')) ?? 0;
  }

  private get(entryKey: string): number | undefined {
    const entry = this.entries.get(entryKey);
    if (entry === undefined) return undefined;
    if (entry.expires <= Date.now()) {
      this.entries.delete(entryKey);
      return undefined;
    }
    return entry.value;
  }

  private set(entryKey: string, value: number, ttl: number | undefined): void {
    if (!this.entries.has(entryKey) && this.entries.size >= this.maxEntries) {
      this.sweep();
      if (this.entries.size >= this.maxEntries) throw new RangeError(`MemoryRevocationStore is full (${this.maxEntries} live entries); raise \`maxEntries\``);
    }
    this.entries.set(entryKey, { expires: ttl === undefined ? Infinity : Date.now() + ttl, value });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [entryKey, entry] of this.entries) if (entry.expires <= now) this.entries.delete(entryKey);
  }
}

/** The same key layout as the Redis store, so both read alike. */
function key(identity: string, kind: 'j' | 'f' | 'u' | 'g', id?: string): string {
  const base = `${encodeURIComponent(identity)}:${kind}`;
  return id === undefined ? base : `${base}:${id}`;
}
