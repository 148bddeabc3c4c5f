import type { JwtClaims, JwtHeader } from '../claims';

/** What a request learns from its verified token. */
export interface JwtRequestState {
  readonly header: JwtHeader;
  readonly claims: JwtClaims;
  readonly identity: string;
  /** The user the request acts for: the identity until a user loader is configured. */
  readonly user: unknown;
}

/** A request's state, and (out of sight) the configuration that decided it, to render later failures the same way. */
class RecordedState<Decider extends object> implements JwtRequestState {
  readonly #decidedBy: Decider;

  constructor(readonly header: JwtHeader, readonly claims: JwtClaims, readonly identity: string, readonly user: unknown, decidedBy: Decider) {
    this.#decidedBy = decidedBy;
  }

  static decider<Decider extends object>(state: RecordedState<Decider>): Decider {
    return state.#decidedBy;
  }
}

/** Recorded for a request verified without a token (an optional route). */
const ANONYMOUS = Symbol('anonymous request');

type Recorded = RecordedState<object> | typeof ANONYMOUS;

/**
 * Where a request's state lives: a property of the framework's context object
 * (Koa's ctx, Express's request), under a symbol nobody else holds, so any
 * framework's context works and the state goes away with the request. A
 * property, not a WeakMap entry: one write per request costs some 100 CPU
 * instructions this way, over 2,000 as a WeakMap key (its ephemeron tables).
 */
const STATE = Symbol('routing-controllers-jwt-extended request state');

interface WithState {
  [STATE]?: Recorded;
}

const stateOf = (ctx: object): Recorded | undefined => (ctx as WithState)[STATE];

/** The state of a request whose token passed every check, if any. */
export function requestState(ctx: object): JwtRequestState | undefined {
  const state = stateOf(ctx);
  return state === ANONYMOUS ? undefined : state;
}

/** Whether a manager verified this request, with or without a token. */
export function wasVerified(ctx: object): boolean {
  return stateOf(ctx) !== undefined;
}

/** What decided the request's state (its manager's configuration), if it has one. */
export function requestDecider<Decider extends object>(ctx: object): Decider | undefined {
  const state = stateOf(ctx);
  return state === undefined || state === ANONYMOUS ? undefined : (RecordedState.decider(state) as Decider);
}

/** What is recorded for a request, to put back after a check made for another purpose (implicit refresh). */
export type SavedRequestState = Recorded | undefined;

export function saveRequestState(ctx: object): SavedRequestState {
  return stateOf(ctx);
}

export function restoreRequestState(ctx: object, saved: SavedRequestState): void {
  (ctx as WithState)[STATE] = saved;
}

/** Records that a request was verified and holds no token; never replaces a state already recorded. */
export function recordAnonymous(ctx: object): void {
  (ctx as WithState)[STATE] ??= ANONYMOUS;
}

/** Records a request's state; called only once every check has passed. */
export function recordRequestState<Decider extends object>(
  ctx: object, decidedBy: Decider, header: JwtHeader, claims: JwtClaims, identity: string, user: unknown,
): JwtRequestState {
  const state = new RecordedState(header, claims, identity, user, decidedBy);
  (ctx as WithState)[STATE] = state;
  return state;
}
