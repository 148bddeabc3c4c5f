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

/** The calls that start a response; each may send its headers. */
const STARTS = ['writeHead', 'flushHeaders', 'write', 'end'] as const;

/**
 * Runs `hook` once the action has answered, before anything of the response
 * goes out, and lets it wait for a store: Express has no `await next()` to run
 * code after the action. The hook is called at the response's first
 * `writeHead`, `flushHeaders`, `write` or `end`; when it answers a promise, that
 * call and every one after it are held until the promise settles, then
 * replayed in order. A hook that fails leaves the response as the action made it.
 */
export function beforeResponseStarts(res: ServerResponse, hook: () => Promise<void> | undefined): void {
  const originals = Object.fromEntries(STARTS.map((name) => [name, res[name]])) as Pick<ServerResponse, (typeof STARTS)[number]>;
  const held: Array<() => void> = [];
  const release = () => {
    Object.assign(res, originals);
    delete (res as { headersSent?: boolean }).headersSent;
    for (const call of held) call();
  };
  for (const name of STARTS) {
    res[name] = function held_(this: ServerResponse, ...args: unknown[]) {
      // The status given to writeHead is the one going out; the hook reads it from the response.
      if (name === 'writeHead' && typeof args[0] === 'number') res.statusCode = args[0];
      const call = () => (originals[name] as (...args: unknown[]) => unknown).apply(res, args);
      if (held.length === 0) {
        const waiting = hook();
        if (!waiting) {
          release();
          return call();
        }
        // Started, for everyone after the action (Express's final handler must not answer 404 meanwhile).
        Object.defineProperty(res, 'headersSent', { configurable: true, get: () => true });
        void waiting.catch(() => undefined).then(release);
      }
      held.push(call);
      return name === 'write' ? true : res;
    } as never;
  }
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
