import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeErrorResponse } from '../http-error';
import type { RequestAdapter } from './adapter';
import { headerValues, nodeRequestHeader, pathOf } from './node-headers';

/** The part of a Koa context this library uses. */
export interface KoaContextLike {
  readonly method: string;
  readonly req: IncomingMessage;
  readonly query: Record<string, string | string[] | undefined>;
  /** Koa's request; koa-bodyparser (which routing-controllers installs) puts `body` on it. */
  readonly request: object;
  readonly response: { get(field: string): string | string[] | number | undefined };
  readonly status: number;
  /** The request path, without the query string. */
  readonly path?: string;
  /** The client's address (Koa's `ctx.ip`, which honours `app.proxy`). */
  readonly ip?: string;
  set(field: string, value: string | string[]): void;
  readonly res?: ServerResponse;
  readonly headerSent?: boolean;
  readonly writable?: boolean;
  /** Koa's last-resort error handler, which Koa looks up on the context of each request. */
  onerror?(error: unknown): void;
}

/** The Koa adapter: works on Koa's context. */
export const koaAdapter: RequestAdapter<KoaContextLike> = {
  method: (ctx) => ctx.method,
  header: (ctx, name) => nodeRequestHeader(ctx.req, name),
  query: (ctx, name) => ctx.query[name],
  body: (ctx) => (ctx.request as { body?: unknown }).body,
  incoming: (ctx) => ctx.req,
  setHeader: (ctx, name, value) => ctx.set(name, value),
  responseHeader: (ctx, name) => headerValues(ctx.response.get(name)),
  status: (ctx) => ctx.status,
  describe: (ctx) => ({ method: ctx.method, path: ctx.path ?? pathOf(ctx.req.url), ip: ctx.ip }),
  whenDone: (ctx, listener) => !!ctx.res?.once('close', listener),
  prepareErrorResponse(ctx, error) {
    // Koa answers an error that escapes every middleware with `ctx.onerror`: an
    // empty text/plain body for ours. This request's handler renders ours as
    // routing-controllers would, and leaves anything else to the one it had.
    const fallback = ctx.onerror;
    const res = ctx.res;
    if (!fallback || !res) return;
    ctx.onerror = (escaped: unknown) => {
      if (escaped !== error || ctx.headerSent || ctx.writable === false) return fallback.call(ctx, escaped);
      writeErrorResponse(res, error);
    };
  },
};
