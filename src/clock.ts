/**
 * Where the library reads the time: `now()` answers milliseconds since the
 * epoch, as `Date.now()` does. `Date` itself is one, and the default; a test
 * passes one it moves by hand instead of waiting.
 */
export interface Clock {
  now(): number;
}

/** The real time. */
export const systemClock: Clock = Date;
