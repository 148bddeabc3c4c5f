import type { JwtClaims, TokenType } from './claims';
import type { Clock } from './clock';
import {
  ConcurrentRefreshError, JwtDecodeError, JwtError, RefreshTokenReuseError, RevokedTokenError, SessionEndedError, StoreUnavailableError,
} from './errors';
import { Deadlines } from './deadline';
import { InFlightRefreshes } from './in-flight';
import type { RequestAdapter } from './request/adapter';
import type { EventRequest, JwtEventEmitter, JwtEventName, JwtEvents, SessionEndReason, SessionMetadata } from './events';
import type { EndedSession, RefreshUse, RevocationStore, RevokedAll, SessionUse, StoredSession, StoredToken, TokenRevocation, TokenStatus } from './stores/store';
import { RevocationStoreError, sessionAlive } from './stores/store';
import { isThenable } from './thenable';

/** How revocation and sessions behave; part of the resolved configuration. */
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
  readonly lifetimes: Lifetimes;
  /** Seconds from login a session lasts at most; `undefined`: its first refresh token's lifetime. */
  readonly sessionMaxAge: number | undefined;
  /** Milliseconds a session may go without a refresh; `undefined`: no limit. */
  readonly sessionIdleTimeout: number | undefined;
  /** Sessions, and revoked-token marks, one identity holds at most. */
  readonly maxSessionsPerIdentity: number;
  readonly clock: Clock;
}

/**
 * The one place that decides how long anything lives in the store. The rule:
 * an entry lives as long as the longest-lived token it concerns could still be
 * accepted — its own `exp` (whatever `expiresIn` it was minted with) plus the
 * `leeway`; a cut-off at least the configured lifetimes plus the leeway, and
 * longer when the identity holds longer-lived tokens (its horizon).
 */
export class Lifetimes {
  /** @param access, refresh: configured lifetimes in seconds (`false`: none); leeway in seconds. */
  constructor(
    private readonly access: number | false, private readonly refresh: number | false, private readonly leeway: number, private readonly clock: Clock,
  ) {}

  /** Milliseconds a token with this `exp` is still accepted; `undefined` when it never expires. */
  acceptance(exp: number | undefined): number | undefined {
    return exp === undefined ? undefined : (exp + this.leeway) * 1000 - this.clock.now();
  }

  /** How long a cut-off must live to outlive every token issued with the configured lifetimes. */
  cutoff(): number | undefined {
    if (this.access === false || this.refresh === false) return undefined;
    return (Math.max(this.access, this.refresh) + this.leeway) * 1000;
  }

  /** Whether a token with this `exp` outlives what {@link cutoff} covers, so the identity's horizon must grow. */
  outlivesCutoff(exp: number | undefined): boolean {
    const cutoff = this.cutoff();
    if (cutoff === undefined) return false;
    const acceptance = this.acceptance(exp);
    return acceptance === undefined || acceptance > cutoff;
  }

  /** A session without `sessionMaxAge` lasts as long as its first refresh token is accepted (seconds; `undefined`: for ever). */
  defaultSessionMaxAge(refreshLifetime: number | false): number | undefined {
    return refreshLifetime === false ? undefined : refreshLifetime + this.leeway;
  }

  /** A session record lives while any of its tokens (these `exp`s) is accepted. */
  session(exps: ReadonlyArray<number | undefined>): number | undefined {
    let longest = 0;
    for (const exp of exps) {
      const acceptance = this.acceptance(exp);
      if (acceptance === undefined) return undefined;
      longest = Math.max(longest, acceptance);
    }
    return longest;
  }
}

/** A session as `jwt.sessions(identity)` lists it. */
export interface SessionInfo {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  /** When the session ends at the latest (`sessionMaxAge`); `undefined`: no absolute end. */
  readonly expiresAt: Date | undefined;
  readonly metadata: SessionMetadata;
}

/** What a session starts with. */
export interface SessionStart {
  readonly identity: string;
  readonly id: string;
  readonly refreshJti: string;
  /** `exp` of the session's first tokens. */
  readonly exps: ReadonlyArray<number | undefined>;
  /** Seconds the first refresh token lives (`false`: no `exp`), the session's default maximum age. */
  readonly refreshLifetime: number | false;
  readonly metadata: SessionMetadata;
}

