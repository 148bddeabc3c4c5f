import { useContainer } from 'routing-controllers';
import supertest from 'supertest';
import { Container } from 'typedi';
import { createDemoApp, type DemoOptions } from '../demo/app';
import type { Clock } from '../demo/throttle';
import { listen, SECRET, type Driver } from './helpers';

/** A clock the test moves by hand: the throttle's windows pass without a sleep. */
export interface ManualClock {
  readonly now: Clock;
  advance(ms: number): void;
}

export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let at = start;
  return { now: () => at, advance: (ms) => { at += ms; } };
}

/** The demo app in this process (so a test can set its clock and limits), listening on an ephemeral port. */
export interface InProcessDemo {
  readonly request: ReturnType<typeof supertest>;
  /** The audit trail's lines so far. */
  readonly log: string[];
  close(): Promise<void>;
}

/**
 * Builds the demo as `npm start` does, but in this process, with `options`.
 * One at a time: the demo's controllers live in typedi's global container,
 * which `close()` empties again for the next one (and for the other suites).
 */
export async function startDemoInProcess(driver: Driver, options: DemoOptions = {}): Promise<InProcessDemo> {
  const log: string[] = [];
  const app = await createDemoApp({ secretKey: SECRET }, driver, { log: (line) => log.push(line), ...options });
  const { server, url } = await listen(app);
  return {
    request: supertest(url),
    log,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      useContainer(undefined as never);
      Container.reset();
    },
  };
}
