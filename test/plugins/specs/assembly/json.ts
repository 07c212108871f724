// Spec module of plugins/common/assembly/json.ts: parses text and prints the value back as JSON,
// so vitest compares it with JavaScript's own parser.
import { JsonKind, JsonValue, jsonError, parseJson } from "../../../../plugins/common/assembly/json";
import { number, quote } from "./text";

/** The document re-printed as JSON.stringify(JSON.parse(text)) prints it, or "!" and the reason it was refused. */
export function parse(text: string): string {
  const v = parseJson(text);
  return v === null ? "!" + jsonError : print(v);
}

/** The parsed value's kind name (for error messages about the wrong kind). */
export function kindName(text: string): string {
  const v = parseJson(text);
  return v === null ? "!" + jsonError : v.kindName();
}

export function print(v: JsonValue): string {
  switch (v.kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return v.flag ? "true" : "false";
    case JsonKind.Number: return number(v.num);
    case JsonKind.String: return quote(v.str);
    case JsonKind.Array: {
      const parts = new Array<string>();
      for (let i = 0; i < v.length; i++) parts.push(print(v.at(i)));
      return "[" + parts.join(",") + "]";
    }
    default: {
      // A repeated key keeps its first position and its last value, as in JavaScript objects.
      const parts = new Array<string>();
      const seen = new Set<string>();
      for (let i = 0; i < v.length; i++) {
        const k = v.keyAt(i);
        if (seen.has(k)) continue;
        seen.add(k);
        parts.push(quote(k) + ":" + print(changetype<JsonValue>(v.get(k))));
      }
      return "{" + parts.join(",") + "}";
    }
  }
}
