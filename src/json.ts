/**
 * Whether JSON text (already known to parse) repeats a member name within one
 * object, at any depth. Names are compared after unescaping, so "a" and
 * "\u0061" are the same name.
 */
export function hasDuplicateMembers(json: string): boolean {
  // One set of names per open object; `undefined` for an open array.
  const open: Array<Set<string> | undefined> = [];
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (char === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (expectName) {
        const names = open[open.length - 1]!;
        const name = JSON.parse(json.slice(i, end + 1)) as string;
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (char === '{') {
      open.push(new Set());
      expectName = true;
    } else if (char === '[') {
      open.push(undefined);
    } else if (char === '}' || char === ']') {
      open.pop();
    } else if (char === ',') {
      expectName = open[open.length - 1] !== undefined;
    }
  }
  return false;
}
