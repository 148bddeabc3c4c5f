import type { IncomingMessage } from 'node:http';
import { unquote } from './fields';

/**
 * Bodies that no body parser read — koa-bodyparser and `express.json()` skip
 * `application/merge-patch+json` and every other `+json` type they do not
 * list, and neither reads `multipart/form-data` — but that hold a token
 * (the JSON location) or a CSRF form field, as Flask's `request.json` and
 * `request.form` would find them.
 */

/** The longest unread body the library reads itself, in bytes; a longer one is left alone. */
export const MAX_UNPARSED_BODY = 65_536;

/**
 * Reads a body nobody read yet without taking it away: once its end has
 * arrived, every byte is pushed back (`Readable#unshift`), so a parser that
 * runs after the library (multer on an upload route) still reads it whole.
 * `undefined` when it was read already, is longer than {@link MAX_UNPARSED_BODY},
 * or fails.
 */
export function peekBody(req: IncomingMessage): Promise<Buffer | undefined> | undefined {
  if (req.readableDidRead || req.readableEnded || req.readableFlowing) return undefined;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(declared) || declared > MAX_UNPARSED_BODY) return undefined;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (body: Buffer | undefined) => {
      req.off('readable', onReadable);
      req.off('error', onError);
      req.pause();
      // Back in front of the stream before its 'end' goes out, for whoever reads it next.
      if (chunks.length > 0) req.unshift(Buffer.concat(chunks));
      resolve(body);
    };
    const onError = () => finish(undefined);
    const onReadable = () => {
      if (req.complete && req.readableLength === 0 && chunks.length === 0) return finish(Buffer.alloc(0));
      let chunk: Buffer | null;
      while ((chunk = req.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > MAX_UNPARSED_BODY) return finish(undefined);
      }
      if (req.complete) finish(Buffer.concat(chunks));
    };
    req.on('error', onError);
    req.on('readable', onReadable);
    if (req.complete && req.readableLength === 0) finish(Buffer.alloc(0));
  });
}

/**
 * The text fields of a `multipart/form-data` body (RFC 7578), each name once
 * (a repeated name gives its values as an array); file parts are skipped. One
 * pass over the bytes; `undefined` when the body is not well formed.
 */
export function multipartFields(body: Buffer, contentType: string): Record<string, string | string[]> | undefined {
  const boundary = boundaryOf(contentType);
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const partEnd = Buffer.from(`\r\n--${boundary}`);
  const fields = newFields();
  let at = body.indexOf(delimiter);
  if (at < 0) return undefined;
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return fields; // the closing delimiter
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) return undefined;
    const headersEnd = body.indexOf('\r\n\r\n', at);
    const next = body.indexOf(partEnd, at);
    if (headersEnd < 0 || next < 0 || headersEnd > next) return undefined;
    const name = fieldName(body.toString('latin1', at + 2, headersEnd));
    if (name !== undefined) addField(fields, name, body.toString('utf8', headersEnd + 4, next));
    at = next + 2;
  }
}

/** The `boundary` parameter of a multipart `Content-Type`, unquoted. */
function boundaryOf(contentType: string): string | undefined {
  for (const parameter of contentType.split(';').slice(1)) {
    const separator = parameter.indexOf('=');
    if (separator < 0 || parameter.slice(0, separator).trim().toLowerCase() !== 'boundary') continue;
    const unquoted = unquote(parameter.slice(separator + 1).trim());
    return unquoted.length > 0 && unquoted.length <= 70 ? unquoted : undefined;
  }
  return undefined;
}

/** The field name of a part's headers, when it is a text field (`form-data`, no `filename`). */
function fieldName(headers: string): string | undefined {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
    const parameters = line.slice(colon + 1).split(';').map((part) => part.trim());
    if (parameters[0].toLowerCase() !== 'form-data') return undefined;
    let name: string | undefined;
    for (const parameter of parameters.slice(1)) {
      const separator = parameter.indexOf('=');
      const key = parameter.slice(0, separator).trim().toLowerCase();
      const value = unquote(parameter.slice(separator + 1).trim());
      if (key === 'filename' || key === 'filename*') return undefined;
      if (key === 'name') name = value;
    }
    return name;
  }
  return undefined;
}

/**
 * The fields of an `application/x-www-form-urlencoded` body, a repeated name's
 * values as an array: `new URLSearchParams(body.toString('utf8'))` as the
 * WHATWG URL standard defines it, in one pass of our own. Node 24's
 * `URLSearchParams` looks for each pair's `=` up to the end of the whole input,
 * so a body of pairs without one (`a&a&a…`) costs quadratic time there. (Node's
 * also loses a literal non-ASCII character in a pair that holds a %XX escape:
 * `é%A9` gives one U+FFFD; here, as the standard says, `é` and U+FFFD.)
 */
export function urlencodedFields(body: Buffer): Record<string, string | string[]> {
  const fields = newFields();
  // Invalid UTF-8 becomes U+FFFD before percent-decoding, as it did through the string.
  const bytes = Buffer.from(body.toString('utf8'), 'utf8');
  // URLSearchParams drops one leading '?' of its input: so does this reader.
  let start = bytes[0] === 0x3f ? 1 : 0;
  let equals = -1;
  let encoded = false;
  for (let i = start; i <= bytes.length; i++) {
    const byte = i < bytes.length ? bytes[i] : 0x26;
    if (byte === 0x3d && equals < 0) equals = i;
    else if (byte === 0x2b || byte === 0x25) encoded = true;
    if (byte !== 0x26) continue;
    if (i > start) {
      const nameEnd = equals < 0 ? i : equals;
      const name = formDecoded(bytes, start, nameEnd, encoded);
      addField(fields, name, equals < 0 ? '' : formDecoded(bytes, equals + 1, i, encoded));
    }
    start = i + 1;
    equals = -1;
    encoded = false;
  }
  return fields;
}

/** `bytes[start, end)` with `+` as a space and `%XX` decoded (a `%` without two hex digits stays), as UTF-8 text. */
function formDecoded(bytes: Buffer, start: number, end: number, encoded: boolean): string {
  if (!encoded) return bytes.toString('utf8', start, end);
  const out = Buffer.allocUnsafe(end - start);
  let length = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    const high = byte === 0x25 && i + 2 < end ? hexValue(bytes[i + 1]) : -1;
    const low = high < 0 ? -1 : hexValue(bytes[i + 2]);
    if (low >= 0) {
      out[length++] = high * 16 + low;
      i += 2;
    } else {
      out[length++] = byte === 0x2b ? 0x20 : byte;
    }
  }
  return out.toString('utf8', 0, length);
}

/** The value of an ASCII hex digit, -1 for any other byte. */
function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** Fields by name, without a prototype: a field named `__proto__` or `constructor` is a field like any other. */
function newFields(): Record<string, string | string[]> {
  return Object.create(null) as Record<string, string | string[]>;
}

/** Adds a field's value; a repeated name's values gather in one array, appended to in place (linear however often a name repeats). */
function addField(fields: Record<string, string | string[]>, name: string, value: string): void {
  const seen = fields[name];
  if (seen === undefined) fields[name] = value;
  else if (Array.isArray(seen)) seen.push(value);
  else fields[name] = [seen, value];
}
