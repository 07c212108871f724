// A small JSON reader for plugin configuration (RFC 8259). Bad input never traps: parseJson returns
// null and leaves a one-line reason in `jsonError`.

export enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/** A parsed JSON value. Object keys keep their order; a repeated key keeps the last value. */
export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  flag: bool = false;
  num: f64 = 0;
  str: string = "";
  items: Array<JsonValue> | null = null;
  keys: Array<string> | null = null;

  /** Member `key` of an object, or null (also when this is not an object). */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const keys = changetype<Array<string>>(this.keys);
    const items = changetype<Array<JsonValue>>(this.items);
    for (let i = keys.length - 1; i >= 0; i--) {
      if (unchecked(keys[i]) == key) return unchecked(items[i]);
    }
    return null;
  }

  get isObject(): bool { return this.kind == JsonKind.Object; }
  get isArray(): bool { return this.kind == JsonKind.Array; }
  get isString(): bool { return this.kind == JsonKind.String; }

  /** Number of elements (array) or members (object). */
  get length(): i32 {
    return this.items !== null ? changetype<Array<JsonValue>>(this.items).length : 0;
  }

  /** Element or member value `i`. */
  at(i: i32): JsonValue {
    return unchecked(changetype<Array<JsonValue>>(this.items)[i]);
  }

  /** Member key `i` of an object. */
  keyAt(i: i32): string {
    return unchecked(changetype<Array<string>>(this.keys)[i]);
  }

  /** A short description of the kind, for error messages. */
  kindName(): string {
    switch (this.kind) {
      case JsonKind.Null: return "null";
      case JsonKind.Bool: return "a boolean";
      case JsonKind.Number: return "a number";
      case JsonKind.String: return "a string";
      case JsonKind.Array: return "an array";
      default: return "an object";
    }
  }
}

/** Why the last parseJson failed. */
export let jsonError: string = "";

const MAX_DEPTH = 64;

class Parser {
  pos: i32 = 0;
  failed: bool = false;
  constructor(public s: string) {}

  fail(what: string): void {
    if (!this.failed) {
      this.failed = true;
      jsonError = what + " at offset " + this.pos.toString();
    }
  }

  peek(): i32 {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }

  skipSpace(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c != 32 && c != 9 && c != 10 && c != 13) return;
      this.pos++;
    }
  }

  literal(word: string): bool {
    if (this.s.substr(this.pos, word.length) != word) return false;
    this.pos += word.length;
    return true;
  }

  value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) {
      this.fail("nesting too deep");
      return null;
    }
    this.skipSpace();
    const c = this.peek();
    const v = new JsonValue();
    if (c == 123) return this.object(depth);
    if (c == 91) return this.array(depth);
    if (c == 34) {
      const s = this.string();
      if (s === null) return null;
      v.kind = JsonKind.String;
      v.str = s;
      return v;
    }
    if (c == 116 && this.literal("true")) { v.kind = JsonKind.Bool; v.flag = true; return v; }
    if (c == 102 && this.literal("false")) { v.kind = JsonKind.Bool; return v; }
    if (c == 110 && this.literal("null")) return v;
    if (c == 45 || (c >= 48 && c <= 57)) return this.number();
    this.fail(c < 0 ? "unexpected end of input" : "unexpected character");
    return null;
  }

  number(): JsonValue | null {
    const start = this.pos;
    if (this.peek() == 45) this.pos++;
    const first = this.peek();
    if (first == 48) this.pos++;
    else if (first >= 49 && first <= 57) while (this.peek() >= 48 && this.peek() <= 57) this.pos++;
    else { this.fail("bad number"); return null; }
    if (this.peek() == 46) {
      this.pos++;
      if (!(this.peek() >= 48 && this.peek() <= 57)) { this.fail("bad number"); return null; }
      while (this.peek() >= 48 && this.peek() <= 57) this.pos++;
    }
    if (this.peek() == 101 || this.peek() == 69) {
      this.pos++;
      if (this.peek() == 43 || this.peek() == 45) this.pos++;
      if (!(this.peek() >= 48 && this.peek() <= 57)) { this.fail("bad number"); return null; }
      while (this.peek() >= 48 && this.peek() <= 57) this.pos++;
    }
    const v = new JsonValue();
    v.kind = JsonKind.Number;
    v.num = parseFloat(this.s.substring(start, this.pos));
    return v;
  }

  hex4(): i32 {
    if (this.pos + 4 > this.s.length) return -1;
    let n = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.s.charCodeAt(this.pos + i);
      let d: i32;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else return -1;
      n = (n << 4) | d;
    }
    this.pos += 4;
    return n;
  }

  string(): string | null {
    this.pos++; // opening quote
    let out = "";
    let chunk = this.pos;
    while (true) {
      if (this.pos >= this.s.length) { this.fail("unterminated string"); return null; }
      const c = this.s.charCodeAt(this.pos);
      if (c == 34) {
        out += this.s.substring(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c < 32) { this.fail("control character in string"); return null; }
      if (c != 92) { this.pos++; continue; }
      out += this.s.substring(chunk, this.pos);
      this.pos++;
      const e = this.peek();
      this.pos++;
      if (e == 34) out += "\"";
      else if (e == 92) out += "\\";
      else if (e == 47) out += "/";
      else if (e == 98) out += "\b";
      else if (e == 102) out += "\f";
      else if (e == 110) out += "\n";
      else if (e == 114) out += "\r";
      else if (e == 116) out += "\t";
      else if (e == 117) {
        const u = this.hex4();
        if (u < 0) { this.fail("bad \\u escape"); return null; }
        out += String.fromCharCode(u);
      } else { this.fail("bad escape"); return null; }
      chunk = this.pos;
    }
  }

  array(depth: i32): JsonValue | null {
    this.pos++;
    const v = new JsonValue();
    v.kind = JsonKind.Array;
    const items = new Array<JsonValue>();
    v.items = items;
    this.skipSpace();
    if (this.peek() == 93) { this.pos++; return v; }
    while (true) {
      const item = this.value(depth + 1);
      if (item === null) return null;
      items.push(item);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 93) return v;
      if (c != 44) { this.pos--; this.fail("expected ',' or ']'"); return null; }
    }
  }

  object(depth: i32): JsonValue | null {
    this.pos++;
    const v = new JsonValue();
    v.kind = JsonKind.Object;
    const keys = new Array<string>();
    const items = new Array<JsonValue>();
    v.keys = keys;
    v.items = items;
    this.skipSpace();
    if (this.peek() == 125) { this.pos++; return v; }
    while (true) {
      this.skipSpace();
      if (this.peek() != 34) { this.fail("expected a member name"); return null; }
      const k = this.string();
      if (k === null) return null;
      this.skipSpace();
      if (this.peek() != 58) { this.fail("expected ':'"); return null; }
      this.pos++;
      const item = this.value(depth + 1);
      if (item === null) return null;
      keys.push(k);
      items.push(item);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 125) return v;
      if (c != 44) { this.pos--; this.fail("expected ',' or '}'"); return null; }
    }
  }
}

/** Parses a JSON document; null (with `jsonError` set) when it is not valid JSON. */
export function parseJson(text: string): JsonValue | null {
  jsonError = "";
  const p = new Parser(text);
  const v = p.value(0);
  if (v === null) return null;
  p.skipSpace();
  if (p.pos != text.length) {
    p.fail("trailing characters");
    return null;
  }
  return v;
}
