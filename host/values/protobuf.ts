// A small protobuf wire-format encoder: just what the host needs to serialize the messages Envoy
// hands to plugins as property values (envoy.config.core.v3.Node, Metadata, Locality and the
// well-known google.protobuf.Struct / Value / ListValue). Fields are written in field-number order
// and default (empty) scalars are omitted, as protobuf's C++ serializer does.

/** A JSON value, as node metadata and filter metadata are written by users. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object (google.protobuf.Struct). */
export type JsonObject = { [key: string]: JsonValue };

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

/** Appends protobuf fields to a growing buffer. */
export class ProtoWriter {
  private buf = Buffer.allocUnsafe(64);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A varint field (enums, bools, non-negative ints); 0 is omitted unless `always`. */
  uint(field: number, v: number, always = false): this {
    if (v === 0 && !always) return this;
    this.tag(field, WIRE_VARINT);
    this.varint(v);
    return this;
  }

  /** A double field; 0 is omitted unless `always` (oneof members are always written). */
  double(field: number, v: number, always = false): this {
    if (v === 0 && !always && !Object.is(v, -0)) return this;
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
    return this;
  }

  /** A length-delimited field of raw bytes. */
  bytes(field: number, data: Uint8Array, always = false): this {
    if (data.length === 0 && !always) return this;
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  /** A string field (UTF-8); "" is omitted unless `always`. */
  string(field: number, s: string | undefined, always = false): this {
    if (s === undefined || (s === "" && !always)) return this;
    return this.bytes(field, Buffer.from(s, "utf8"), always);
  }

  /** An embedded message field; written even when empty if `always` (set sub-messages). */
  message(field: number, encode: (w: ProtoWriter) => void, always = true): this {
    const inner = new ProtoWriter();
    encode(inner);
    return this.bytes(field, inner.finish(), always);
  }

  /** The encoded bytes. */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Encodes a google.protobuf.Value. */
export function encodeValue(w: ProtoWriter, v: JsonValue): void {
  if (v === null) w.uint(1, 0, true); // null_value: NULL_VALUE
  else if (typeof v === "number") w.double(2, v, true);
  else if (typeof v === "string") w.string(3, v, true);
  else if (typeof v === "boolean") w.uint(4, v ? 1 : 0, true);
  else if (Array.isArray(v)) w.message(6, (l) => encodeListValue(l, v));
  else w.message(5, (s) => encodeStruct(s, v));
}

/** Encodes a google.protobuf.ListValue: repeated Value values = 1. */
export function encodeListValue(w: ProtoWriter, items: readonly JsonValue[]): void {
  for (const item of items) w.message(1, (x) => encodeValue(x, item));
}

/** Encodes a google.protobuf.Struct: map<string, Value> fields = 1 (entries: key 1, value 2). */
export function encodeStruct(w: ProtoWriter, obj: JsonObject): void {
  for (const [k, v] of Object.entries(obj)) {
    w.message(1, (e) => {
      e.string(1, k);
      e.message(2, (x) => encodeValue(x, v));
    });
  }
}

