import type { Clock } from './clock';
import type { StoredToken } from './stores/store';

/** How long a refresh token counts as in flight at most, whether or not its response was seen to end (ms). */
const LIFETIME = 10_000;
/** How many in-flight refresh tokens are kept per identity, and in all; beyond, the oldest are forgotten. */
const PER_IDENTITY = 8;
const IN_ALL = 10_000;

/**
 * The refresh tokens that requests of this process found unrevoked and are
 * still answering, by identity: the parents of a token an action mints without
 * naming one (`createAccessToken(identity)` in a refresh route). Bounded in
 * time and size, since a response's end is not always seen (a connection dropped
 * with pipelined requests queued): forgetting an entry only narrows the window
 * in which a racing revocation is caught, it never refuses anything.
 */
export class InFlightRefreshes {
  /** Identity → its tokens with the time each is forgotten; identities in order of their last addition. */
  private readonly byIdentity = new Map<string, Map<StoredToken, number>>();
  private size = 0;

  constructor(private readonly clock: Clock) {}

  /** Adds a token until `forget` is called or its lifetime ends. */
  add(token: StoredToken): () => void {
    const { identity } = token;
    const tokens = this.current(identity) ?? new Map<StoredToken, number>();
    // Most recently added identities last, so the first is the one to forget when full.
    this.byIdentity.delete(identity);
    if (tokens.size >= PER_IDENTITY) this.remove(tokens, tokens.keys().next().value!);
    while (this.size >= IN_ALL && this.byIdentity.size > 0) this.forgetOldestIdentity();
    tokens.set(token, this.clock.now() + LIFETIME);
    this.size++;
    this.byIdentity.set(identity, tokens);
    return () => {
      this.remove(tokens, token);
      if (tokens.size === 0 && this.byIdentity.get(identity) === tokens) this.byIdentity.delete(identity);
    };
  }

  /** The identity's tokens still in flight. */
  of(identity: string): StoredToken[] {
    return [...(this.current(identity)?.keys() ?? [])];
  }

  /** The identity's tokens, those past their lifetime dropped. */
  private current(identity: string): Map<StoredToken, number> | undefined {
    const tokens = this.byIdentity.get(identity);
    if (!tokens) return undefined;
    const now = this.clock.now();
    for (const [token, until] of tokens) if (until <= now) this.remove(tokens, token);
    if (tokens.size > 0) return tokens;
    this.byIdentity.delete(identity);
    return undefined;
  }

  private remove(tokens: Map<StoredToken, number>, token: StoredToken): void {
    if (tokens.delete(token)) this.size--;
  }

  private forgetOldestIdentity(): void {
    const [identity, tokens] = this.byIdentity.entries().next().value!;
    this.size -= tokens.size;
    // Cleared, so the forgetting of a token of it counts nothing twice.
    tokens.clear();
    this.byIdentity.delete(identity);
  }
}
