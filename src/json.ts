/**
 * Whether JSON text (already known to parse) repeats a member name within one
 * object, at any depth. Names are compared after unescaping, so "a" and
 * "\u0061" are the same name. One pass: string contents are skipped with
 * `indexOf`, and only names holding an escape are unescaped.
 */
export function hasDuplicateMembers(json: string): boolean {
  // One set of names per open object; `undefined` for an open array.
  const open: Array<Set<string> | undefined> = [];
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const char = json.charCodeAt(i);
    if (char === QUOTE) {
      const end = closingQuote(json, i);
      if (end < 0) return false; // not JSON after all: the parser refuses it
      if (expectName) {
        const names = open[open.length - 1]!;
        const raw = json.slice(i + 1, end);
        const name = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (char === OPEN_OBJECT) {
      open.push(new Set());
      expectName = true;
    } else if (char === OPEN_ARRAY) {
      open.push(undefined);
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      open.pop();
    } else if (char === COMMA) {
      expectName = open[open.length - 1] !== undefined;
    }
  }
  return false;
}

/** The index of the quote closing the string that opens at `start` (one not escaped by an odd run of backslashes), or -1. */
function closingQuote(json: string, start: number): number {
  let end = json.indexOf('"', start + 1);
  while (end > 0) {
    let backslashes = 0;
    while (json.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = json.indexOf('"', end + 1);
  }
  return -1;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