const MAX_METADATA_ENTRIES = 16;
const MAX_METADATA_STRING = 256;

/**
 * The library's side of revocation and sessions: which tokens to ask the store
 * about, how a refresh token is used, what the answer means for the request,
 * and the events it gives rise to. Every store call is bounded in time; a store
 * that cannot answer fails the request closed (503), unless the app chose
 * `revocationFailOpen` — which covers reads only: a write (a revocation, a
 * refresh token's use) never passes unrecorded.
 */
export class Revocation {
  private readonly deadlines: Deadlines;
  /** Refresh tokens that requests this process is still answering found unrevoked (see {@link parentsStillValid}). */
  private readonly inFlight: InFlightRefreshes;
  /** Identities whose renewal waits for its response (Express's implicit refresh), with their watches (see {@link watch}). */
  private readonly watched = new Map<string, Set<RevocationWatch>>();

  constructor(
    private readonly settings: RevocationSettings,
    private readonly identityClaim: string,
    private readonly events: JwtEventEmitter,
  ) {
    this.deadlines = new Deadlines(settings.timeout, () => new StoreUnavailableError());
    this.inFlight = new InFlightRefreshes(settings.clock);
  }

  /** Whether refresh tokens rotate. */
  get rotates(): boolean {
    return this.settings.rotation;
  }

  /** The configured lifetimes and leeway. */
  get lifetimes(): Lifetimes {
    return this.settings.lifetimes;
  }

  /**
   * Refuses a revoked token; on a refresh route, also uses the refresh token:
   * its session's limits, and under rotation its one use. One store round trip.
   */
  check<C extends object>(claims: JwtClaims, route: { refresh: boolean; skip: boolean }, adapter?: RequestAdapter<C>, ctx?: C): void | Promise<void> {
    const { settings } = this;
    // Described only for listeners, so a request nobody listens to allocates nothing for events.
    const describe = adapter?.describe;
    const request = describe && ctx && this.events.listening ? () => describe(ctx) : undefined;
    const family = typeof claims.fam === 'string' ? claims.fam : undefined;
    const refreshRoute = route.refresh && claims.type === 'refresh';
    // A refresh token that passed is remembered while its request runs (see parentsStillValid); one
    // used up by revoking it (rotation outside sessions) has no later status to go by.
    const passed = refreshRoute && adapter && ctx && !(settings.rotation && family === undefined)
      ? () => this.track(this.storedToken(claims), adapter, ctx) : undefined;
    const refreshUse = refreshRoute && (settings.rotation || (family !== undefined && !route.skip));
    if (refreshUse) {
      const used = this.useRefreshToken(claims, family, request);
      return passed ? used.then(passed) : used;
    }
    if (route.skip || !settings.checks.includes(claims.type)) return;
    // An in-process store's answer is used at once; a remote store's is awaited, bounded by the timeout.
    const status = this.settle(() => settings.store.status(this.storedToken(claims)), claims, request, 'active');
    if (!isThenable(status)) return this.refuseRevoked(status, claims, request, passed);
    return status.then((answer) => this.refuseRevoked(answer, claims, request, passed));
  }

  private refuseRevoked(status: TokenStatus, claims: JwtClaims, request: (() => EventRequest) | undefined, passed?: () => void): void {
    if (status === 'revoked') this.refuse(claims, request, new RevokedTokenError());
    passed?.();
  }

  /**
   * A refresh token presented to refresh, in one atomic store call: checked against its session's
   * limits, and under rotation used up (in its session, or by its mark outside one).
   */
  private async useRefreshToken(claims: JwtClaims, family: string | undefined, request: (() => EventRequest) | undefined): Promise<void> {
    if (family === undefined && typeof claims.jti !== 'string') throw new JwtDecodeError('Missing claim: jti');
    const use = await this.use(claims, this.settings.rotation, request);
    await this.answer(use, claims, family, request);
  }

  /** The store's one step for a refresh token's use (`rotation`), or a session access token's renewal (without). */
  private use(claims: JwtClaims, rotation: boolean, request?: () => EventRequest): SessionUse | Promise<SessionUse> {
    const use: RefreshUse = { rotation, grace: this.settings.gracePeriod, mark: this.markLimits(claims) };
    return this.settle(() => this.settings.store.useRefreshToken(this.storedToken(claims), use), claims, request);
  }

