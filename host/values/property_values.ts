// Property (attribute) values as Envoy's CEL layer hands them to proxy_get_property, and their
// serialization: strings and bytes raw; int64 / uint64 / double as 8 bytes little-endian; bool as
// one byte; timestamps and durations as int64 nanoseconds; protobuf messages as their serialized
// bytes; maps and lists in the pairs format (a list puts its items in the key slot). Maps, lists
// and messages can be walked further by extending the path (a key, an index, a field name).
import { fromByteString, toByteString } from "../abi/text.js";
import type { JsonObject, JsonValue } from "./protobuf.js";

/** A CEL map: looked up by key (a byte string), listed for serialization. */
export interface PropertyMap {
  kind: "map";
  get(key: string): PropertyValue | undefined;
  /** Every entry; undefined when the map cannot be listed (serializing it fails, as in Envoy). */
  entries(): Array<[string, PropertyValue]> | undefined;
}

/** A CEL list. */
export interface PropertyList {
  kind: "list";
  items: readonly PropertyValue[];
}

/** A protobuf message: its fields by name, and its wire bytes. */
export interface PropertyMessage {
  kind: "message";
  /** A field by name; undefined when the message has no such field (NOT_FOUND). */
  field(name: string): PropertyValue | undefined;
  encode(): Uint8Array;
}

/** A property value before serialization. Strings are byte strings (one char per byte). */
export type PropertyValue =
  | { kind: "string"; value: string }
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "int"; value: bigint }
  | { kind: "uint"; value: bigint }
  | { kind: "double"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "null" }
  | PropertyMap
  | PropertyList
  | PropertyMessage;

/** A property value as a user sets it: text (sent as UTF-8), an int64, a bool, bytes, or a string map. */
export type PropertyLiteral = string | number | bigint | boolean | Buffer | Uint8Array | Array<[string, string]>;

/** A byte string value. */
export const byteStr = (value: string): PropertyValue => ({ kind: "string", value });
/** A Unicode text value (sent as UTF-8). */
export const text = (value: string): PropertyValue => ({ kind: "string", value: toByteString(value) });
export const int = (value: number | bigint): PropertyValue => ({ kind: "int", value: BigInt(value) });
export const uint = (value: number | bigint): PropertyValue => ({ kind: "uint", value: BigInt(value) });
export const bool = (value: boolean): PropertyValue => ({ kind: "bool", value });
/** A timestamp or duration given in milliseconds, as int64 nanoseconds. */
export const nanosFromMs = (ms: number): PropertyValue => ({ kind: "int", value: BigInt(Math.round(ms * 1e6)) });

const EMPTY_ENTRIES: Array<[string, PropertyValue]> = [];

/** An empty map (e.g. an unset google.protobuf.Struct). */
export const EMPTY_MAP: PropertyMap = { kind: "map", get: () => undefined, entries: () => EMPTY_ENTRIES };
/** An empty list. */
export const EMPTY_LIST: PropertyList = { kind: "list", items: [] };

/** A map over fixed entries (keys are byte strings). */
export function mapOf(entries: Array<[string, PropertyValue]>): PropertyMap {
  return {
    kind: "map",
    get: (key) => entries.find(([k]) => k === key)?.[1],
    entries: () => entries,
  };
}

/** A google.protobuf.Value as CEL unwraps it: number → double, struct → map, list → list, null → null. */
export function jsonValue(v: JsonValue): PropertyValue {
  if (v === null) return { kind: "null" };
  if (typeof v === "number") return { kind: "double", value: v };
  if (typeof v === "string") return text(v);
  if (typeof v === "boolean") return bool(v);
  if (Array.isArray(v)) return { kind: "list", items: v.map(jsonValue) };
  return structMap(v);
}

