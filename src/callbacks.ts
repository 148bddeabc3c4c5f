import { HttpError } from 'routing-controllers';
import type { JwtError } from './errors';

/** The app's callbacks that run while a request is being decided or a token is made. */
export type CallbackName =
  | 'decodeKeyLoader'
  | 'encodeKeyLoader'
  | 'userIdentityLoader'
  | 'additionalClaimsLoader'
  | 'additionalHeadersLoader'
  | 'userLookupLoader'
  | 'tokenVerificationLoader'
  | `errorCallbacks.${string}`
  | 'implicitRefresh'
  | `events.${string}`;

/** What {@link CallbackErrorHandler} learns besides the thrown value. */
export interface CallbackFailure {
  /** The callback that threw, e.g. `'userLookupLoader'` or `'errorCallbacks.expired'`. */
  readonly callback: CallbackName;
  /** The driver's request object (Koa's `ctx`, Express's `req`), when the callback ran for a request. */
  readonly ctx?: object;
}

/**
 * Receives what an app callback threw (anything but an `HttpError`, which is an
 * answer on purpose and goes to the client as it is). The client gets the
 * library's own answer instead, carrying nothing of the thrown value.
 */
export type CallbackErrorHandler = (error: unknown, failure: CallbackFailure) => void;

/** Without a handler, what a callback threw goes to stderr, as Koa and Express log an action's errors. */
export const logCallbackError: CallbackErrorHandler = (error, { callback }) => {
  console.error(`routing-controllers-jwt-extended: ${callback} threw; the request was refused.`, error);
};

/**
 * Reports a thrown value to the app; a handler that throws in turn is ignored
 * (the request's answer is already decided).
 */
export function reportCallbackError(handler: CallbackErrorHandler, error: unknown, failure: CallbackFailure): void {
  try {
    handler(error, failure);
  } catch {
    // Nothing more to do: the app's handler failed too.
  }
}

/**
 * `callback`, made safe to call while deciding a request: an `HttpError` it
 * throws passes through; anything else is reported to `handler` and replaced
 * by `refusal(...args)`, the library's own answer for that callback.
 */
export function guardCallback<A extends unknown[], R>(
  callback: (...args: A) => R | Promise<R>,
  name: CallbackName,
  handler: CallbackErrorHandler,
  refusal: (...args: A) => JwtError,
): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await callback(...args);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      reportCallbackError(handler, error, { callback: name });
      throw refusal(...args);
    }
  };
}
