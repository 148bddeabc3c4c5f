/** Milliseconds since the epoch; injectable, so tests move time by hand instead of sleeping. */
export type Clock = () => number;

/** Limits of {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failed logins of one account, from any client, within `windowMs` before the account's logins are refused. Default 5. */
  perAccount?: number;
  /** Failed logins from one client (IP), whatever the accounts, within `windowMs` before its logins are refused. Default 20. */
  perClient?: number;
  /** How long a count lives, from its first failure, in milliseconds. Default 15 minutes. */
  windowMs?: number;
  /** The most accounts, and the most clients, counted at once; beyond it the oldest count is dropped. Default 10 000. */
  maxKeys?: number;
  /** Default `Date.now`. */
  clock?: Clock;
}

/** A login attempt the throttle let through: counted as failed until {@link succeeded} says otherwise. */
export interface LoginAttempt {
  /** The password was right: takes back this attempt's count, and only this one's. */
  succeeded(): void;
}

/**
 * Failed logins counted per account and per client, refused over either limit
 * with the seconds until the oldest count expires: guessing one account's
 * password from many clients, and many accounts' from one client, both stop.
 *
 * An attempt counts from the moment it starts, before the (slow) password check,
 * so a burst of concurrent guesses is counted as such, not all let through at
 * once. A right password takes back its own attempt and nothing else: a success
 * never resets a count, or an attacker with one account of their own could log
 * into it between guesses at others' and never reach the per-client limit.
 */
export class LoginThrottle {
  private readonly accounts: WindowCounter;
  private readonly clients: WindowCounter;

  constructor(options: LoginThrottleOptions = {}) {
    const { windowMs = 15 * 60_000, maxKeys = 10_000, clock = Date.now } = options;
    this.accounts = new WindowCounter(options.perAccount ?? 5, windowMs, maxKeys, clock);
    this.clients = new WindowCounter(options.perClient ?? 20, windowMs, maxKeys, clock);
  }

  /**
   * Starts a login attempt of `account` from `client`: the seconds to wait
   * while either is over its limit (the attempt is not counted), else the
   * attempt, counted as a failure.
   */
  begin(account: string, client: string): LoginAttempt | { retryAfter: number } {
    const wait = Math.max(this.accounts.wait(account), this.clients.wait(client));
    if (wait > 0) return { retryAfter: Math.ceil(wait / 1000) };
    const counted = [this.accounts.add(account), this.clients.add(client)];
    return { succeeded: () => counted.forEach((entry) => { entry.count--; }) };
  }
}

/** A count and when it lapses. */
interface Entry {
  count: number;
  readonly endsAt: number;
}

/**
 * Fixed-window counts by key, in bounded memory: every window is as long, so
 * the Map's insertion order is the order in which entries lapse; lapsed ones
 * are dropped from the front as new keys come, and at `maxKeys` the oldest goes.
 */
class WindowCounter {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly maxKeys: number, private readonly clock: Clock) {}

  /** Milliseconds until `key` is under its limit again; 0 when it is now. */
  wait(key: string): number {
    const entry = this.live(key);
    return entry !== undefined && entry.count >= this.limit ? entry.endsAt - this.clock() : 0;
  }

  /** Counts one more for `key`; the entry, for taking it back. */
  add(key: string): Entry {
    let entry = this.live(key);
    if (entry === undefined) {
      const now = this.clock();
      for (const [oldest, { endsAt }] of this.entries) {
        if (endsAt > now && this.entries.size < this.maxKeys) break;
        this.entries.delete(oldest);
      }
      entry = { count: 0, endsAt: now + this.windowMs };
      this.entries.set(key, entry);
    }
    entry.count++;
    return entry;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.endsAt > this.clock()) return entry;
    this.entries.delete(key);
    return undefined;
  }
}
