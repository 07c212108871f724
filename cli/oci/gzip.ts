// Reproducible gzip: a fixed header (no name, mtime 0, OS "unknown") around our own deterministic
// DEFLATE (deflate.ts), so the same bytes in give the same bytes out on every machine and Node
// build, whichever zlib it links.
import { gunzipSync } from "node:zlib";
import { deflateRaw } from "./deflate.js";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as in the gzip trailer. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** gzip with a header that carries no time, name or OS. */
export function gzipReproducible(data: Uint8Array): Uint8Array {
  const body = deflateRaw(data);
  const out = new Uint8Array(10 + body.length + 8);
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown)
  out.set([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
  out.set(body, 10);
  const view = new DataView(out.buffer, out.byteOffset + 10 + body.length, 8);
  view.setUint32(0, crc32(data), true);
  view.setUint32(4, data.length >>> 0, true);
  return out;
}

/** True when the bytes start with the gzip magic. */
export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

/** True when the bytes start with the zstd frame magic. */
export function isZstd(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd;
}

/** Gunzips at most `maxBytes` of output (guards against decompression bombs). */
export function gunzipBounded(data: Uint8Array, maxBytes: number): Uint8Array {
  return new Uint8Array(gunzipSync(data, { maxOutputLength: maxBytes }));
}