  /**
   * Before a token is renewed (implicit refresh): refuses one revoked by now (during the request,
   * say), and for a session's token uses the session (its limits checked, its last use recorded:
   * an active browser is not idle). Resolves to the latest `exp` (seconds) the renewal may carry.
   */
  async renewing(claims: JwtClaims): Promise<number | undefined> {
    const family = familyOf(claims);
    if (family === undefined) {
      if ((await this.settle(() => this.settings.store.status(this.storedToken(claims)), claims)) === 'revoked') throw new RevokedTokenError();
      return undefined;
    }
    const use = await this.use(claims, false);
    await this.answer(use, claims, family, undefined, false);
    return this.latestAccessExp(use.expiresAt);
  }

  /**
   * The latest `exp` (seconds) an access token of a session ending at
   * `expiresAt` (milliseconds; `undefined`: no absolute end) may carry, minted
   * now: neither past the session's end nor past its idle limit. (Refresh
   * tokens are not cut: presented past the end, the store answers that the
   * session expired, and says so to listeners.)
   */
  latestAccessExp(expiresAt: number | undefined): number | undefined {
    const idle = this.settings.sessionIdleTimeout;
    const end = Math.min(expiresAt ?? Infinity, idle === undefined ? Infinity : this.settings.clock.now() + idle);
    return end === Infinity ? undefined : Math.floor(end / 1000);
  }

  /** Remembers a refresh token this request found unrevoked until its response is done (or for a while at most). */
  private track<C>(token: StoredToken, adapter: RequestAdapter<C>, ctx: C): void {
    if (!adapter.whenDone) return;
    adapter.whenDone(ctx, this.inFlight.add(token));
  }

  /**
   * Refuses (401) to hand out a new token of `identity` made without a parent to
   * inherit from (`createAccessToken` in a refresh route, say) while a refresh
   * token of that identity which a request in this process found unrevoked has been
   * revoked since: a logout-everywhere that raced the refresh. Called once the new
   * token's generation is fixed (or its session started, which a refusal ends
   * again), so a revocation after this check covers the new token itself:
   * together, no token outlives a revocation its parent was subject to.
   */
  async parentsStillValid(identity: string, startedSession?: string): Promise<void> {
    for (const token of this.inFlight.of(identity)) {
      if ((await this.settle(() => this.settings.store.status(token), this.subject(identity, token.family))) !== 'revoked') continue;
      if (startedSession !== undefined) await this.settle(() => this.settings.store.endSession(identity, startedSession), this.subject(identity, startedSession));
      throw new RevokedTokenError();
    }
  }

  /** The generation to stamp into a new token of `identity` outside sessions (0 until it was revoked wholesale). */
  async generation(identity: string): Promise<number> {
    return this.settle(() => this.settings.store.generation(identity), this.subject(identity), undefined, 0);
  }

  /** A token outside sessions was issued: a long-lived one extends the identity's horizon. */
  async issued(identity: string, exp: number | undefined): Promise<void> {
    const { lifetimes } = this.settings;
    if (!lifetimes.outlivesCutoff(exp)) return;
    await this.settle(() => this.settings.store.extendHorizon(identity, lifetimes.acceptance(exp)), this.subject(identity));
  }

  /** Starts a session; resolves to the generation its tokens carry and its absolute end (milliseconds; `undefined`: none). */
  async startSession(start: SessionStart): Promise<{ generation: number; expiresAt: number | undefined }> {
    const { settings } = this;
    const maxAge = settings.sessionMaxAge ?? settings.lifetimes.defaultSessionMaxAge(start.refreshLifetime);
    const bounded = boundedMetadata(start.metadata);
    const startedAt = settings.clock.now();
    const started = await this.settle(() => settings.store.startSession(start.identity, {
      id: start.id, refreshJti: start.refreshJti, maxAge: maxAge === undefined ? undefined : maxAge * 1000, idleTimeout: settings.sessionIdleTimeout,
      ttl: settings.lifetimes.session(start.exps), metadata: JSON.stringify(bounded), maxPerIdentity: settings.maxSessionsPerIdentity,
    }), this.subject(start.identity, start.id));
    this.ended(started.evicted, 'evicted');
    this.emit('login', { identity: start.identity, sessionId: start.id, request: undefined, metadata: bounded });
    return { generation: started.generation, expiresAt: maxAge === undefined ? undefined : startedAt + maxAge * 1000 };
  }

