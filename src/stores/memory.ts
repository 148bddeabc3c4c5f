import type {
  EndedSession, NewSession, RefreshOutcome, RefreshUse, RevocationStore, RevokedAll, StartedSession, StoredSession, StoredToken,
  TokenRevocation, TokenStatus,
} from './store';

/** Options of {@link MemoryRevocationStore}. */
export interface MemoryRevocationStoreOptions {
  /** Most sessions and revoked-token marks held at once, over all identities. Default 100 000. */
  maxEntries?: number;
}

/**
 * The embedded store: one process, no server, answers without waiting. Every
 * identity's data is kept together and bounded (its sessions and its
 * revoked-token marks, by the manager's `maxSessionsPerIdentity`; one cut-off).
 * The whole store holds at most `maxEntries` sessions and marks: when full, the
 * least recently used session ends (its tokens are refused: a logout, never an
 * un-revocation) and a write is never refused. Expired data is dropped as it
 * is met and by a sweep that visits a few identities per write.
 */
export class MemoryRevocationStore implements RevocationStore {
  private readonly identities = new Map<string, IdentityState>();
  // Every session, least recently used first: what a full store ends first.
  private readonly byLastUse = new Set<SessionState>();
  private readonly maxEntries: number;
  private entries = 0;
  private sweepCursor?: Iterator<IdentityState>;

  constructor(options: MemoryRevocationStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('MemoryRevocationStore: `maxEntries` must be a positive integer');
  }

  /** Sessions and revoked-token marks held now (expired ones included until they are met). */
  get size(): number {
    return this.entries;
  }

  status(token: StoredToken): TokenStatus {
    const state = this.identities.get(token.identity);
    if (!state) return token.family === undefined ? 'active' : 'revoked';
    const now = Date.now();
    if (token.jti !== undefined && state.revoked.size > 0 && (state.revoked.get(token.jti) ?? 0) > now) return 'revoked';
    let generation = token.generation;
    if (token.family !== undefined) {
      const session = state.sessions.get(token.family);
      if (!session || session.expires <= now) return 'revoked';
      if (session.generation > generation) generation = session.generation;
    }
    return generation < state.cutoff && state.cutoffExpires > now ? 'revoked' : 'active';
  }

  useRefreshToken(token: StoredToken, use: RefreshUse): RefreshOutcome {
    if (this.status(token) === 'revoked') return 'revoked';
    if (token.family === undefined) return 'active';
    const state = this.identities.get(token.identity)!;
    const session = state.sessions.get(token.family)!;
    const now = Date.now();
    let outcome: RefreshOutcome = 'active';
    if (session.expiresAt !== undefined && now >= session.expiresAt) outcome = 'expired';
    else if (use.idleTimeout !== undefined && now - session.lastUsedAt > use.idleTimeout) outcome = 'idle';
    else if (use.rotation && token.jti !== session.current) {
      if (token.jti === session.previous && now - session.previousAt <= use.grace) return 'concurrent';
      outcome = 'reused';
    }
    if (outcome !== 'active') {
      this.removeSession(state, session);
      return outcome;
    }
    if (use.rotation) {
      session.previous = token.jti;
      session.previousAt = now;
      session.current = undefined;
    }
    session.lastUsedAt = now;
    this.byLastUse.delete(session);
    this.byLastUse.add(session);
    return 'active';
  }

  startSession(identity: string, fresh: NewSession): StartedSession {
    const now = Date.now();
    const state = this.stateOf(identity, now);
    const evicted: EndedSession[] = [];
    for (const oldest of state.sessions.values()) {
      if (state.sessions.size < fresh.maxPerIdentity) break;
      this.removeSession(state, oldest);
      evicted.push({ identity, id: oldest.id });
    }
    evicted.push(...this.makeRoom(state));
    const generation = cutoffOf(state, now);
    const session: SessionState = {
      identity, id: fresh.id, createdAt: now, lastUsedAt: now, expiresAt: fresh.maxAge === undefined ? undefined : now + fresh.maxAge,
      metadata: fresh.metadata, generation, current: fresh.refreshJti, previous: undefined, previousAt: 0, expires: expiresAt(now, fresh.ttl),
    };
    state.sessions.set(session.id, session);
    this.byLastUse.add(session);
    this.entries++;
    return { generation, evicted };
  }

  rotated(identity: string, sessionId: string, jti: string, ttl: number | undefined): boolean {
    const now = Date.now();
    const session = this.identities.get(identity)?.sessions.get(sessionId);
    if (!session || session.expires <= now) return false;
    session.current = jti;
    session.expires = Math.max(session.expires, expiresAt(now, ttl));
    return true;
  }

  endSession(identity: string, sessionId: string): boolean {
    const state = this.identities.get(identity);
    const session = state?.sessions.get(sessionId);
    if (!state || !session) return false;
    this.removeSession(state, session);
    return session.expires > Date.now();
  }

  revokeToken(identity: string, jti: string, limits: TokenRevocation): RevokedAll | undefined {
    const now = Date.now();
    const state = this.stateOf(identity, now);
    const expires = expiresAt(now, limits.ttl);
    if (state.revoked.has(jti)) {
      state.revoked.set(jti, Math.max(expires, state.revoked.get(jti)!));
      return undefined;
    }
    // Beyond the bound the marks become one cut-off: nothing revoked comes back, the identity's own sessions end.
    if (state.revoked.size >= limits.maxPerIdentity) return this.revokeAll(identity, Math.max(limits.cutoffTtl ?? Infinity, expires - now));
    this.makeRoom(state);
    state.revoked.set(jti, expires);
    this.entries++;
    return undefined;
  }

