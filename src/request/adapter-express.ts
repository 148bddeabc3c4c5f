import type { IncomingMessage, ServerResponse } from 'node:http';
import { CorsPreflightResponse, JsonHttpError, writeErrorResponse } from '../http-error';
import type { RequestAdapter } from './adapter';
import { headerValues, nodeRequestHeader, pathOf } from './node-headers';

/** The part of an Express request this library uses (node's request, as Express extends it). */
export interface ExpressRequestLike extends IncomingMessage {
  /** The response, linked here by Express. */
  res?: ServerResponse;
  /** The parsed body, when a body parser ran (routing-controllers runs one on actions with `@Body()`). */
  body?: unknown;
  /** The URL as received, before a mounted router cut its prefix off. */
  originalUrl?: string;
  /** The query string as Express's query parser made it (nested objects with its default, `extended`). */
  query?: Record<string, unknown>;
  /** The client's address (Express's `req.ip`, which honours `trust proxy`). */
  ip?: string;
}

/** The part of an Express response this library uses (node's response, which knows its request). */
export type ExpressResponseLike = ServerResponse;

/** The Express adapter: works on Express's request, reaching the response as `req.res`. */
export const expressAdapter: RequestAdapter<ExpressRequestLike> = {
  method: (req) => req.method ?? 'GET',
  header: nodeRequestHeader,
  query: (req, name) => req.query?.[name],
  body: (req) => req.body,
  incoming: (req) => req,
  setHeader: (req, name, value) => responseOf(req).setHeader(name, value),
  responseHeader: (req, name) => headerValues(responseOf(req).getHeader(name)),
  status: (req) => responseOf(req).statusCode,
  describe: (req) => ({ method: req.method ?? 'GET', path: pathOf(req.originalUrl ?? req.url), ip: req.ip ?? req.socket?.remoteAddress }),
  whenDone: (req, listener) => !!req.res?.once('close', listener),
};

function responseOf(req: ExpressRequestLike): ServerResponse {
  if (!req.res) throw new TypeError('Not an Express request: it has no `res`');
  return req.res;
}

/**
 * Runs `hook` just before the response's headers go out, while they can still
 * change: Express has no `await next()` to run code after the action, and
 * every response, explicit `writeHead` or not, passes through `writeHead`.
 */
export function beforeHeadersSent(res: ServerResponse, hook: () => void): void {
  const writeHead = res.writeHead;
  res.writeHead = function writeHeadAfterHook(this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    res.writeHead = writeHead;
    // The status passed here is the one going out; the hook reads it from the response.
    if (typeof args[0] === 'number') this.statusCode = args[0];
    try {
      hook();
    } catch {
      // The response goes out as the action made it.
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}

/**
 * Answers a failure of this library met outside an action, as routing-controllers
 * would inside one, with the one rendering ({@link writeErrorResponse}): an
 * error response, or a CORS preflight's 204. `false` for anything else (or once
 * headers went out).
 */
export function answerFailure(res: ServerResponse, error: unknown): boolean {
  if (res.headersSent || !(error instanceof JsonHttpError || error instanceof CorsPreflightResponse)) return false;
  writeErrorResponse(res, error);
  return true;
}
