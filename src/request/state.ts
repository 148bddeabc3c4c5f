import type { JwtClaims, JwtHeader } from '../claims';

/** What a request learns from its verified token. */
export interface JwtRequestState {
  readonly header: JwtHeader;
  readonly claims: JwtClaims;
  readonly identity: string;
  /** The user the request acts for: the identity until a user loader is configured. */
  readonly user: unknown;
}

// Keyed by the framework's context object, so any framework's context works
// and the state goes away with the request.
const states = new WeakMap<object, JwtRequestState>();

/** The state of a request whose token passed every check, if any. */
export function requestState(ctx: object): JwtRequestState | undefined {
  return states.get(ctx);
}

/** Records a request's state; called only once every check has passed. */
export function setRequestState(ctx: object, state: JwtRequestState): void {
  states.set(ctx, state);
}

/** Forgets a request's state: a check made for another purpose (implicit refresh) leaves none behind. */
export function forgetRequestState(ctx: object): void {
  states.delete(ctx);
}
