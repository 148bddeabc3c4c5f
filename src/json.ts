/**
 * Whether JSON text repeats a member name within one object, at any depth,
 * given the text's bytes and the value `JSON.parse` made of them. JSON.parse
 * keeps one member per name, so the text repeats a name exactly when it holds
 * more members than the value: {"sub":"a","sub":"admin"} (or "\u0073ub") has
 * two, its value one. Linear, allocation-free over the text, and iterative, so
 * no nesting depth can overflow the stack.
 */
export function hasDuplicateMembers(json: Uint8Array, value: unknown): boolean {
  return memberCount(json) !== propertyCount(value);
}

/** Members in JSON text: the colons outside strings (a colon means nothing else there). */
function memberCount(json: Uint8Array): number {
  let members = 0;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (byte === QUOTE) {
      // To the closing quote, past escaped characters (a quote among them, perhaps).
      for (i++; i < json.length && json[i] !== QUOTE; i++) if (json[i] === BACKSLASH) i++;
    } else if (byte === COLON) {
      members++;
    }
  }
  return members;
}

/** Own properties of every object in a parsed JSON value; nested values wait in a list, not on the stack. */
function propertyCount(value: unknown): number {
  let properties = 0;
  let pending: object[] | undefined;
  let next = value;
  for (;;) {
    if (Array.isArray(next)) {
      for (const element of next) if (typeof element === 'object' && element !== null) (pending ??= []).push(element);
    } else if (typeof next === 'object' && next !== null) {
      const keys = Object.keys(next);
      properties += keys.length;
      for (const key of keys) {
        const child = (next as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) (pending ??= []).push(child);
      }
    }
    if (pending === undefined || pending.length === 0) return properties;
    next = pending.pop();
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
