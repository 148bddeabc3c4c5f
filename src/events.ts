/** The request an event happened in, when there is one. */
export interface EventRequest {
  readonly method: string;
  readonly path: string;
  readonly ip: string | undefined;
}

/** What every event carries. */
export interface JwtEventBase {
  readonly identity: string;
  /** The session (token family), when the token has one. */
  readonly sessionId: string | undefined;
  readonly request: EventRequest | undefined;
}

/** Why a session ended. */
export type SessionEndReason = 'revoked' | 'expired' | 'idle' | 'maxAge' | 'evicted';

/** Every event `jwt.on` can listen to, and what its listener receives. */
export interface JwtEvents {
  /** A session started (`createTokenPair`). */
  login: JwtEventBase & { readonly metadata: SessionMetadata };
  /** A refresh token of a session was used on a refresh route. */
  refresh: JwtEventBase;
  /** The app ended a session or revoked a token (`revokeSession`, `revokeFamily`, `revokeToken`, `revokeAllTokensFor`). */
  logout: JwtEventBase;
  /** A session ended, and why. */
  sessionEnded: JwtEventBase & { readonly reason: SessionEndReason };
  /** A used refresh token came back after the grace interval: its session was ended. */
  reuseDetected: JwtEventBase;
  /** A revoked token was presented. */
  revokedTokenUsed: JwtEventBase;
  /** The revocation store did not answer; the request failed closed (or open, with `revocationFailOpen`). */
  storeUnavailable: { readonly identity: string | undefined; readonly sessionId: string | undefined; readonly request: EventRequest | undefined };
}

/** The name of an event. */
export type JwtEventName = keyof JwtEvents;

/** A listener of one event. */
export type JwtEventListener<E extends JwtEventName> = (event: JwtEvents[E]) => void | Promise<void>;

/** The app's metadata of a session: flat, short values (user agent, IP, a label). */
export type SessionMetadata = Readonly<Record<string, string | number | boolean | null>>;

/**
 * The listeners of one manager. A listener that throws (or rejects) never
 * breaks the request it is told about: its error goes to `onListenerError`
 * (the manager's `onCallbackError`).
 */
export class JwtEventEmitter {
  private readonly listeners = new Map<JwtEventName, Array<(event: never) => void | Promise<void>>>();

  constructor(private readonly onListenerError: (error: unknown, event: JwtEventName) => void) {}

  on<E extends JwtEventName>(event: E, listener: JwtEventListener<E>): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as (event: never) => void | Promise<void>);
    this.listeners.set(event, list);
  }

  off<E extends JwtEventName>(event: E, listener: JwtEventListener<E>): void {
    const list = this.listeners.get(event)?.filter((registered) => registered !== listener);
    if (list?.length) this.listeners.set(event, list);
    else this.listeners.delete(event);
  }

  /** Whether anyone listens, so events nobody hears cost nothing to build. */
  has(event: JwtEventName): boolean {
    return (this.listeners.get(event)?.length ?? 0) > 0;
  }

  /** Whether anyone listens to any event. */
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  emit<E extends JwtEventName>(event: E, data: JwtEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        const result = (listener as JwtEventListener<E>)(data);
        if (result && typeof result.then === 'function') result.then(undefined, (error: unknown) => this.report(error, event));
      } catch (error) {
        this.report(error, event);
      }
    }
  }

  private report(error: unknown, event: JwtEventName): void {
    try {
      this.onListenerError(error, event);
    } catch {
      // The error hook itself failed: nothing left to tell, and the request goes on.
    }
  }
}
