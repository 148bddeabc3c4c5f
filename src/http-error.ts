import type { ServerResponse } from 'node:http';
import { HttpError } from 'routing-controllers';
import type { JwtError } from './errors';

/** The JSON body of a failed request: `{ [errorMessageKey]: message }` unless an error callback says otherwise. */
export type JwtErrorBody = Record<string, unknown>;

/**
 * A {@link JwtError} as routing-controllers and Koa render it.
 *
 * routing-controllers renders errors as `toJSON()` on JSON controllers but as
 * `message` (or `stack` in development) on plain ones. This error has neither a
 * message nor a stack, so both kinds of controller fall through to serialising
 * the error itself, i.e. `toJSON()`: the same JSON body everywhere, never a
 * stack. `status`, `expose` and `headers` serve Koa's own error handler.
 * The original failure is `cause`.
 */
export class JwtHttpError extends HttpError {
  override readonly name = 'JwtHttpError';
  /** Koa's name for the HTTP status. */
  readonly status: number;
  /** Tells Koa the status is meant for the client. */
  readonly expose = true;

  constructor(
    override readonly cause: JwtError,
    status: number,
    private readonly body: JwtErrorBody,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(status);
    // HttpError pins the prototype to its own; restore ours.
    Object.setPrototypeOf(this, new.target.prototype);
    this.status = status;
    this.stack = '';
  }

  toJSON(): JwtErrorBody {
    return this.body;
  }
}

/**
 * Writes `error` as the whole response — its status, its headers, its JSON body —
 * the way routing-controllers renders it inside an action. The one rendering for
 * an error that escapes routing-controllers (plain middleware calling
 * `verifyJwtInRequest`, a global `@Middleware`): each driver's adapter calls it
 * from where its framework's last-resort handler would otherwise answer.
 */
export function writeErrorResponse(res: ServerResponse, error: JwtHttpError): void {
  const body = JSON.stringify(error.toJSON());
  res.statusCode = error.status;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * The answer to a CORS preflight that reached a protected action: 204 without a
 * body, and the action never runs. A preflight carries no credentials (browsers
 * send none), so it cannot be authenticated; answering it here lets the CORS
 * headers that the app's CORS middleware already set go out, and runs nothing.
 */
export class CorsPreflightResponse extends HttpError {
  override readonly name = 'CorsPreflightResponse';
  /** Koa's name for the HTTP status. */
  readonly status = 204;
  /** Tells Koa the status is meant for the client. */
  readonly expose = true;

  constructor() {
    super(204);
    // HttpError pins the prototype to its own; restore ours.
    Object.setPrototypeOf(this, new.target.prototype);
    this.stack = '';
  }

  toJSON(): undefined {
    return undefined;
  }
}
