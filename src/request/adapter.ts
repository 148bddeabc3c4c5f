import type { IncomingMessage } from 'node:http';
import type { Action } from 'routing-controllers';
import type { EventRequest } from '../events';
import type { ThrownResponse, writeErrorResponse } from '../http-error';
import { expressAdapter, type ExpressRequestLike, type ExpressResponseLike } from './adapter-express';
import { koaAdapter, type KoaContextLike } from './adapter-koa';

/**
 * Everything the library needs from a web framework's request context, so that
 * locating and verifying tokens never know which driver runs. Methods take the
 * framework's own context, so no wrapper is allocated per request.
 */
export interface RequestAdapter<Context> {
  /** The request method, upper case. */
  method(ctx: Context): string;
  /**
   * A request header's value, every field line of that name joined with `", "`
   * (RFC 9110 §5.3), or `undefined` when absent.
   */
  header(ctx: Context, name: string): string | undefined;
  /**
   * A query-string parameter as the driver's query parser made it: its value,
   * every value when repeated, an object from a nested parser, or `undefined`.
   */
  query(ctx: Context, name: string): unknown;
  /** The parsed request body (JSON or form), if a body parser ran. */
  body(ctx: Context): unknown;
  /** Node's request, for a body no parser read (see `request/body.ts`). */
  incoming(ctx: Context): IncomingMessage;
  /** Sets a response header, replacing any value it had. */
  setHeader(ctx: Context, name: string, value: string | string[]): void;
  /** A response header's values so far (`Set-Cookie` may have several). */
  responseHeader(ctx: Context, name: string): string[];
  /** The response status so far. */
  status(ctx: Context): number;
  /**
   * Sees each error response (and preflight answer) before it is thrown.
   * routing-controllers renders it when it reaches an action's error handling; a
   * driver whose own last-resort handler would render it otherwise (Koa: an empty
   * text/plain body, every header dropped) makes it render the same way there,
   * with {@link writeErrorResponse}.
   */
  prepareErrorResponse?(ctx: Context, response: ThrownResponse): void;
  /** The request's method, path and client IP, for events. */
  describe?(ctx: Context): EventRequest;
  /** Calls `listener` once the response is done (sent, or its connection gone); `false` when it cannot tell. */
  whenDone?(ctx: Context, listener: () => void): boolean;
}

/**
 * A driver's own object, as the helpers take it: Koa's `ctx`, or Express's
 * `req` or `res` (either one: Express links them to each other).
 */
export type DriverContext = KoaContextLike | ExpressRequestLike | ExpressResponseLike;

/** A request as the library works on it: its driver's adapter and the object that adapter reads. */
export interface BoundRequest {
  readonly adapter: RequestAdapter<object>;
  /** Koa's context, or Express's request; the request's state is kept under it. */
  readonly ctx: object;
}

/**
 * Recognises the driver from routing-controllers' `Action`: Koa's carries the
 * context, Express's only the request and response.
 */
export function bindAction(action: Action): BoundRequest {
  const context: unknown = action.context;
  return context ? { adapter: koaAdapter, ctx: context as KoaContextLike } : { adapter: expressAdapter, ctx: action.request as ExpressRequestLike };
}

/** The object routing-controllers' `Action` keys a request's state under (see {@link BoundRequest.ctx}). */
export function actionKey(action: Action): object {
  return (action.context as object | undefined) ?? (action.request as object);
}

/**
 * Recognises the driver from one of its objects: node's response or request
 * (Express), else Koa's context (which has neither `setHeader` nor `rawHeaders`).
 */
export function bindRequest(target: DriverContext): BoundRequest {
  if (isNodeResponse(target)) return { adapter: expressAdapter, ctx: target.req };
  if (isNodeRequest(target)) return { adapter: expressAdapter, ctx: target };
  return { adapter: koaAdapter, ctx: target };
}

function isNodeResponse(target: DriverContext): target is ExpressResponseLike {
  return typeof (target as Partial<ExpressResponseLike>).setHeader === 'function';
}

function isNodeRequest(target: DriverContext): target is ExpressRequestLike {
  return Array.isArray((target as Partial<ExpressRequestLike>).rawHeaders);
}

/** A Koa middleware function. */
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

/** An Express middleware function. */
export type ExpressMiddleware = (req: ExpressRequestLike, res: ExpressResponseLike, next: (error?: unknown) => void) => void;

/** A middleware that works on both drivers: `app.use(it)` on Koa or on Express. */
export type JwtMiddleware = KoaMiddleware & ExpressMiddleware;

/** One middleware out of a driver's two, told apart by their arguments: Koa passes `(ctx, next)`. */
export function driverMiddleware(koa: KoaMiddleware, express: ExpressMiddleware): JwtMiddleware {
  return ((first: KoaContextLike | ExpressRequestLike, second: ExpressResponseLike | (() => Promise<unknown>), third?: (error?: unknown) => void) =>
    typeof second === 'function'
      ? koa(first as KoaContextLike, second)
      : express(first as ExpressRequestLike, second, third ?? (() => undefined))) as JwtMiddleware;
}
