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
  /** Sets a response header. */
  setHeader(ctx: Context, name: string, value: string): void;
}

/** The part of a Koa context this library uses. */
export interface KoaContextLike {
  readonly method: string;
  readonly req: IncomingMessage;
  set(field: string, value: string): void;
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
  setHeader: (ctx, name, value) => ctx.set(name, value),
};
