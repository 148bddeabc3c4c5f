/**
 * Time limits for many concurrent calls without a timer each: one coarse,
 * unref'd ticker rejects whatever has overrun. A per-call `setTimeout` cost
 * more than the memory store's whole answer under load. Real time, not the
 * manager's clock: a limit bounds how long a request really waits for a store.
 */
export class Deadlines {
  private readonly pending = new Set<{ deadline: number; reject: (error: Error) => void }>();
  private ticker?: NodeJS.Timeout;

  /** @param limit milliseconds a call may take; it may take up to a quarter longer before it is cut off. */
  constructor(private readonly limit: number, private readonly onOverrun: () => Error) {}

  /** `call`, or a rejection with `onOverrun()` once it takes longer than the limit. */
  within<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { deadline: Date.now() + this.limit, reject };
      this.pending.add(entry);
      this.ticker ??= setInterval(() => this.tick(), Math.max(1, Math.ceil(this.limit / 4))).unref();
      call.then(
        (value) => { this.pending.delete(entry); resolve(value); },
        (error: unknown) => { this.pending.delete(entry); reject(error); },
      );
    });
  }

  private tick(): void {
    const now = Date.now();
    for (const entry of this.pending) {
      if (entry.deadline > now) continue;
      this.pending.delete(entry);
      entry.reject(this.onOverrun());
    }
    if (this.pending.size === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
