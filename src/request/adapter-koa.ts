import type { IncomingMessage } from 'node:http';
import type { RequestAdapter } from './adapter';
import { headerValues, nodeRequestHeader } from './node-headers';

/** The part of a Koa context this library uses. */
export interface KoaContextLike {
  readonly method: string;
  readonly req: IncomingMessage;
  readonly query: Record<string, string | string[] | undefined>;
  /** Koa's request; koa-bodyparser (which routing-controllers installs) puts `body` on it. */
  readonly request: object;
  readonly response: { get(field: string): string | string[] | number | undefined };
  readonly status: number;
  set(field: string, value: string | string[]): void;
}

/** The Koa adapter: works on Koa's context. */
export const koaAdapter: RequestAdapter<KoaContextLike> = {
  method: (ctx) => ctx.method,
  header: (ctx, name) => nodeRequestHeader(ctx.req, name),
  query: (ctx, name) => ctx.query[name],
  body: (ctx) => (ctx.request as { body?: unknown }).body,
  setHeader: (ctx, name, value) => ctx.set(name, value),
  responseHeader: (ctx, name) => headerValues(ctx.response.get(name)),
  status: (ctx) => ctx.status,
};
