/** A span of time: seconds as a number, or an ms-style string such as `'15m'`, `'30d'`, `'1.5h'`. */
export type Duration = number | string;

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
  w: 604800, week: 604800, weeks: 604800,
  y: 31557600, year: 31557600, years: 31557600,
};

/** The longest duration string read ('1.5 hours' and the like are short); a longer one is refused unread. */
const MAX_DURATION_LENGTH = 32;
// Anchored, and no quantified group can match the same characters two ways: linear time.
const DURATION = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/**
 * Converts a {@link Duration} to whole seconds, throwing a `TypeError` that
 * names `what` when it is not a finite, non-negative span.
 */
export function toSeconds(duration: Duration, what: string): number {
  return Math.floor(toMilliseconds(duration, what) / 1000);
}

/** Converts a {@link Duration} to whole milliseconds; see {@link toSeconds}. */
export function toMilliseconds(duration: Duration, what: string): number {
  let seconds: number;
  if (typeof duration === 'number') {
    seconds = duration;
  } else {
    const match = typeof duration === 'string' && duration.length <= MAX_DURATION_LENGTH ? DURATION.exec(duration.trim()) : null;
    const unit = match ? UNIT_SECONDS[match[2].toLowerCase() || 's'] : undefined;
    if (!match || unit === undefined) {
      throw new TypeError(`${what}: ${quoted(duration)} is not a duration; use seconds or a string such as '15m', '12h', '30d'`);
    }
    seconds = Number(match[1]) * unit;
  }
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new TypeError(`${what}: a duration must be a finite number of seconds >= 0, got ${quoted(duration)}`);
  }
  return Math.round(seconds * 1000);
}

/** The rejected value for an error message: never more than a few characters of it (it may come from a request). */
function quoted(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > MAX_DURATION_LENGTH ? `${text.slice(0, MAX_DURATION_LENGTH)}…` : text);
}