  /**
   * Records the successor of a used refresh token; resolves to the session's
   * absolute end (milliseconds; `undefined`: none). Rejects with 401 when the
   * session ended meanwhile (logged out everywhere during the refresh): the new
   * tokens would be dead anyway.
   */
  async rotated(identity: string, sessionId: string, refreshJti: string, exps: ReadonlyArray<number | undefined>): Promise<number | undefined> {
    const ttl = this.settings.lifetimes.session(exps);
    const session = await this.settle(() => this.settings.store.rotated(identity, sessionId, refreshJti, ttl), this.subject(identity, sessionId));
    if (!session) throw new RevokedTokenError();
    return session.expiresAt;
  }

  /**
   * Watches what this process revokes of `identity` from now on, until `stop()`:
   * a renewal made before an action (Express) is sent only if `revoked()` is
   * still false when the response goes out. Bounded by the requests in flight.
   */
  watch(identity: string): { revoked(): boolean; stop(): void } {
    const watch: RevocationWatch = { revoked: false };
    const watches = this.watched.get(identity) ?? new Set<RevocationWatch>();
    this.watched.set(identity, watches.add(watch));
    return {
      revoked: () => watch.revoked,
      stop: () => {
        watches.delete(watch);
        if (watches.size === 0 && this.watched.get(identity) === watches) this.watched.delete(identity);
      },
    };
  }

  /** Something of `identity` is being revoked: every watch of it sees so. */
  private revoking(identity: string): void {
    for (const watch of this.watched.get(identity) ?? []) watch.revoked = true;
  }

  /** Revokes one token until it is no longer accepted (its `exp` plus the leeway). */
  async revokeToken(claims: JwtClaims): Promise<void> {
    if (typeof claims.jti !== 'string') throw new JwtDecodeError('Missing claim: jti (a token without one cannot be revoked alone)');
    const identity = this.identityOf(claims);
    this.revoking(identity);
    const limits = this.markLimits(claims);
    if (limits.ttl !== undefined && limits.ttl <= 0) return;
    const collapsed = await this.settle(() => this.settings.store.revokeToken(identity, claims.jti as string, limits), claims);
    this.emit('logout', { identity, sessionId: familyOf(claims), request: undefined });
    if (collapsed) this.ended(collapsed.ended.map((id) => ({ identity, id })), 'revoked');
  }

  /** Ends the token's session; a token outside sessions is revoked alone. */
  async revokeFamily(claims: JwtClaims): Promise<void> {
    const family = familyOf(claims);
    if (family === undefined) return this.revokeToken(claims);
    await this.endSession(this.identityOf(claims), family);
  }

  /** Ends one session of `identity`. */
  async endSession(identity: string, sessionId: string): Promise<void> {
    this.revoking(identity);
    const existed = await this.settle(() => this.settings.store.endSession(identity, sessionId), this.subject(identity, sessionId));
    this.emit('logout', { identity, sessionId, request: undefined });
    if (existed) this.ended([{ identity, id: sessionId }], 'revoked');
  }

  /** Revokes every token of `identity` issued until now, but those of the session `except`. */
  async revokeAll(identity: string, except?: string): Promise<void> {
    this.revoking(identity);
    const result: RevokedAll = await this.settle(() => this.settings.store.revokeAll(identity, this.settings.lifetimes.cutoff(), except), this.subject(identity));
    this.emit('logout', { identity, sessionId: undefined, request: undefined });
    this.ended(result.ended.map((id) => ({ identity, id })), 'revoked');
  }

  /** The identity's live sessions, newest first. */
  async sessions(identity: string): Promise<SessionInfo[]> {
    const stored: StoredSession[] = await this.settle(() => this.settings.store.sessions(identity), this.subject(identity));
    const now = this.settings.clock.now();
    // Newest first; stores list oldest first, so equal times keep that order reversed.
    return stored
      .map((session, index) => ({ session, index }))
      .filter(({ session }) => sessionAlive(session, now))
      .sort((a, b) => b.session.createdAt - a.session.createdAt || b.index - a.index)
      .map(({ session }) => ({
        id: session.id,
        createdAt: new Date(session.createdAt),
        lastUsedAt: new Date(session.lastUsedAt),
        expiresAt: session.expiresAt === undefined ? undefined : new Date(session.expiresAt),
        metadata: JSON.parse(session.metadata) as SessionMetadata,
      }));
  }

