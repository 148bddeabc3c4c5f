/**
 * Where revocations and sessions live. Everything an identity has in a store
 * (its sessions, its revoked-token marks, its cut-off) is kept together and
 * bounded per identity, so no user can grow the store for everyone.
 *
 * Times to live are milliseconds decided by the library (see `Lifetimes` in
 * revocation.ts); `undefined` means "no expiry" (tokens without `exp`). An
 * in-process store may answer synchronously; a promise is bounded in time.
 *
 * A store that cannot answer (connection lost, out of memory) throws or rejects
 * with a {@link RevocationStoreError}; the request then fails closed (503). Any
 * other error is a bug, never taken for "store unavailable", never failed open.
 */
export interface RevocationStore {
  /**
   * The hot path, one round trip: a token is revoked when its `jti` is, when it
   * belongs to a session that no longer exists or is past its limits (its
   * absolute end, its idle timeout: see {@link sessionAlive}), or when it is
   * older than the identity's cut-off (its generation, or its session's, is below it).
   */
  status(token: StoredToken): TokenStatus | Promise<TokenStatus>;
  /**
   * A refresh token presented on a refresh route (or a session's access token
   * renewed), one atomic step, one round trip: `status`'s checks, then the
   * session's limits (past its absolute end: `expired`; past its idle timeout:
   * `idle`; both end it), and under rotation the use of the token: the
   * session's current refresh token is `active` (and becomes the one last used),
   * the one last used within the grace interval is `concurrent`, any other is
   * `reused` and ends the session. An `active` use records the session's last
   * use and answers the session's absolute end.
   *
   * A token outside any session under rotation is used up by marking its `jti`
   * (as {@link revokeToken} does, with `use.mark`): the first use is `active`,
   * a later one within the grace interval `concurrent`, any other `reused`
   * (and a token revoked before, `revoked`).
   */
  useRefreshToken(token: StoredToken, use: RefreshUse): SessionUse | Promise<SessionUse>;
  /**
   * Starts a session of `identity`; beyond `maxPerIdentity` the oldest ones end.
   * Answers the generation to stamp into the session's tokens and what ended.
   */
  startSession(identity: string, session: NewSession): StartedSession | Promise<StartedSession>;
  /**
   * Records the refresh token that succeeds a rotation (`jti`) and extends the
   * session's record to `ttl`. Answers the session's absolute end, or
   * `undefined` when the session has ended meanwhile or is past its limits
   * ({@link sessionAlive}).
   */
  rotated(identity: string, sessionId: string, jti: string, ttl: number | undefined): SessionEnd | undefined | Promise<SessionEnd | undefined>;
  /** Ends one session: every token of it is refused from now on. `false` when it did not exist. */
  endSession(identity: string, sessionId: string): boolean | Promise<boolean>;
  /**
   * Revokes one token by its `jti` for `ttl`. An identity holds at most `maxPerIdentity`
   * such marks: beyond that they collapse into a cut-off (every token of the
   * identity issued so far is refused, its sessions end), never forgotten.
   */
  revokeToken(identity: string, jti: string, limits: TokenRevocation): RevokedAll | undefined | Promise<RevokedAll | undefined>;
  /**
   * Moves the identity's cut-off past every token issued so far and ends its
   * sessions, but `except` (whose tokens stay valid). The cut-off only grows
   * (monotonic, also once an earlier one has expired) and lives `ttl`, at least as
   * long as the identity's horizon.
   */
  revokeAll(identity: string, ttl: number | undefined, except?: string): RevokedAll | Promise<RevokedAll>;
  /** The identity's cut-off now (0 when none), stamped into new tokens as `gen`. */
  generation(identity: string): number | Promise<number>;
  /**
   * A token outside any session that lives longer than the configured lifetimes
   * (a "remember me" `expiresIn`) was issued: the identity's next cut-off must
   * live at least `ttl` (`undefined`: for ever).
   */
  extendHorizon(identity: string, ttl: number | undefined): void | Promise<void>;
  /** The identity's sessions that still exist, oldest first. */
  sessions(identity: string): StoredSession[] | Promise<StoredSession[]>;
}

