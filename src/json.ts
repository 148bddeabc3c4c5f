/**
 * Whether JSON text (already known to parse) repeats a member name within one
 * object, at any depth. Names are compared after unescaping, so "a" and
 * "\u0061" are the same name. One pass; only names with escapes are unescaped.
 */
export function hasDuplicateMembers(json: string): boolean {
  // One set of names per open object; `undefined` for an open array.
  const open: Array<Set<string> | undefined> = [];
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const char = json.charCodeAt(i);
    if (char === QUOTE) {
      let end = i + 1;
      let escaped = false;
      for (let c = json.charCodeAt(end); c !== QUOTE && end < json.length; c = json.charCodeAt(end)) {
        if (c === BACKSLASH) {
          escaped = true;
          end += 2;
        } else {
          end += 1;
        }
      }
      if (expectName) {
        const names = open[open.length - 1]!;
        const name = escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end);
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