  /** How long a token's mark (revoked, or used up) lives, and the identity's bound on marks. */
  private markLimits(claims: JwtClaims): TokenRevocation {
    const { lifetimes, maxSessionsPerIdentity } = this.settings;
    return { ttl: lifetimes.acceptance(claims.exp), maxPerIdentity: maxSessionsPerIdentity, cutoffTtl: lifetimes.cutoff() };
  }

  /**
   * What a use means for the request. A refresh token outside sessions (`family`
   * undefined) that was used up before is reused like a session's: the session
   * its first use started ({@link successorSession}) ends.
   */
  private answer({ outcome }: SessionUse, claims: JwtClaims, family: string | undefined, request: (() => EventRequest) | undefined, refreshing = true): void | Promise<never> {
    const identity = this.identityOf(claims);
    switch (outcome) {
      case 'active':
        if (refreshing) this.emit('refresh', { identity, sessionId: family, request: this.describe(request, 'refresh') });
        return;
      case 'concurrent':
        throw new ConcurrentRefreshError();
      case 'revoked':
        return this.refuse(claims, request, new RevokedTokenError());
      case 'reused':
        return this.reused(claims, family, request);
      case 'expired': {
        const reason = this.settings.sessionMaxAge === undefined ? 'expired' : 'maxAge';
        this.ended([{ identity, id: family! }], reason, request);
        throw new SessionEndedError(reason);
      }
      case 'idle':
        this.ended([{ identity, id: family! }], 'idle', request);
        throw new SessionEndedError('idle');
    }
  }

  /**
   * Reuse of a used refresh token: the session it belongs to ends. Outside
   * sessions, the one its first use started ends; when there is none (yet:
   * that refresh is still running, or its route started none), every token of
   * the identity is revoked instead, since what the first use made cannot be told apart.
   */
  private async reused(claims: JwtClaims, family: string | undefined, request: (() => EventRequest) | undefined): Promise<never> {
    const identity = this.identityOf(claims);
    const sessionId = family ?? successorSession(claims.jti as string);
    this.revoking(identity);
    // In a session the store ended it with the answer.
    const ended = family !== undefined ? [sessionId] : await this.settle(async () => {
      if (await this.settings.store.endSession(identity, sessionId)) return [sessionId];
      return (await this.settings.store.revokeAll(identity, this.settings.lifetimes.cutoff())).ended;
    }, claims, request);
    this.emit('reuseDetected', { identity, sessionId, request: this.describe(request, 'reuseDetected') });
    this.ended(ended.map((id) => ({ identity, id })), 'revoked', request);
    throw new RefreshTokenReuseError();
  }

  /**
   * A session was started for a refresh token outside sessions (`claims`), at
   * the identity's cut-off `generation`: when that is above the token's own, the
   * token was revoked during its refresh (a logout-everywhere, or its reuse
   * detected meanwhile), and the session ends again (401).
   */
  async successorStarted(claims: JwtClaims, sessionId: string, generation: number): Promise<void> {
    if (generation <= (typeof claims.gen === 'number' ? claims.gen : 0)) return;
    const identity = this.identityOf(claims);
    await this.settle(() => this.settings.store.endSession(identity, sessionId), this.subject(identity, sessionId));
    throw new RevokedTokenError();
  }

  private refuse(claims: JwtClaims, request: (() => EventRequest) | undefined, error: JwtError): never {
    this.emit('revokedTokenUsed', { identity: this.identityOf(claims), sessionId: familyOf(claims), request: this.describe(request, 'revokedTokenUsed') });
    throw error;
  }

  private ended(sessions: readonly EndedSession[], reason: SessionEndReason, request?: () => EventRequest): void {
    for (const { identity, id } of sessions) {
      this.emit('sessionEnded', { identity, sessionId: id, request: this.describe(request, 'sessionEnded'), reason });
    }
  }

