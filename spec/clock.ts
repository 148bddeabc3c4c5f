import type { Clock } from '../src';

/**
 * A clock the test moves: `advance` lets time pass at once. Stopped at the
 * time it was made, or, made with `running`, real time plus what was advanced.
 */
export class TestClock implements Clock {
  private offset = 0;
  private readonly stoppedAt: number | undefined;

  constructor(running = false) {
    // Started at the real time, so tokens minted elsewhere (with Date.now()) fit.
    this.stoppedAt = running ? undefined : Date.now();
  }

  now(): number {
    return (this.stoppedAt ?? Date.now()) + this.offset;
  }

  /** Lets `ms` milliseconds pass for whatever reads this clock. */
  advance(ms: number): void {
    this.offset += ms;
  }
}

/** How a suite lets time pass: the clock its managers and stores read, and `pass(ms)`, which moves the store's time too. */
export interface TestTime {
  readonly clock: TestClock;
  pass(ms: number): Promise<void>;
}

/** Time for the memory store: every reader shares one stopped clock, which `pass` advances. */
export function manualTime(): TestTime {
  const clock = new TestClock();
  return { clock, pass: async (ms) => clock.advance(ms) };
}

/**
 * Time for a Redis store: Redis keeps its own (TIME, and key expiry), which no
 * test can move, so `pass` waits for real; the app's clock runs with it and can
 * still be advanced alone, for what the app decides on its own clock.
 */
export function redisTime(): TestTime {
  return { clock: new TestClock(true), pass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };
}
