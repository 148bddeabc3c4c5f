import type { ServerResponse } from 'node:http';
import { HttpError } from 'routing-controllers';
import type { JwtError } from './errors';

/** The JSON body of a failed request: `{ [errorMessageKey]: message }` unless an error callback says otherwise. */
export type JwtErrorBody = Record<string, unknown>;

/**
 * An error response with a JSON body, rendered the same on JSON and plain
 * controllers and on every driver: the library's own failures
 * ({@link JwtHttpError}) and the app's, made with `jwt.httpError(status, message)`
 * so they answer in the library's shape, e.g. 401 `{ "msg": "Bad username or password" }`.
 *
 * routing-controllers renders errors as `toJSON()` on JSON controllers but as
 * `message` (or `stack` in development) on plain ones. This error has neither a
 * message nor a stack, so both kinds of controller fall through to serialising
 * the error itself, i.e. `toJSON()`: the same JSON body everywhere, never a
 * stack. `status`, `expose` and `headers` serve Koa's own error handler.
 */
export class JsonHttpError extends HttpError {
  override readonly name: string = 'JsonHttpError';
  /** Koa's name for the HTTP status. */
  readonly status: number;
  /** Tells Koa the status is meant for the client. */
  readonly expose = true;

  /** `status` is a 4xx or 5xx code; `body` is the JSON body, e.g. `{ msg: 'Bad username or password' }`. */
  constructor(
    status: number,
    private readonly body: JwtErrorBody,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError(`An error response needs a 4xx or 5xx status, got ${status}`);
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

/** A {@link JwtError} as routing-controllers and Koa render it; the original failure is `cause`. */
export class JwtHttpError extends JsonHttpError {
  override readonly name = 'JwtHttpError';

  constructor(
    override readonly cause: JwtError,
    status: number,
    body: JwtErrorBody,
    headers: Readonly<Record<string, string>>,
  ) {
    super(status, body, headers);
  }
}

/** What the library throws as a response: an error response, or the answer to a CORS preflight. */
export type ThrownResponse = JsonHttpError | CorsPreflightResponse;

/**
 * Writes `response` as the whole response — its status, its headers, its JSON
 * body (none for a preflight's 204) — the way routing-controllers renders it
 * inside an action, keeping the headers already set (CORS ones included). The
 * one rendering for a response that escapes routing-controllers (plain
 * middleware calling `verifyJwtInRequest`, a global `@Middleware`): each
 * driver's adapter calls it from where its framework's last-resort handler
 * would otherwise answer.
 */
export function writeErrorResponse(res: ServerResponse, response: ThrownResponse): void {
  res.statusCode = response.status;
  if (response instanceof CorsPreflightResponse) {
    res.end();
    return;
  }
  const body = JSON.stringify(response.toJSON());
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
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
