import type { Clock } from '../src';

/** A clock time passes on only when the test says so: `advance` instead of waiting. */
export class ManualClock implements Clock {
  /** @param time where it starts, in milliseconds since the epoch: now, so tokens minted elsewhere fit. */
  constructor(private time = Date.now()) {}

  now(): number {
    return this.time;
  }

  /** Lets `ms` milliseconds pass at once. */
  advance(ms: number): void {
    this.time += ms;
  }
}
