// Byte-level helpers shared by the decoders: UTF-8 validation and byte-wise comparison, both on raw
// memory ranges so callers can check data in place without copying it.

/** True when `len` bytes at `ptr` are well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
export function isValidUtf8(ptr: usize, len: usize): bool {
  let i: usize = 0;
  while (i < len) {
    const b0 = <u32>load<u8>(ptr + i);
    if (b0 < 0x80) { i++; continue; }
    let need: usize;
    let min: u32;
    let cp: u32;
    if ((b0 & 0xe0) == 0xc0) { need = 1; min = 0x80; cp = b0 & 0x1f; }
    else if ((b0 & 0xf0) == 0xe0) { need = 2; min = 0x800; cp = b0 & 0x0f; }
    else if ((b0 & 0xf8) == 0xf0) { need = 3; min = 0x10000; cp = b0 & 0x07; }
    else return false;
    if (len - i <= need) return false;
    for (let k: usize = 1; k <= need; k++) {
      const b = <u32>load<u8>(ptr + i + k);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

/** Byte-wise comparison of two ranges, shorter-is-smaller on a common prefix (like memcmp + length). */
export function compareBytes(a: usize, aLen: usize, b: usize, bLen: usize): i32 {
  const n = aLen < bLen ? aLen : bLen;
  const c = memory.compare(a, b, n);
  if (c != 0) return c;
  return aLen < bLen ? -1 : aLen > bLen ? 1 : 0;
}

/** True when two buffers hold the same bytes. */
export function sameBytes(a: ArrayBuffer, b: ArrayBuffer): bool {
  const n = a.byteLength;
  return n == b.byteLength && memory.compare(changetype<usize>(a), changetype<usize>(b), <usize>n) == 0;
}

/** A string's UTF-8 bytes compared with `len` bytes at `ptr`, without allocating when it is short. */
export function equalsUtf8(s: string, ptr: usize, len: usize): bool {
  // ASCII fast path: compare UTF-16 units with bytes directly.
  const n = s.length;
  const sp = changetype<usize>(s);
  if (<usize>n == len) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = load<u16>(sp + (<usize>i << 1));
      if (c >= 0x80) { ascii = false; break; }
      if (<u32>c != <u32>load<u8>(ptr + <usize>i)) return false;
    }
    if (ascii) return true;
  }
  if (<usize>String.UTF8.byteLength(s) != len) return false;
  const enc = String.UTF8.encode(s);
  return memory.compare(changetype<usize>(enc), ptr, len) == 0;
}
