/**
 * HTTP field values (RFC 9110 §5.6) as this library reads them from requests:
 * each in one linear pass over the value, so no input, however crafted, costs
 * more than its length. No regular expression ever meets untrusted input here.
 */

/**
 * Whitespace as Flask-JWT-Extended's `str.split()` sees it within Latin-1
 * (node decodes field values as Latin-1): tab to carriage return, the
 * separators 0x1c–0x1f, space, NEL and no-break space.
 */
export function isSpace(code: number): boolean {
  return (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x20) || code === 0x85 || code === 0xa0;
}

/** A quoted-string's content (`"x"` → `x`), or `value` as it is: cookie values (RFC 6265) and media-type parameters (RFC 9110). */
export function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** `value[start, end)` without the whitespace at either end. */
function trimmed(value: string, start: number, end: number): string {
  while (start < end && isSpace(value.charCodeAt(start))) start++;
  while (end > start && isSpace(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

/** The elements of a comma-separated list (RFC 9110 §5.6.1), trimmed; empty ones (`a, , b,`) dropped. */
export function listElements(value: string): string[] {
  const elements: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c) {
      const element = trimmed(value, start, i);
      if (element) elements.push(element);
      start = i + 1;
    }
  }
  return elements;
}

/** The words of a value, split at runs of whitespace, as Python's `str.split()`. */
export function words(value: string): string[] {
  const found: string[] = [];
  let start = -1;
  for (let i = 0; i <= value.length; i++) {
    const space = i === value.length || isSpace(value.charCodeAt(i));
    if (space && start >= 0) {
      found.push(value.slice(start, i));
      start = -1;
    } else if (!space && start < 0) {
      start = i;
    }
  }
  return found;
}

/** The media type of a `Content-Type` value, lower case, without parameters: `application/merge-patch+json`. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const end = contentType.indexOf(';');
  return trimmed(contentType, 0, end < 0 ? contentType.length : end).toLowerCase();
}

/** JSON as Werkzeug's `is_json` tells it: `application/json`, or any `application/…+json`. */
export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** An HTML form's body: urlencoded or multipart (RFC 7578). */
export function isFormMediaType(type: string): boolean {
  return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data';
}