  private emit<E extends JwtEventName>(event: E, data: JwtEvents[E]): void {
    if (this.events.has(event)) this.events.emit(event, data);
  }

  /** The request, described only when someone listens to the event. */
  private describe(request: (() => EventRequest) | undefined, event: JwtEventName): EventRequest | undefined {
    return request && this.events.has(event) ? request() : undefined;
  }

  private storedToken(claims: JwtClaims): StoredToken {
    return {
      identity: this.identityOf(claims),
      jti: claims.jti,
      family: familyOf(claims),
      generation: typeof claims.gen === 'number' ? claims.gen : 0,
    };
  }

  /** What a store call outside a request concerns, in the shape a token's claims name it (its identity, its session): for the storeUnavailable event. */
  private subject(identity: string, sessionId?: string): StoreCallSubject {
    return { [this.identityClaim]: identity, fam: sessionId };
  }

  private identityOf(claims: JwtClaims): string {
    const identity = claims[this.identityClaim];
    if (typeof identity !== 'string') throw new JwtDecodeError('Invalid claim: the identity must be a string');
    return identity;
  }

  /**
   * A store call's answer: at once from a store that answers synchronously,
   * else within the timeout. Only the store's own failures (a
   * {@link RevocationStoreError}, or no answer in time) mean "store
   * unavailable": 503, or `failOpenValue` for reads with `revocationFailOpen`.
   * Anything else is a bug and is thrown as it is, never failed open.
   */
  private settle<T>(
    call: () => T | Promise<T>, claims?: StoreCallSubject, request?: () => EventRequest, failOpenValue?: T,
  ): T | Promise<T> {
    try {
      const answer = call();
      if (!isThenable(answer)) return answer;
      const pending = Promise.resolve(answer);
      return this.deadlines.within(pending).catch((error: unknown) => {
        pending.catch(() => undefined); // a late rejection must not go unhandled
        return this.unavailable(error, claims, request, failOpenValue);
      });
    } catch (error) {
      return this.unavailable(error, claims, request, failOpenValue);
    }
  }

  /** A store call that failed: our own errors pass; the store's count as unavailable (fail-open reads fall back). */
  private unavailable<T>(error: unknown, claims: StoreCallSubject | undefined, request: (() => EventRequest) | undefined, failOpenValue: T | undefined): T {
    if (!(error instanceof RevocationStoreError) && !(error instanceof StoreUnavailableError)) throw error;
    const identity = claims?.[this.identityClaim];
    this.emit('storeUnavailable', {
      identity: typeof identity === 'string' ? identity : undefined, sessionId: claims && familyOf(claims), request: this.describe(request, 'storeUnavailable'),
    });
    if (this.settings.failOpen && failOpenValue !== undefined) return failOpenValue;
    throw new StoreUnavailableError();
  }
}

/**
 * The session a refresh token outside sessions starts when it is rotated: named
 * after the token's `jti`, so that reuse of the token can end it without
 * anything else stored.
 */
export function successorSession(jti: string): string {
  return jti;
}

/** One renewal's view of the revocations this process makes. */
interface RevocationWatch {
  revoked: boolean;
}

/** What a store call concerns, read for events: a token's claims, or an identity and session in their place. */
type StoreCallSubject = Pick<JwtClaims, 'fam'> & Record<string, unknown>;

function familyOf(claims: StoreCallSubject): string | undefined {
  return typeof claims.fam === 'string' ? claims.fam : undefined;
}

/** At most 16 flat entries; strings (a user agent, say) cut to 256 characters, so a session's size is bounded. */
function boundedMetadata(metadata: SessionMetadata): SessionMetadata {
  const entries = Object.entries(metadata ?? {});
  if (entries.length > MAX_METADATA_ENTRIES) throw new TypeError(`session metadata: at most ${MAX_METADATA_ENTRIES} entries`);
  const bounded: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of entries) {
    if (key.length > MAX_METADATA_STRING) throw new TypeError('session metadata: keys are at most 256 characters');
    if (typeof value === 'string') bounded[key] = value.slice(0, MAX_METADATA_STRING);
    else if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) bounded[key] = value;
    else throw new TypeError(`session metadata: "${key}" must be a string, a finite number, a boolean or null`);
  }
  return bounded;
}

