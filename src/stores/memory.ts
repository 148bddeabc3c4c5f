import { systemClock, type Clock } from '../clock';
import {
  sessionAlive, type EndedSession, type NewSession, type RefreshUse, type RevocationStore, type RevokedAll, type SessionEnd, type SessionUse,
  type StartedSession, type StoredSession, type StoredToken, type TokenRevocation, type TokenStatus,
} from './store';

/** Options of {@link MemoryRevocationStore}. */
export interface MemoryRevocationStoreOptions {
  /** Most sessions and revoked-token marks held at once, over all identities. Default 100 000. */
  maxEntries?: number;
  /**
   * Where the store reads the time (milliseconds since the epoch): when marks,
   * cut-offs and sessions expire. Default `Date`. The manager's default store
   * takes the manager's `clock`; give a store you construct the same one.
   */
  clock?: Clock;
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
  private readonly clock: Clock;

  constructor(options: MemoryRevocationStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.clock = options.clock ?? systemClock;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('MemoryRevocationStore: `maxEntries` must be a positive integer');
  }

  /** Sessions and revoked-token marks held now (expired ones included until they are met). */
  get size(): number {
    return this.entries;
  }

  status(token: StoredToken): TokenStatus {
    const state = this.identities.get(token.identity);
    if (!state) return token.family === undefined ? 'active' : 'revoked';
    const now = this.clock.now();
    const session = token.family === undefined ? undefined : state.sessions.get(token.family);
    if (session && !sessionAlive(session, now)) return 'revoked';
    return this.revoked(state, token, session, now) ? 'revoked' : 'active';
  }

  useRefreshToken(token: StoredToken, use: RefreshUse): SessionUse {
    if (token.family === undefined) return use.rotation && token.jti !== undefined ? this.useUp(token, token.jti, use) : this.outside(token);
    const now = this.clock.now();
    const state = this.identities.get(token.identity);
    const session = state?.sessions.get(token.family);
    if (!state || !session || this.revoked(state, token, session, now)) return ended('revoked');
    // Past its limits the session ends, with the reason.
    const outcome = session.expiresAt !== undefined && now >= session.expiresAt ? 'expired'
      : !sessionAlive(session, now) ? 'idle'
        : use.rotation && token.jti !== session.current
          ? (token.jti === session.previous && now - session.previousAt < use.grace ? 'concurrent' : 'reused')
          : 'active';
    if (outcome === 'concurrent') return ended(outcome);
    if (outcome !== 'active') {
      this.removeSession(state, session);
      return ended(outcome);
    }
    if (use.rotation) {
      session.previous = token.jti;
      session.previousAt = now;
      session.current = undefined;
    }
    session.lastUsedAt = now;
    this.byLastUse.delete(session);
    this.byLastUse.add(session);
    return { outcome: 'active', expiresAt: session.expiresAt };
  }

  /** Whether the token is revoked by its mark, its session's absence or the identity's cut-off (the session's limits aside). */
  private revoked(state: IdentityState, token: StoredToken, session: SessionState | undefined, now: number): boolean {
    if (token.jti !== undefined && state.revoked.size > 0 && (state.revoked.get(token.jti)?.expires ?? 0) > now) return true;
    let generation = token.generation;
    if (token.family !== undefined) {
      if (!session || session.expires <= now) return true;
      if (session.generation > generation) generation = session.generation;
    }
    return generation < state.cutoff && state.cutoffExpires > now;
  }

  /** A refresh token outside sessions without rotation: revoked or not. */
  private outside(token: StoredToken): SessionUse {
    return { outcome: this.status(token), expiresAt: undefined };
  }

  /** Uses up a refresh token outside sessions: its mark records when, so a second use is a race within the grace interval and reuse after it. */
  private useUp(token: StoredToken, jti: string, use: RefreshUse): SessionUse {
    const now = this.clock.now();
    const mark = this.identities.get(token.identity)?.revoked.get(jti);
    if (mark && mark.expires > now) {
      if (mark.usedAt === undefined) return ended('revoked');
      return ended(now - mark.usedAt < use.grace ? 'concurrent' : 'reused');
    }
    if (this.status(token) === 'revoked') return ended('revoked');
    this.mark(token.identity, jti, use.mark, now);
    return { outcome: 'active', expiresAt: undefined };
  }

