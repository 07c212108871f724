// Standard base64 (RFC 4648 §4): encoding with padding, as Istio writes x-envoy-peer-metadata, and
// a strict-alphabet decoder that accepts missing padding, as Istio reads it. Decoding never traps:
// bad input returns null.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Decode table in static memory: 0..63 for alphabet characters, 0xff for anything else.
const DECODE: usize = memory.data<u8>([
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 62, 255, 255, 255, 63,
  52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 255, 255, 255, 255, 255, 255,
  255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 255, 255, 255, 255, 255,
  255, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
  41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 255, 255, 255, 255, 255,
]);

/** Base64 of `len` bytes at `ptr`, with `=` padding. */
export function base64Encode(ptr: usize, len: i32): string {
  const outLen = ((len + 2) / 3) * 4;
  // Built as UTF-16 directly: every output character is ASCII.
  const out = changetype<string>(__new(<usize>outLen << 1, idof<string>()));
  const o = changetype<usize>(out);
  const a = changetype<usize>(ALPHABET);
  let i = 0;
  let j: usize = 0;
  while (i + 3 <= len) {
    const n = (<u32>load<u8>(ptr + i) << 16) | (<u32>load<u8>(ptr + i + 1) << 8) | <u32>load<u8>(ptr + i + 2);
    store<u16>(o + j, load<u16>(a + ((n >> 18) << 1)));
    store<u16>(o + j + 2, load<u16>(a + (((n >> 12) & 63) << 1)));
    store<u16>(o + j + 4, load<u16>(a + (((n >> 6) & 63) << 1)));
    store<u16>(o + j + 6, load<u16>(a + ((n & 63) << 1)));
    i += 3;
    j += 8;
  }
  const rest = len - i;
  if (rest > 0) {
    let n = <u32>load<u8>(ptr + i) << 16;
    if (rest == 2) n |= <u32>load<u8>(ptr + i + 1) << 8;
    store<u16>(o + j, load<u16>(a + ((n >> 18) << 1)));
    store<u16>(o + j + 2, load<u16>(a + (((n >> 12) & 63) << 1)));
    store<u16>(o + j + 4, rest == 2 ? load<u16>(a + (((n >> 6) & 63) << 1)) : 61);
    store<u16>(o + j + 6, 61); // '='
  }
  return out;
}

/** Base64 of a whole buffer. */
export function base64EncodeBuffer(buf: ArrayBuffer): string {
  return base64Encode(changetype<usize>(buf), buf.byteLength);
}

/**
 * Decodes standard base64. Padding is optional, but when present it must be correct; characters
 * outside the alphabet (including whitespace and the URL-safe `-` `_`), a dangling single
 * character, or non-zero leftover bits make it null. Inputs longer than `maxChars` are refused.
 */
export function base64Decode(s: string, maxChars: i32 = 0x7fffffff): ArrayBuffer | null {
  let len = s.length;
  if (len > maxChars) return null;
  const p = changetype<usize>(s);
  // Strip up to two '=' of padding; then the length must be a valid unpadded length.
  let pad = 0;
  while (len > 0 && pad < 2 && load<u16>(p + (<usize>(len - 1) << 1)) == 61) {
    len--;
    pad++;
  }
  if (pad > 0 && ((len + pad) & 3) != 0) return null;
  const tail = len & 3;
  if (tail == 1) return null;
  const outLen = (len >> 2) * 3 + (tail == 0 ? 0 : tail - 1);
  const out = new ArrayBuffer(outLen);
  const o = changetype<usize>(out);
  let acc: u32 = 0;
  let bits: u32 = 0;
  let k = 0;
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u16>(p + (<usize>i << 1));
    if (c >= 128) return null;
    const v = <u32>load<u8>(DECODE + c);
    if (v == 255) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      store<u8>(o + k, <u8>(acc >> bits));
      k++;
      acc &= (1 << bits) - 1;
    }
  }
  // Leftover bits must be zero, as in a canonical encoding.
  if (acc != 0) return null;
  return out;
}
