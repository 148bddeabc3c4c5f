/**
 * Where revocations live. Implementations answer every question a request asks
 * in one round trip, and give each entry the lifetime of what it revokes.
 * Times to live are in milliseconds; `undefined` means "no expiry" (tokens without `exp`).
 * An in-process store may answer synchronously; a promise is bounded in time.
 */
export interface RevocationStore {
  /**
   * The state of one token: revoked by its `jti`, by its family, or by a cut-off
   * of its identity (its `generation` is older than the identity's). With
   * `consume`, a refresh token is also used up, atomically: the first use is
   * `active`, a second use within the grace interval `concurrent`, a later one
   * `reused` (and the store revokes the token's family).
   */
  status(token: StoredToken, consume?: ConsumeOptions): TokenStatus | Promise<TokenStatus>;
  /** Revokes one token by its `jti`. */
  revokeToken(identity: string, jti: string, ttl: number | undefined): void | Promise<void>;
  /** Revokes every token of a refresh-token family. */
  revokeFamily(identity: string, family: string, ttl: number | undefined): void | Promise<void>;
  /** Revokes every token of `identity` issued so far: its generation moves on. */
  revokeAll(identity: string, ttl: number | undefined): void | Promise<void>;
  /** The identity's current generation (0 until `revokeAll`), stamped into new tokens. */
  generation(identity: string): number | Promise<number>;
}

/** What a store needs to know of a token. */
export interface StoredToken {
  readonly identity: string;
  readonly jti?: string;
  /** Refresh-token family (rotation). */
  readonly family?: string;
  /** The identity's generation when the token was issued. */
  readonly generation: number;
}

/** How to use up a refresh token. */
export interface ConsumeOptions {
  /** How long to remember the use: the token's remaining life. */
  readonly ttl: number | undefined;
  /** A second use within this many milliseconds is `concurrent`, not reuse. */
  readonly grace: number;
  /** How long a family revoked for reuse stays revoked: the longest life of its tokens. */
  readonly familyTtl: number | undefined;
}

/** A token's state in the store. */
export type TokenStatus = 'active' | 'revoked' | 'concurrent' | 'reused';
