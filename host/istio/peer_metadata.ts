// Istio's peer metadata payload from the TypeScript side: google.protobuf.Struct in deterministic
// protobuf form and the base64 that travels in x-envoy-peer-metadata. Used to craft headers as an
// Istio sidecar would send them, to read what a plugin sent, and to check the AssemblyScript codec
// against an independent implementation.

/** A JSON-like value as a google.protobuf.Value holds it. */
export type StructValue = string | number | boolean | null | StructValue[] | { [key: string]: StructValue };

/** A google.protobuf.Struct as a plain object. */
export type StructObject = { [key: string]: StructValue };

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(body.length)]), body]);
}

function encodeValue(v: StructValue): Buffer {
  if (v === null) return Buffer.from([0x08, 0x00]);
  if (typeof v === "number") {
    const b = Buffer.alloc(9);
    b[0] = 0x11;
    b.writeDoubleLE(v, 1);
    return b;
  }
  if (typeof v === "boolean") return Buffer.from([0x20, v ? 1 : 0]);
  if (typeof v === "string") return lengthDelimited(3, Buffer.from(v, "utf8"));
  if (Array.isArray(v)) return lengthDelimited(6, Buffer.concat(v.map((item) => lengthDelimited(1, encodeValue(item)))));
  return lengthDelimited(5, encodeStruct(v));
}

/** Serializes a Struct deterministically (map keys sorted by UTF-8 bytes at every level). */
export function encodeStruct(s: StructObject): Buffer {
  const keys = Object.keys(s).sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
  return Buffer.concat(keys.map((k) => lengthDelimited(1, Buffer.concat([lengthDelimited(1, Buffer.from(k, "utf8")), lengthDelimited(2, encodeValue(s[k]!))]))));
}

/** The x-envoy-peer-metadata value for node metadata. */
export function encodePeerMetadata(metadata: StructObject): string {
  return encodeStruct(metadata).toString("base64");
}

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new Error("varint too long");
  }

  bytes(): Buffer {
    const n = this.varint();
    if (n > this.end - this.pos) throw new Error("length past the end");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

function decodeValue(buf: Buffer): StructValue {
  const c = new Cursor(buf);
  let v: StructValue = null;
  while (c.pos < c.end) {
    const tag = c.varint();
    switch (tag) {
      case 0x08: c.varint(); v = null; break;
      case 0x11: v = buf.readDoubleLE(c.pos); c.pos += 8; break;
      case 0x1a: v = c.bytes().toString("utf8"); break;
      case 0x20: v = c.varint() !== 0; break;
      case 0x2a: v = decodeStruct(c.bytes()); break;
      case 0x32: {
        const list = c.bytes();
        const lc = new Cursor(list);
        const items: StructValue[] = [];
        while (lc.pos < lc.end) {
          if (lc.varint() !== 0x0a) throw new Error("bad ListValue field");
          items.push(decodeValue(lc.bytes()));
        }
        v = items;
        break;
      }
      default: throw new Error(`unknown Value field (tag ${tag})`);
    }
  }
  return v;
}

/** Parses a serialized Struct; throws on anything that is not one. */
export function decodeStruct(buf: Buffer): StructObject {
  const c = new Cursor(buf);
  const out: StructObject = {};
  while (c.pos < c.end) {
    if (c.varint() !== 0x0a) throw new Error("bad Struct field");
    const entry = new Cursor(c.bytes());
    let key = "";
    let value: StructValue = null;
    while (entry.pos < entry.end) {
      const tag = entry.varint();
      if (tag === 0x0a) key = entry.bytes().toString("utf8");
      else if (tag === 0x12) value = decodeValue(entry.bytes());
      else throw new Error("bad map entry field");
    }
    out[key] = value;
  }
  return out;
}

/** Decodes an x-envoy-peer-metadata value. */
export function decodePeerMetadata(header: string): StructObject {
  return decodeStruct(Buffer.from(header, "base64"));
}

/** Istio's TCP metadata exchange magic (istio-peer-exchange), big-endian at the start of the preamble. */
export const TCP_EXCHANGE_MAGIC = 0x3d230467;
const STRUCT_TYPE_URL = "type.googleapis.com/google.protobuf.Struct";

/**
 * The preamble a sidecar writes at the start of a TCP connection: magic and length (4 bytes each,
 * big-endian), then a google.protobuf.Any holding a Struct with `x-envoy-peer-metadata` (the node
 * metadata) and `x-envoy-peer-metadata-id` (the node id, when there is one).
 */
export function encodeTcpExchange(metadata: StructObject, id?: string): Buffer {
  const data: StructObject = { "x-envoy-peer-metadata": metadata };
  if (id) data["x-envoy-peer-metadata-id"] = id;
  const any = Buffer.concat([lengthDelimited(1, Buffer.from(STRUCT_TYPE_URL, "utf8")), lengthDelimited(2, encodeStruct(data))]);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(TCP_EXCHANGE_MAGIC, 0);
  header.writeUInt32BE(any.length, 4);
  return Buffer.concat([header, any]);
}

/** A TCP exchange preamble at the start of `buf`: the peer's metadata and id, and the bytes after it. Throws when there is none. */
export function decodeTcpExchange(buf: Buffer): { metadata: StructObject; id: string | undefined; rest: Buffer } {
  if (buf.length < 8 || buf.readUInt32BE(0) !== TCP_EXCHANGE_MAGIC) throw new Error("no TCP exchange preamble");
  const size = buf.readUInt32BE(4);
  if (buf.length < 8 + size) throw new Error("truncated TCP exchange preamble");
  const c = new Cursor(buf.subarray(8, 8 + size));
  let url = "";
  let value: Buffer = Buffer.alloc(0);
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag === 0x0a) url = c.bytes().toString("utf8");
    else if (tag === 0x12) value = c.bytes();
    else throw new Error("bad Any field");
  }
  if (url !== STRUCT_TYPE_URL) throw new Error(`preamble holds ${url || "no type"}, not a Struct`);
  const data = decodeStruct(value);
  const md = data["x-envoy-peer-metadata"];
  const id = data["x-envoy-peer-metadata-id"];
  return { metadata: md && typeof md === "object" && !Array.isArray(md) ? md : {}, id: typeof id === "string" ? id : undefined, rest: buf.subarray(8 + size) };
}
