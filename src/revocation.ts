import type { JwtClaims, TokenType } from './claims';
import {
  ConcurrentRefreshError, JwtError, RefreshTokenReuseError, RevokedTokenError, StoreUnavailableError,
} from './errors';
import { Deadlines } from './deadline';
import type { ConsumeOptions, RevocationStore, StoredToken } from './stores/store';

/** How revocation behaves; part of the resolved configuration. */
export interface RevocationSettings {
  readonly store: RevocationStore;
  /** Token types whose revocation is checked on every request. */
  readonly checks: readonly TokenType[];
  readonly rotation: boolean;
  /** Milliseconds. */
  readonly gracePeriod: number;
  /** Milliseconds a store call may take before the request fails closed. */
  readonly timeout: number;
  readonly failOpen: boolean;
  /** Seconds, or `false`: how long the longest token of each type lives. */
  readonly accessLifetime: number | false;
  readonly refreshLifetime: number | false;
}

/**
 * The library's side of revocation: which tokens to ask the store about, how a
 * rotating refresh token is used up, and what the answer means for the request.
 * Every store call is bounded in time; a store that cannot answer fails the
 * request closed (503), unless the app chose `revocationFailOpen`.
 */
export class Revocation {
  private readonly deadlines: Deadlines;

  constructor(private readonly settings: RevocationSettings, private readonly identityClaim: string) {
    this.deadlines = new Deadlines(settings.timeout, () => new StoreUnavailableError());
  }

  /** Whether refresh tokens rotate (and so carry a family). */
  get rotates(): boolean {
    return this.settings.rotation;
  }

  /**
   * Refuses a revoked token; on a refresh route under rotation, also uses the
   * refresh token up. One store round trip either way.
   */
  async check(claims: JwtClaims, route: { refresh: boolean; skip: boolean }): Promise<void> {
    const { settings } = this;
    const consume = settings.rotation && route.refresh && claims.type === 'refresh' && claims.jti !== undefined;
    if (!consume && (route.skip || !settings.checks.includes(claims.type))) return;
    const options: ConsumeOptions | undefined = consume
      ? { ttl: remainingLife(claims), grace: settings.gracePeriod, familyTtl: lifetimeMs(settings.refreshLifetime) }
      : undefined;
    const status = await this.settle(() => settings.store.status(this.storedToken(claims), options), 'active');
    if (status === 'revoked') throw new RevokedTokenError();
    if (status === 'reused') throw new RefreshTokenReuseError();
    if (status === 'concurrent') throw new ConcurrentRefreshError();
  }

  /** The generation to stamp into a new token of `identity` (0 until it was revoked wholesale). */
  generation(identity: string): Promise<number> {
    return this.settle(() => this.settings.store.generation(identity), 0);
  }

  /** Revokes one token until it would have expired. */
  async revokeToken(claims: JwtClaims): Promise<void> {
    if (typeof claims.jti !== 'string') throw new TypeError('revokeToken: the token has no `jti` to revoke it by');
    const ttl = remainingLife(claims);
    if (ttl !== undefined && ttl <= 0) return;
    await this.settle(() => this.settings.store.revokeToken(this.identityOf(claims), claims.jti as string, ttl));
  }

  /** Revokes every token of the token's refresh family (its session); without a family, the token alone. */
  async revokeFamily(claims: JwtClaims): Promise<void> {
    if (typeof claims.fam !== 'string') return this.revokeToken(claims);
    const family = claims.fam;
    await this.settle(() => this.settings.store.revokeFamily(this.identityOf(claims), family, lifetimeMs(this.settings.refreshLifetime)));
  }

  /** Revokes every token of `identity` issued until now. */
  async revokeAll(identity: string): Promise<void> {
    const { accessLifetime, refreshLifetime } = this.settings;
    const longest = accessLifetime === false || refreshLifetime === false ? undefined : Math.max(accessLifetime, refreshLifetime) * 1000;
    await this.settle(() => this.settings.store.revokeAll(identity, longest));
  }

  private storedToken(claims: JwtClaims): StoredToken {
    return {
      identity: this.identityOf(claims),
      jti: claims.jti,
      family: typeof claims.fam === 'string' ? claims.fam : undefined,
      generation: typeof claims.gen === 'number' ? claims.gen : 0,
    };
  }

  private identityOf(claims: JwtClaims): string {
    return claims[this.identityClaim] as string;
  }

  /**
   * A store call's answer: at once from a store that answers synchronously,
   * else within the timeout, or a `StoreUnavailableError`. With fail-open,
   * reads fall back to `failOpenValue`; writes always fail loudly: a revocation
   * must never be lost in silence.
   */
  private async settle<T>(call: () => T | Promise<T>, failOpenValue?: T): Promise<T> {
    let pending: Promise<T> | undefined;
    try {
      const answer = call();
      if (!isThenable(answer)) return answer;
      pending = Promise.resolve(answer);
      return await this.deadlines.within(pending);
    } catch (error) {
      if (error instanceof JwtError && !(error instanceof StoreUnavailableError)) throw error;
      pending?.catch(() => undefined); // a late rejection must not go unhandled
      if (this.settings.failOpen && failOpenValue !== undefined) return failOpenValue;
      throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError();
    }
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** Milliseconds until the token expires; `undefined` when it never does. */
function remainingLife(claims: JwtClaims): number | undefined {
  return typeof claims.exp === 'number' ? claims.exp * 1000 - Date.now() : undefined;
}

function lifetimeMs(seconds: number | false): number | undefined {
  return seconds === false ? undefined : seconds * 1000;
}
