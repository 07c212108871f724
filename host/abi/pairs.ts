// The Proxy-Wasm pairs format for header maps: u32 count, count × (u32 key length, u32 value
// length), then each key and value followed by a NUL byte; little-endian. Strings are "byte
// strings" (latin1: one char per byte), which is how the host keeps header bytes exact.

/** A flat list of header entries: [key0, value0, key1, value1, …] as byte strings. */
export type FlatPairs = string[];

/** Limits the host's parser applies (Envoy: 1 MiB, 1024 pairs). */
export const MAX_PAIRS_BYTES = 1 << 20;
export const MAX_PAIRS_COUNT = 1024;

/** Serialized size of `pairs`. */
export function pairsSize(pairs: FlatPairs): number {
  let size = 4;
  for (let i = 0; i < pairs.length; i += 2) size += 10 + pairs[i]!.length + pairs[i + 1]!.length;
  return size;
}

/** Writes `pairs` into `buf` at `offset` (which must have pairsSize(pairs) bytes). */
export function writePairs(buf: Buffer, offset: number, pairs: FlatPairs): void {
  const n = pairs.length >>> 1;
  buf.writeUInt32LE(n, offset);
  let lens = offset + 4;
  let data = offset + 4 + n * 8;
  for (let i = 0; i < pairs.length; i += 2) {
    const k = pairs[i]!;
    const v = pairs[i + 1]!;
    buf.writeUInt32LE(k.length, lens);
    buf.writeUInt32LE(v.length, lens + 4);
    lens += 8;
    data += buf.write(k, data, "latin1");
    buf[data++] = 0;
    data += buf.write(v, data, "latin1");
    buf[data++] = 0;
  }
}

/** Encodes pairs into a new Buffer. */
export function encodePairs(pairs: FlatPairs): Buffer {
  const buf = Buffer.allocUnsafe(pairsSize(pairs));
  writePairs(buf, 0, pairs);
  return buf;
}

/**
 * Decodes pairs from `buf[offset, offset+size)`. Returns null for malformed input — too large, too
 * many pairs, missing NUL terminators, lengths past the end, or trailing bytes — which callers treat
 * as an empty map, as Envoy does. An empty input (size 0, or a single 0x00 byte) is an empty map.
 */
export function decodePairs(buf: Uint8Array, offset: number, size: number): FlatPairs | null {
  if (size === 0) return [];
  if (size === 1 && buf[offset] === 0) return [];
  if (size > MAX_PAIRS_BYTES || size < 4) return null;
  const view = Buffer.from(buf.buffer, buf.byteOffset + offset, size);
  const n = view.readUInt32LE(0);
  if (n > MAX_PAIRS_COUNT || 4 + n * 8 > size) return null;
  const out: FlatPairs = new Array(n * 2);
  let data = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const kl = view.readUInt32LE(4 + i * 8);
    const vl = view.readUInt32LE(8 + i * 8);
    if (data + kl + 1 > size || view[data + kl] !== 0) return null;
    out[i * 2] = view.toString("latin1", data, data + kl);
    data += kl + 1;
    if (data + vl + 1 > size || view[data + vl] !== 0) return null;
    out[i * 2 + 1] = view.toString("latin1", data, data + vl);
    data += vl + 1;
  }
  if (data !== size) return null;
  return out;
}