/** What a store needs to know of a token. */
export interface StoredToken {
  readonly identity: string;
  readonly jti?: string;
  /** The session (token family) the token belongs to. */
  readonly family?: string;
  /** The identity's cut-off when the token (or its session) was issued. */
  readonly generation: number;
}

/** How a refresh token is used on a refresh route. */
export interface RefreshUse {
  /** Rotation: use the token up, detect reuse. */
  readonly rotation: boolean;
  /** A second use less than this many milliseconds after the first is `concurrent`, not reuse (0: never). */
  readonly grace: number;
  /** How long the mark that uses up a token outside sessions lives, as for {@link RevocationStore.revokeToken}. */
  readonly mark: TokenRevocation;
}

/** What a refresh token's use did, and, when `active` in a session, when that session ends at the latest. */
export interface SessionUse extends SessionEnd {
  readonly outcome: RefreshOutcome;
}

/** A session's absolute end, in milliseconds since the epoch (the store's clock); `undefined`: none. */
export interface SessionEnd {
  readonly expiresAt: number | undefined;
}

/** The state of a token on the hot path. */
export type TokenStatus = 'active' | 'revoked';

/**
 * A refresh token's use: `expired` (the session is past its absolute end) and
 * `idle` (not used within the idle timeout) end the session as `reused` does.
 */
export type RefreshOutcome = TokenStatus | 'concurrent' | 'reused' | 'expired' | 'idle';

/** A session to start. */
export interface NewSession {
  readonly id: string;
  /** The jti of the session's first refresh token (rotation uses it up). */
  readonly refreshJti: string;
  /** Milliseconds from now the session may last at most; `undefined`: no limit. */
  readonly maxAge: number | undefined;
  /** Milliseconds the session may go without a use (a refresh, a renewal); `undefined`: no limit. */
  readonly idleTimeout: number | undefined;
  /** How long the record must live: its longest-lived token's acceptance. */
  readonly ttl: number | undefined;
  /** The app's metadata, already checked and serialised as JSON. */
  readonly metadata: string;
  readonly maxPerIdentity: number;
}

/** How long a revoked-token mark lives, and what happens beyond the identity's bound. */
export interface TokenRevocation {
  /** The token's acceptance left: until its `exp` plus the leeway. */
  readonly ttl: number | undefined;
  readonly maxPerIdentity: number;
  /** The cut-off's time to live when the marks collapse into one. */
  readonly cutoffTtl: number | undefined;
}

/** A session that ended. */
export interface EndedSession {
  readonly identity: string;
  readonly id: string;
}

/** What starting a session did. */
export interface StartedSession {
  readonly generation: number;
  /** Sessions that ended to make room (oldest first): the identity's beyond its bound, or a full store's least recently used. */
  readonly evicted: readonly EndedSession[];
}

/** What a wholesale revocation did. */
export interface RevokedAll {
  readonly generation: number;
  /** The identity's sessions it ended. */
  readonly ended: readonly string[];
}

/** A session as the store holds it; times in milliseconds since the epoch (the store's clock). */
export interface StoredSession {
  readonly id: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  /** The absolute end; `undefined`: none. */
  readonly expiresAt: number | undefined;
  /** Milliseconds it may go without a use; `undefined`: no limit. */
  readonly idleTimeout: number | undefined;
  /** The app's metadata as JSON. */
  readonly metadata: string;
}

/**
 * Whether a session is within its limits at `now`: before its absolute end and
 * used within its idle timeout. Every store, and the listing, decide with it,
 * so a session `jwt.sessions()` no longer lists has no token that works.
 */
export function sessionAlive(session: Pick<StoredSession, 'lastUsedAt' | 'expiresAt' | 'idleTimeout'>, now: number): boolean {
  return (session.expiresAt === undefined || now < session.expiresAt)
    && (session.idleTimeout === undefined || now - session.lastUsedAt <= session.idleTimeout);
}

/**
 * The store could not answer (connection lost, timeout, out of memory): the
 * request fails closed with 503. Custom stores reject with it; anything else
 * they throw counts as a bug.
 */
export class RevocationStoreError extends Error {
  constructor(message = 'revocation store unavailable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RevocationStoreError';
  }
}
