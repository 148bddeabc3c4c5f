import { STATUS_CODES } from 'node:http';
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
