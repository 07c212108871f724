// UTF-8 ⇄ UTF-16 for every string that crosses the ABI. Smaller than the standard library's
// String.UTF8 (which carries error modes and a reallocation to trim its result): a decoded
// string is allocated at its worst-case size and its length header is set to what was written —
// the block's slack stays with the allocation. Lone surrogates encode as WTF-8, as
// String.UTF8 does by default; invalid UTF-8 decodes to U+FFFD instead of trapping.
import { OBJECT, TOTAL_OVERHEAD } from "rt/common";

/**
 * Sets the byte length of a managed object (string or ArrayBuffer) at `ptr` to `size`, which must
 * not exceed what was allocated: how the SDK trims buffers allocated at their worst-case size.
 */
// @ts-ignore: decorator
@inline export function setObjectSize(ptr: usize, size: usize): void {
  changetype<OBJECT>(ptr - TOTAL_OVERHEAD).rtSize = <u32>size;
}

/**
 * Encodes `units` UTF-16 code units at `str` as UTF-8 at `dest` (room for 3 bytes per unit);
 * returns the number of bytes written.
 */
export function encodeUtf8(str: usize, units: usize, dest: usize): usize {
  const end = str + (units << 1);
  let d = dest;
  while (str < end) {
    let c = <u32>load<u16>(str);
    str += 2;
    if (c < 0x80) {
      store<u8>(d++, <u8>c);
      continue;
    }
    // Continuation bytes after the lead byte.
    let n: u32 = 2;
    if (c < 0x800) {
      n = 1;
    } else if ((c & 0xfc00) == 0xd800 && str < end) {
      const lo = <u32>load<u16>(str);
      if ((lo & 0xfc00) == 0xdc00) {
        c = 0x10000 + ((c & 0x3ff) << 10) + (lo & 0x3ff);
        str += 2;
        n = 3;
      }
    }
    store<u8>(d++, <u8>((<u32>0xff << (7 - n)) | (c >> (6 * n))));
    while (n > 0) {
      n--;
      store<u8>(d++, <u8>(0x80 | ((c >> (6 * n)) & 0x3f)));
    }
  }
  return d - dest;
}

/** Decodes `len` bytes of UTF-8 at `ptr` into a new string. */
export function decodeUtf8(ptr: usize, len: usize): string {
  // Never more UTF-16 units than bytes.
  const out = __new(len << 1, idof<string>());
  const end = ptr + len;
  let o = out;
  while (ptr < end) {
    let c = <u32>load<u8>(ptr++);
    if (c >= 0x80) {
      // Continuation bytes announced by the lead byte: 110xxxxx 1, 1110xxxx 2, 11110xxx 3.
      const n: u32 = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
      // Only 10xxxxxx bytes continue a sequence: a broken one becomes U+FFFD and the byte that
      // broke it is decoded on its own (text after a stray latin1 byte survives).
      let i: u32 = 0;
      if (c >= 0xc0 && c < 0xf8) {
        c &= 0x3f >> n;
        while (i < n && ptr + i < end && (<u32>load<u8>(ptr + i) & 0xc0) == 0x80) c = (c << 6) | (<u32>load<u8>(ptr + i++) & 0x3f);
      }
      ptr += i;
      if (i < n || c > 0x10ffff) {
        c = 0xfffd;
      } else if (c >= 0x10000) {
        c -= 0x10000;
        store<u16>(o, <u16>(0xd800 | (c >> 10)));
        o += 2;
        c = 0xdc00 | (c & 0x3ff);
      }
    }
    store<u16>(o, <u16>c);
    o += 2;
  }
  setObjectSize(out, o - out);
  return changetype<string>(out);
}

/** A new empty buffer (without the size check of `new ArrayBuffer`, which cannot fail here). */
export function emptyBuffer(): ArrayBuffer {
  return changetype<ArrayBuffer>(__new(0, idof<ArrayBuffer>()));
}

/** Decodes a whole buffer of UTF-8. */
export function decodeBuffer(buf: ArrayBuffer): string {
  return decodeUtf8(changetype<usize>(buf), <usize>buf.byteLength);
}

/** Encodes a string as UTF-8 into a new buffer. */
export function encodeString(s: string): ArrayBuffer {
  const buf = __new(<usize>s.length * 3, idof<ArrayBuffer>());
  setObjectSize(buf, encodeUtf8(changetype<usize>(s), <usize>s.length, buf));
  return changetype<ArrayBuffer>(buf);
}
