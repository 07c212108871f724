// plugins/common/assembly/pb_struct.ts (google.protobuf.Struct, the wire form of node metadata in
// x-envoy-peer-metadata) on its own, compiled with each supported AssemblyScript: encodings equal
// the host's own protobuf writer with keys sorted by UTF-8 bytes (deterministic serialization),
// decodings read back every kind of value, and malformed input is refused, never trapped on.
import { beforeAll, describe, expect, it } from "vitest";
import { encodeStruct, ProtoWriter, type JsonObject, type JsonValue } from "../../host/values/protobuf.js";
import { loadSpec, SPEC_VARIANTS, type Spec } from "./helpers/as_spec.js";

/** The Struct of `obj` as another encoder writes it (entries in the object's order). */
function reference(obj: JsonObject): Buffer {
  const w = new ProtoWriter();
  encodeStruct(w, obj);
  return w.finish();
}

/** `v` with object keys sorted by their UTF-8 bytes, at every level. */
function sorted(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sorted);
  if (v === null || typeof v !== "object") return v;
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Object.fromEntries(keys.map((k) => [k, sorted(v[k]!)]));
}

const DOCS: JsonObject[] = [
  {},
  { a: "" },
  { NAME: "productpage-v1-6b746f74dc-9stvs", NAMESPACE: "default", LABELS: { app: "productpage", version: "v1" }, CLUSTER_ID: "Kubernetes" },
  { s: "é中😀 \"quoted\"", n: -1.5, z: 0, big: 1e300, t: true, f: false, nil: null },
  { list: [1, "two", null, false, { k: "v" }, []], empty: {}, nested: { a: { b: { c: { d: "deep" } } } } },
  { b: 1, a: 2, "\uffff": 3, "😀": 4, é: 5, A: 7 }, // UTF-8 order differs from UTF-16 order for the last ones
];

// Wire pieces for hand-made inputs.
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
};
const ld = (field: number, body: number[]): number[] => [(field << 3) | 2, ...varint(body.length), ...body];
const entry = (key: number[], value: number[]) => ld(1, [...ld(1, key), ...ld(2, value)]);
const ascii = (s: string) => [...Buffer.from(s)];

describe.each(SPEC_VARIANTS)("plugins/common pb_struct.ts ($name)", (variant) => {
  let spec: Spec;
  beforeAll(async () => {
    spec = await loadSpec("pb_struct", variant);
  });
  const decode = (bytes: Uint8Array | number[]) => spec.text("decode", Uint8Array.from(bytes));

  it("encodes as a deterministic protobuf serializer does: keys sorted by UTF-8 bytes at every level", () => {
    for (const doc of DOCS) {
      const ours = spec.bytes("encode", JSON.stringify(doc))!;
      expect(Buffer.from(ours).toString("hex"), JSON.stringify(doc)).toBe(reference(sorted(doc) as JsonObject).toString("hex"));
    }
  });

  it("decodes every kind of value, entries in wire order, from its own encoding and another encoder's", () => {
    for (const doc of DOCS) {
      expect(decode(spec.bytes("encode", JSON.stringify(doc))!)).toBe(JSON.stringify(sorted(doc)));
      expect(decode(reference(doc))).toBe(JSON.stringify(doc));
    }
  });

  it("writes an empty key and an empty string, as protobuf writes both fields of a map entry", () => {
    // entry { key "" ; value { string_value "" } }; the reference writer leaves the empty key out.
    expect(Buffer.from(spec.bytes("encode", '{"":""}')!).toString("hex")).toBe("0a060a0012021a00");
    expect(decode(Buffer.from("0a060a0012021a00", "hex"))).toBe('{"":""}');
    expect(decode(reference({ "": "" }))).toBe('{"":""}');
  });

  it("reads a repeated key as its last value (protobuf map semantics), and a Value with no kind as unset", () => {
    expect(decode([...reference({ a: "first" }), ...reference({ b: "x" }), ...reference({ a: "last" })])).toBe('{"a":"last","b":"x"}');
    expect(decode(entry(ascii("k"), []))).toBe('{"k":"<unset>"}');
    expect(decode([])).toBe("{}");
  });

  it("refuses every truncation of a valid Struct", () => {
    const whole = reference({ LABELS: { app: "reviews", version: "v2" } });
    for (let n = 1; n < whole.length; n++) expect(decode(whole.subarray(0, n)), `first ${n} of ${whole.length} bytes`).toBe("!");
  });

  it("refuses unknown fields, wrong wire types, bad lengths, invalid UTF-8 and over-deep nesting", () => {
    const str = (s: string) => ld(3, ascii(s));
    expect(decode(entry(ascii("k"), str("v")))).toBe('{"k":"v"}');
    expect(decode([...entry(ascii("k"), str("v")), ...ld(2, [])])).toBe("!"); // Struct field 2
    expect(decode(entry(ascii("k"), [...str("v"), ...ld(9, [])]))).toBe("!"); // Value field 9
    expect(decode([0x08, 0x01])).toBe("!"); // field 1 as a varint
    expect(decode(entry(ascii("k"), [0x1a, 0x05, 0x61]))).toBe("!"); // string longer than its message
    expect(decode([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).toBe("!"); // length varint past 64 bits
    expect(decode(entry([0xc3, 0x28], str("v")))).toBe("!"); // key not UTF-8
    expect(decode(entry(ascii("k"), ld(3, [0xed, 0xa0, 0x80])))).toBe("!"); // a surrogate in UTF-8
    expect(decode(entry(ascii("k"), ld(3, [0xc0, 0xaf])))).toBe("!"); // overlong encoding
    let deep = reference({ leaf: "x" });
    for (let i = 0; i < 40; i++) deep = Buffer.from(entry(ascii("n"), ld(5, [...deep])));
    expect(decode(deep)).toBe("!");
  });

  it("reads nesting up to its limit", () => {
    let doc: JsonObject = { leaf: "x" };
    for (let i = 0; i < 15; i++) doc = { n: doc };
    expect(decode(reference(doc))).toBe(JSON.stringify(doc));
  });
});