  startSession(identity: string, fresh: NewSession): StartedSession {
    const now = this.clock.now();
    const state = this.stateOf(identity, now);
    // A session started again under its id (a token outside sessions rotated twice) replaces the old record.
    const replaced = state.sessions.get(fresh.id);
    if (replaced) this.removeSession(state, replaced);
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
      idleTimeout: fresh.idleTimeout, metadata: fresh.metadata, generation, current: fresh.refreshJti, previous: undefined, previousAt: 0, expires: expiresAt(now, fresh.ttl),
    };
    state.sessions.set(session.id, session);
    this.byLastUse.add(session);
    this.entries++;
    return { generation, evicted };
  }

  rotated(identity: string, sessionId: string, jti: string, ttl: number | undefined): SessionEnd | undefined {
    const now = this.clock.now();
    const session = this.identities.get(identity)?.sessions.get(sessionId);
    if (!session || session.expires <= now || !sessionAlive(session, now)) return undefined;
    session.current = jti;
    session.expires = Math.max(session.expires, expiresAt(now, ttl));
    return { expiresAt: session.expiresAt };
  }

  endSession(identity: string, sessionId: string): boolean {
    const state = this.identities.get(identity);
    const session = state?.sessions.get(sessionId);
    if (!state || !session) return false;
    this.removeSession(state, session);
    return session.expires > this.clock.now();
  }

  revokeToken(identity: string, jti: string, limits: TokenRevocation): RevokedAll | undefined {
    return this.mark(identity, jti, limits, undefined);
  }

  /** Marks `jti` revoked (`usedAt`: used up by a refresh at that time). */
  private mark(identity: string, jti: string, limits: TokenRevocation, usedAt: number | undefined): RevokedAll | undefined {
    const now = this.clock.now();
    const state = this.stateOf(identity, now);
    const expires = expiresAt(now, limits.ttl);
    const held = state.revoked.get(jti);
    if (held) {
      held.expires = Math.max(expires, held.expires);
      return undefined;
    }
    // Beyond the bound the marks become one cut-off: nothing revoked comes back, the identity's own sessions end.
    if (state.revoked.size >= limits.maxPerIdentity) return this.revokeAll(identity, Math.max(limits.cutoffTtl ?? Infinity, expires - now));
    this.makeRoom(state);
    state.revoked.set(jti, { expires, usedAt });
    this.entries++;
    return undefined;
  }

  revokeAll(identity: string, ttl: number | undefined, except?: string): RevokedAll {
    const now = this.clock.now();
    const state = this.stateOf(identity, now);
    // Strictly after every generation handed out so far, also once an earlier cut-off expired.
    const generation = Math.max(cutoffOf(state, now) + 1, now);
    let expires = Math.max(expiresAt(now, ttl), state.horizon);
    // The marks it replaces may protect tokens that outlive the configured lifetimes.
    for (const mark of state.revoked.values()) expires = Math.max(expires, mark.expires);
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
    return state ? cutoffOf(state, this.clock.now()) : 0;
  }

  extendHorizon(identity: string, ttl: number | undefined): void {
    const now = this.clock.now();
    const state = this.stateOf(identity, now);
    state.horizon = Math.max(state.horizon, expiresAt(now, ttl));
  }

  sessions(identity: string): StoredSession[] {
    const state = this.identities.get(identity);
    if (!state) return [];
    this.purge(state, this.clock.now());
    return [...state.sessions.values()].map(({ id, createdAt, lastUsedAt, expiresAt: end, idleTimeout, metadata }) => ({
      id, createdAt, lastUsedAt, expiresAt: end, idleTimeout, metadata,
    }));
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
    const now = this.clock.now();
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
    for (const [jti, { expires }] of state.revoked) {
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
  /** Revoked (or, under rotation, used-up) jti → its mark. */
  readonly revoked: Map<string, TokenMark>;
  /** Sessions by id, oldest first. */
  readonly sessions: Map<string, SessionState>;
}

interface TokenMark {
  /** When the mark expires. */
  expires: number;
  /** When a refresh used the token up; `undefined`: revoked. */
  readonly usedAt: number | undefined;
}

interface SessionState {
  readonly identity: string;
  readonly id: string;
  readonly createdAt: number;
  lastUsedAt: number;
  readonly expiresAt: number | undefined;
  readonly idleTimeout: number | undefined;
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

function ended(outcome: SessionUse['outcome']): SessionUse {
  return { outcome, expiresAt: undefined };
}

function cutoffOf(state: IdentityState, now: number): number {
  return state.cutoffExpires > now ? state.cutoff : 0;
}

function expiresAt(now: number, ttl: number | undefined): number {
  return ttl === undefined ? Infinity : now + ttl;
}
