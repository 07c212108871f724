// Spec module of plugins/common/assembly/pb_struct.ts: a Struct built from a JSON object is encoded,
// and an encoded Struct is printed back as JSON, so vitest compares both with an independent encoder.
import { JsonKind, JsonValue, parseJson } from "../../../../plugins/common/assembly/json";
import { decodeStructBuffer, encodeStruct, PbStruct, PbValue, ValueKind } from "../../../../plugins/common/assembly/pb_struct";
import { number, quote } from "./text";

function toValue(j: JsonValue): PbValue {
  switch (j.kind) {
    case JsonKind.Null: return PbValue.ofNull();
    case JsonKind.Bool: return PbValue.ofBool(j.flag);
    case JsonKind.Number: return PbValue.ofNumber(j.num);
    case JsonKind.String: return PbValue.ofString(j.str);
    case JsonKind.Array: {
      const items = new Array<PbValue>();
      for (let i = 0; i < j.length; i++) items.push(toValue(j.at(i)));
      return PbValue.ofList(items);
    }
    default: return PbValue.ofStruct(toStruct(j));
  }
}

function toStruct(j: JsonValue): PbStruct {
  const s = new PbStruct();
  for (let i = 0; i < j.length; i++) s.set(j.keyAt(i), toValue(j.at(i)));
  return s;
}

/** The Struct of a JSON object, serialized; an empty buffer when the text is not a JSON object. */
export function encode(json: string): ArrayBuffer {
  const j = parseJson(json);
  if (j === null || !j.isObject) return new ArrayBuffer(0);
  return encodeStruct(toStruct(j));
}

/** A serialized Struct printed as JSON (entries in wire order; an unset Value as "<unset>"), or "!" when refused. */
export function decode(bytes: ArrayBuffer): string {
  const s = decodeStructBuffer(bytes);
  return s === null ? "!" : printStruct(s);
}

export function printStruct(s: PbStruct): string {
  const parts = new Array<string>();
  for (let i = 0; i < s.keys.length; i++) parts.push(quote(s.keys[i]) + ":" + printValue(s.values[i]));
  return "{" + parts.join(",") + "}";
}

function printValue(v: PbValue): string {
  switch (v.kind) {
    case ValueKind.Null: return "null";
    case ValueKind.Number: return number(v.num);
    case ValueKind.String: return quote(v.str);
    case ValueKind.Bool: return v.flag ? "true" : "false";
    case ValueKind.Struct: return printStruct(changetype<PbStruct>(v.struct));
    case ValueKind.List: {
      const items = changetype<Array<PbValue>>(v.list);
      const parts = new Array<string>();
      for (let i = 0; i < items.length; i++) parts.push(printValue(items[i]));
      return "[" + parts.join(",") + "]";
    }
    default: return "\"<unset>\"";
  }
}
