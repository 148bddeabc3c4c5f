import type { IncomingMessage } from 'node:http';

/**
 * Everything the library needs from a web framework's request context, so that
 * locating and verifying tokens never touch Koa directly. Methods take the
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
  /** A query-string parameter: its value, every value when repeated, or `undefined`. */
  query(ctx: Context, name: string): string | string[] | undefined;
  /** The parsed request body (JSON or form), if a body parser ran. */
  body(ctx: Context): unknown;
  /** Sets a response header, replacing any value it had. */
  setHeader(ctx: Context, name: string, value: string | string[]): void;
  /** A response header's values so far (`Set-Cookie` may have several). */
  responseHeader(ctx: Context, name: string): string[];
  /** The response status so far. */
  status(ctx: Context): number;
}

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

// Node keeps only the first line of these fields; a second Authorization line
// must not go unnoticed, so they are read from the raw headers.
const FIRST_LINE_ONLY = new Set([
  'authorization', 'proxy-authorization', 'age', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/** The Koa adapter. */
export const koaAdapter: RequestAdapter<KoaContextLike> = {
  method: (ctx) => ctx.method,
  header(ctx, name) {
    const field = name.toLowerCase();
    const value = ctx.req.headers[field];
    if (value === undefined || typeof value !== 'string') return Array.isArray(value) ? value.join(', ') : value;
    if (!FIRST_LINE_ONLY.has(field)) return value;
    const raw = ctx.req.rawHeaders;
    let joined: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i].length === field.length && raw[i].toLowerCase() === field) {
        joined = joined === undefined ? raw[i + 1] : `${joined}, ${raw[i + 1]}`;
      }
    }
    return joined ?? value;
  },
  query: (ctx, name) => ctx.query[name],
  body: (ctx) => (ctx.request as { body?: unknown }).body,
  setHeader: (ctx, name, value) => ctx.set(name, value),
  responseHeader(ctx, name) {
    const value = ctx.response.get(name);
    return value === undefined || value === '' ? [] : Array.isArray(value) ? value : [String(value)];
  },
  status: (ctx) => ctx.status,
};
