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
  private readonly entries = new Map<string, Entry>();
  // How many revocations each identity has: most have none, and are answered by this alone.
  private readonly revocationsOf = new Map<string, number>();
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
    if (this.revocationsOf.has(identity) && ((jti !== undefined && this.get(identity, 'j', jti) !== undefined)
      || (family !== undefined && this.get(identity, 'f', family) !== undefined)
      || token.generation < (this.get(identity, 'g') ?? 0))) {
      return 'revoked';
    }
    if (!consume || jti === undefined) return 'active';
    const firstUse = this.get(identity, 'u', jti);
    const now = Date.now();
    if (firstUse === undefined) {
      this.set(identity, 'u', jti, now, consume.ttl);
      return 'active';
    }
    if (now - firstUse <= consume.grace) return 'concurrent';
    if (family !== undefined) this.set(identity, 'f', family, 1, consume.familyTtl);
    return 'reused';
  }

  revokeToken(identity: string, jti: string, ttl: number | undefined): void {
    this.set(identity, 'j', jti, 1, ttl);
  }

  revokeFamily(identity: string, family: string, ttl: number | undefined): void {
    this.set(identity, 'f', family, 1, ttl);
  }

  revokeAll(identity: string, ttl: number | undefined): void {
    this.set(identity, 'g', undefined, (this.get(identity, 'g') ?? 0) + 1, ttl);
  }

  generation(identity: string): number {
    return this.revocationsOf.has(identity) ? this.get(identity, 'g') ?? 0 : 0;
  }

  private get(identity: string, kind: Kind, id?: string): number | undefined {
    const entryKey = key(identity, kind, id);
    const entry = this.entries.get(entryKey);
    if (entry === undefined) return undefined;
    if (entry.expires <= Date.now()) {
      this.delete(entryKey, entry);
      return undefined;
    }
    return entry.value;
  }

  private set(identity: string, kind: Kind, id: string | undefined, value: number, ttl: number | undefined): void {
    const entryKey = key(identity, kind, id);
    const existing = this.entries.get(entryKey);
    if (!existing && this.entries.size >= this.maxEntries) {
      this.sweep();
      if (this.entries.size >= this.maxEntries) throw new RangeError(`MemoryRevocationStore is full (${this.maxEntries} live entries); raise \`maxEntries\``);
    }
    const revocation = kind !== 'u';
    this.entries.set(entryKey, { identity, revocation, expires: ttl === undefined ? Infinity : Date.now() + ttl, value });
    if (!existing && revocation) this.revocationsOf.set(identity, (this.revocationsOf.get(identity) ?? 0) + 1);
  }

  private delete(entryKey: string, entry: Entry): void {
    this.entries.delete(entryKey);
    if (!entry.revocation) return;
    const left = (this.revocationsOf.get(entry.identity) ?? 1) - 1;
    if (left > 0) this.revocationsOf.set(entry.identity, left);
    else this.revocationsOf.delete(entry.identity);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [entryKey, entry] of this.entries) if (entry.expires <= now) this.delete(entryKey, entry);
  }
}

/** A revoked jti, a revoked family, a refresh token's "used" mark, the identity's generation. */
type Kind = 'j' | 'f' | 'u' | 'g';

interface Entry {
  readonly identity: string;
  /** A revocation (of a token, a family, or a generation), as opposed to a refresh token's "used" mark. */
  readonly revocation: boolean;
  readonly expires: number;
  readonly value: number;
}

/** The same key layout as the Redis store, so both read alike. */
function key(identity: string, kind: Kind, id?: string): string {
  const base = `${encodeURIComponent(identity)}:${kind}`;
  return id === undefined ? base : `${base}:${id}`;
}
