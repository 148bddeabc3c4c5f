import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
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
  /** The client's address (Express's `req.ip`, which honours `trust proxy`). */
  ip?: string;
}

/** The part of an Express response this library uses (node's response, which knows its request). */
export type ExpressResponseLike = ServerResponse;

/**
 * The Express adapter: works on Express's request, reaching the response as
 * `req.res`. The query string is parsed here with node's `querystring`, as Koa
 * does, so a parameter is a string or a list of strings on both drivers (never
 * the nested objects Express's extended query parser makes of `?jwt[a]=b`).
 */
export const expressAdapter: RequestAdapter<ExpressRequestLike> = {
  method: (req) => req.method ?? 'GET',
  header: nodeRequestHeader,
  query(req, name) {
    const url = req.originalUrl ?? req.url ?? '';
    const start = url.indexOf('?');
    return start < 0 ? undefined : parseQueryString(url.slice(start + 1))[name];
  },
  body: (req) => req.body,
  incoming: (req) => req,
  setHeader: (req, name, value) => responseOf(req).setHeader(name, value),
  responseHeader: (req, name) => headerValues(responseOf(req).getHeader(name)),
  status: (req) => responseOf(req).statusCode,
  describe: (req) => ({ method: req.method ?? 'GET', path: pathOf(req.originalUrl ?? req.url), ip: req.ip ?? req.socket?.remoteAddress }),
};

function responseOf(req: ExpressRequestLike): ServerResponse {
  if (!req.res) throw new TypeError('Not an Express request: it has no `res`');
  return req.res;
}

/**
 * Runs `hook` when the response is about to end, while its headers can still
 * change (Express has no `await next()` to run code after the action). A
 * response whose headers went out earlier (a stream) ends without it.
 */
export function beforeResponseEnds(res: ServerResponse, hook: () => Promise<void>): void {
  const end = res.end;
  res.end = function endAfterHook(this: ServerResponse, ...args: Parameters<ServerResponse['end']>) {
    res.end = end;
    if (res.headersSent) return end.apply(this, args);
    hook().catch(() => undefined).finally(() => end.apply(this, args));
    return this;
  } as ServerResponse['end'];
}
