import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { JsonHttpError, writeErrorResponse } from './http-error';
import type { KoaMiddleware } from './request/adapter';
import { answerFailure, type ExpressRequestLike, type ExpressResponseLike } from './request/adapter-express';

/**
 * Errors raised before any action runs — a body the app's body parser refuses
 * (malformed JSON, too large, an unknown encoding) — answered in the library's
 * shape instead of Koa's text/plain or Express's HTML page (with a stack outside
 * production). Never the parser's own message: it may quote the body.
 */

/** zlib's codes for input that is not what its `Content-Encoding` says. */
const ZLIB_DATA_ERRORS = new Set<unknown>(['Z_DATA_ERROR', 'Z_BUF_ERROR']);

/** Makes an error response in the library's shape: `jwt.httpError`. */
type HttpErrorFactory = (status: number, message: string) => JsonHttpError;

/** The answer to a client error the body parser raised (a 4xx it marks with `status`); `undefined` for anything else. */
function clientErrorResponse(error: unknown, httpError: HttpErrorFactory): JsonHttpError | undefined {
  if (error instanceof JsonHttpError || typeof error !== 'object' || error === null) return undefined;
  // A compressed body that does not inflate: koa-bodyparser lets zlib's error through without a status.
  const status = ZLIB_DATA_ERRORS.has((error as { code?: unknown }).code) ? 400 : (error as { status?: unknown }).status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 499) return undefined;
  const malformed = error instanceof SyntaxError || (error as { type?: unknown }).type === 'entity.parse.failed';
  return httpError(status, malformed ? 'Malformed JSON body' : STATUS_CODES[status] ?? 'Bad Request');
}

/** A Koa middleware, registered before routing-controllers' (which adds the body parser). */
export function koaErrorHandler(httpError: HttpErrorFactory): KoaMiddleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const answer = clientErrorResponse(error, httpError);
      if (!answer) throw error;
      const response = ctx as unknown as { status: number; body: unknown };
      response.status = answer.status;
      response.body = answer.toJSON();
    }
  };
}

/** An Express error-handling middleware: `(error, req, res, next)`. */
export type ExpressErrorHandler = (error: unknown, req: ExpressRequestLike, res: ExpressResponseLike, next: (error?: unknown) => void) => void;

/**
 * An Express error handler, registered after routing-controllers' routes. Besides
 * client errors, it answers the library's own failures that middleware of the
 * app's passed on (`next(error)`) as a decorated action would, and ends the
 * errors routing-controllers has answered already: its Express driver hands
 * every error on after answering it, and Express's final handler then closes the
 * connection — on a keep-alive connection, the client's next request on it fails.
 */
export function expressErrorHandler(httpError: HttpErrorFactory): ExpressErrorHandler {
  return (error, _req, res, next) => {
    // Answered and ended: nothing left to do. Headers out but the body cut short: Express closes the connection, as it should.
    if (res.writableEnded) return;
    if (res.headersSent) return next(error);
    if (answerFailure(res, error)) return;
    const answer = clientErrorResponse(error, httpError);
    if (!answer) return next(error);
    writeErrorResponse(res, answer);
  };
}

/** A listener for node's `clientError` event: `server.on('clientError', jwt.clientErrorHandler())`. */
export type ClientErrorHandler = (error: Error, socket: Duplex) => void;

/** How long, and for how many more bytes, an answered connection is read before it is closed regardless. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 1 << 20;

/** node's own choice of status for the parser's errors (its default `clientError` answer). */
function clientErrorStatus(code: unknown): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/**
 * Answers a request node's HTTP parser refused (headers beyond `maxHeaderSize`,
 * a malformed request line, a request timeout) in the library's shape, e.g. 431
 * `{ "msg": "Request Header Fields Too Large" }`, and closes the connection only
 * once the client has read it. Node's default answer closes the socket straight
 * after writing its bare 431, with the rest of the request unread: the kernel
 * then resets the connection (TCP RST), and a client still sending or reading
 * — Node 24's own HTTP client every time, curl, browsers depending on timing —
 * gets ECONNRESET instead of the 431. Here the connection is half-closed after
 * the answer and the rest of the request read and dropped until the client
 * closes its end (a lingering close, as Apache and nginx do), for at most
 * 2 seconds and 1 MiB.
 */
export function clientErrorHandler(httpError: HttpErrorFactory): ClientErrorHandler {
  // The parser, once failed, reports each further chunk of the request (and its end) as another client error.
  const lingering = new WeakMap<Duplex, number>();
  return (error, socket) => {
    const answeredAt = lingering.get(socket);
    if (answeredAt !== undefined) {
      if (socket.readableEnded || bytesRead(socket) - answeredAt > LINGER_BYTES) socket.destroy();
      return;
    }
    const code = (error as { code?: unknown }).code;
    // Nothing to answer on a connection that is gone, or whose response has begun.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(code);
    const body = JSON.stringify(httpError(status, STATUS_CODES[status] ?? 'Bad Request').toJSON());
    lingering.set(socket, bytesRead(socket));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

/** The bytes read from a socket so far (a `net.Socket`'s `bytesRead`; 0 for a stream without one). */
function bytesRead(socket: Duplex): number {
  const read = (socket as { bytesRead?: unknown }).bytesRead;
  return typeof read === 'number' ? read : 0;
}