  revokeAll(identity: string, ttl: number | undefined, except?: string): RevokedAll {
    const now = Date.now();
    const state = this.stateOf(identity, now);
    // Strictly after every generation handed out so far, also once an earlier cut-off expired.
    const generation = Math.max(cutoffOf(state, now) + 1, now);
    let expires = Math.max(expiresAt(now, ttl), state.horizon);
    // The marks it replaces may protect tokens that outlive the configured lifetimes.
    for (const markExpires of state.revoked.values()) expires = Math.max(expires, markExpires);
    state.cutoff = generation;
    state.cutoffExpires = Math.max(expires, state.cutoffExpires);
    this.entries -= state.revoked.size;
    state.revoked.clear();
    const ended: string[] = [];
    for (const session of [...state.sessions.values()]) {
      if (session.id === except) session.generation = generation;
      else {
        this.removeSession(state, session);
        if (session.expires > now) ended.push(session.id);
      }
    }
    return { generation, ended };
  }

  generation(identity: string): number {
    const state = this.identities.get(identity);
    return state ? cutoffOf(state, Date.now()) : 0;
  }

  extendHorizon(identity: string, ttl: number | undefined): void {
    const now = Date.now();
    const state = this.stateOf(identity, now);
    state.horizon = Math.max(state.horizon, expiresAt(now, ttl));
  }

  sessions(identity: string): StoredSession[] {
    const state = this.identities.get(identity);
    if (!state) return [];
    this.purge(state, Date.now());
    return [...state.sessions.values()].map(({ id, createdAt, lastUsedAt, expiresAt: end, metadata }) => ({ id, createdAt, lastUsedAt, expiresAt: end, metadata }));
  }

  /** The identity's state, created when missing, its expired data dropped; a few other identities are swept too. */
  private stateOf(identity: string, now: number): IdentityState {
    this.sweepSome(now);
    const held = this.identities.get(identity);
    // Purging drops an identity left with nothing; what is written next belongs in a state the map holds.
    if (held) this.purge(held, now);
    let state = this.identities.get(identity);
    if (!state) {
      state = { identity, cutoff: 0, cutoffExpires: 0, horizon: 0, revoked: new Map(), sessions: new Map() };
      this.identities.set(identity, state);
    }
    return state;
  }

  /** At a full store, ends the least recently used sessions until one entry fits (the writer's own marks collapse when no session is left). */
  private makeRoom(writer: IdentityState): EndedSession[] {
    const ended: EndedSession[] = [];
    const now = Date.now();
    while (this.entries >= this.maxEntries) {
      const session = this.byLastUse.values().next().value;
      if (session) {
        this.removeSession(this.identities.get(session.identity)!, session);
        if (session.expires > now) ended.push({ identity: session.identity, id: session.id });
      } else {
        // Only marks are left: the writer's (or, without any, another identity's) become a cut-off.
        const owner = writer.revoked.size > 0 ? writer : [...this.identities.values()].find((state) => state.revoked.size > 0)!;
        this.revokeAll(owner.identity, 0);
      }
    }
    return ended;
  }

  private removeSession(state: IdentityState, session: SessionState): void {
    if (state.sessions.delete(session.id)) this.entries--;
    this.byLastUse.delete(session);
  }

  /** Drops what has expired of one identity, and the identity when nothing is left. */
  private purge(state: IdentityState, now: number): void {
    for (const [jti, expires] of state.revoked) {
      if (expires > now) continue;
      state.revoked.delete(jti);
      this.entries--;
    }
    for (const session of state.sessions.values()) if (session.expires <= now) this.removeSession(state, session);
    if (state.cutoffExpires <= now) state.cutoff = 0;
    if (state.revoked.size === 0 && state.sessions.size === 0 && state.cutoff === 0 && state.horizon <= now) this.identities.delete(state.identity);
  }

  /** Visits two identities per write, so data of identities never seen again is dropped too, without a scan of the whole store. */
  private sweepSome(now: number): void {
    for (let visited = 0; visited < 2; visited++) {
      this.sweepCursor ??= this.identities.values();
      const next = this.sweepCursor.next();
      if (next.done) {
        this.sweepCursor = undefined;
        return;
      }
      this.purge(next.value, now);
    }
  }
}

interface IdentityState {
  readonly identity: string;
  /** Tokens with a generation below it are revoked, while it lives. */
  cutoff: number;
  cutoffExpires: number;
  /** Until when the identity's next cut-off must live (a long-lived token outside sessions). */
  horizon: number;
  /** Revoked jti → when the mark expires. */
  readonly revoked: Map<string, number>;
  /** Sessions by id, oldest first. */
  readonly sessions: Map<string, SessionState>;
}

interface SessionState {
  readonly identity: string;
  readonly id: string;
  readonly createdAt: number;
  lastUsedAt: number;
  readonly expiresAt: number | undefined;
  readonly metadata: string;
  /** The generation its tokens count as having (raised when a wholesale revocation spares this session). */
  generation: number;
  /** Rotation: the refresh token the next use must present; `undefined` between a use and its rotation. */
  current: string | undefined;
  /** The refresh token used last, and when: a second use within the grace interval is a race, not reuse. */
  previous: string | undefined;
  previousAt: number;
  /** When the record (and so every token of the session) expires. */
  expires: number;
}

function cutoffOf(state: IdentityState, now: number): number {
  return state.cutoffExpires > now ? state.cutoff : 0;
}

function expiresAt(now: number, ttl: number | undefined): number {
  return ttl === undefined ? Infinity : now + ttl;
}