/** A google.protobuf.Struct as CEL unwraps it: a map from its field names to values. */
export function structMap(obj: JsonObject): PropertyMap {
  return {
    kind: "map",
    get: (key) => {
      const k = fromByteString(key);
      return Object.prototype.hasOwnProperty.call(obj, k) ? jsonValue(obj[k]!) : undefined;
    },
    entries: () => Object.entries(obj).map(([k, v]) => [toByteString(k), jsonValue(v)]),
  };
}

/** Converts a user-given literal: text → string, integral number / bigint → int64, bytes, map. */
export function literalValue(v: PropertyLiteral): PropertyValue {
  if (typeof v === "string") return text(v);
  if (typeof v === "boolean") return bool(v);
  if (typeof v === "bigint") return int(v);
  if (typeof v === "number") return Number.isInteger(v) ? int(v) : { kind: "double", value: v };
  if (v instanceof Uint8Array) return { kind: "bytes", value: v };
  return mapOf(v.map(([k, x]) => [toByteString(k), text(x)]));
}

// Writes serialized pairs: u32 count, count × (u32 key length, u32 value length), then each key
// and value NUL-terminated.
function pairsOf(pairs: Array<[Buffer, Buffer]>): Buffer {
  let size = 4;
  for (const [k, v] of pairs) size += 10 + k.length + v.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(pairs.length, 0);
  let lens = 4;
  let data = 4 + pairs.length * 8;
  for (const [k, v] of pairs) {
    out.writeUInt32LE(k.length, lens);
    out.writeUInt32LE(v.length, lens + 4);
    lens += 8;
    out.set(k, data);
    data += k.length;
    out[data++] = 0;
    out.set(v, data);
    data += v.length;
    out[data++] = 0;
  }
  return out;
}

const EMPTY = Buffer.alloc(0);

/** Serializes a value the way Envoy does; undefined when it cannot be (SERIALIZATION_FAILURE: null). */
export function serializeProperty(v: PropertyValue): Buffer | undefined {
  switch (v.kind) {
    case "string": return Buffer.from(v.value, "latin1");
    case "bytes": return Buffer.from(v.value.buffer, v.value.byteOffset, v.value.length);
    case "int": { const b = Buffer.allocUnsafe(8); b.writeBigInt64LE(BigInt.asIntN(64, v.value)); return b; }
    case "uint": { const b = Buffer.allocUnsafe(8); b.writeBigUInt64LE(BigInt.asUintN(64, v.value)); return b; }
    case "double": { const b = Buffer.allocUnsafe(8); b.writeDoubleLE(v.value); return b; }
    case "bool": return Buffer.from([v.value ? 1 : 0]);
    case "null": return undefined;
    case "message": { const e = v.encode(); return Buffer.from(e.buffer, e.byteOffset, e.length); }
    case "map": {
      const entries = v.entries();
      if (!entries) return undefined;
      const pairs: Array<[Buffer, Buffer]> = [];
      for (const [k, x] of entries) {
        const s = serializeProperty(x);
        if (s === undefined) return undefined;
        pairs.push([Buffer.from(k, "latin1"), s]);
      }
      return pairsOf(pairs);
    }
    case "list": {
      const pairs: Array<[Buffer, Buffer]> = [];
      for (const x of v.items) {
        const s = serializeProperty(x);
        if (s === undefined) return undefined;
        pairs.push([s, EMPTY]);
      }
      return pairsOf(pairs);
    }
  }
}

/** Walks one path segment into a value: a map key, a message field, or a list index. */
export function selectProperty(v: PropertyValue, segment: string): PropertyValue | undefined {
  switch (v.kind) {
    case "map": return v.get(segment);
    case "message": return v.field(segment);
    case "list": {
      // Envoy parses the index with SimpleAtoi: optional sign, decimal digits.
      if (!/^[+-]?\d+$/.test(segment.trim())) return undefined;
      const i = Number(segment.trim());
      return i >= 0 && i < v.items.length ? v.items[i] : undefined;
    }
    default: return undefined;
  }
}
