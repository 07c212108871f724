// Strict reading of the proxy-wasm "pairs" encoding Envoy uses for map-valued properties
// (u32 count, count × (u32 key length, u32 value length), then key\0 value\0 …). Strict means the
// sizes must add up exactly, so a buffer in another format (a protobuf message) is not mistaken
// for pairs.
import { isValidUtf8 } from "./bytes";

/** Keys and values alternating, or null when `buf` is not exactly a pairs encoding. */
export function parsePairsStrict(buf: ArrayBuffer): Array<string> | null {
  const size = <usize>buf.byteLength;
  if (size < 4) return null;
  const base = changetype<usize>(buf);
  const n = <usize>load<u32>(base);
  if (n > (size - 4) / 8) return null;
  let data = base + 4 + n * 8;
  const end = base + size;
  const out = new Array<string>();
  for (let i: usize = 0; i < n; i++) {
    const kl = <usize>load<u32>(base + 4 + i * 8);
    const vl = <usize>load<u32>(base + 8 + i * 8);
    if (kl >= end - data || load<u8>(data + kl) != 0 || !isValidUtf8(data, kl)) return null;
    const key = String.UTF8.decodeUnsafe(data, kl);
    data += kl + 1;
    if (vl >= end - data || load<u8>(data + vl) != 0 || !isValidUtf8(data, vl)) return null;
    const value = String.UTF8.decodeUnsafe(data, vl);
    data += vl + 1;
    out.push(key);
    out.push(value);
  }
  return data == end ? out : null;
}
