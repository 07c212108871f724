// A minimal tar writer and reader. The writer makes byte-for-byte reproducible archives of one
// regular file (fixed mode, owner and mtime); the reader finds a file by base name the way Istio's
// fetcher does (first entry whose base name matches), understanding ustar, GNU long names and PAX.

const BLOCK = 512;

/** Options for one archived file. */
export interface TarFile {
  name: string;
  data: Uint8Array;
  /** Seconds since the epoch (default 0, for reproducible archives). */
  mtime?: number;
  /** Permission bits (default 0o644). */
  mode?: number;
}

function putString(buf: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = new TextEncoder().encode(value);
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  buf.set(bytes, offset);
}

function putOctal(buf: Uint8Array, offset: number, length: number, value: number): void {
  // length-1 octal digits, zero padded, then NUL.
  putString(buf, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

/** A ustar archive holding one regular file, ending with the two zero blocks tar requires. */
export function createTar(file: TarFile): Uint8Array {
  if (file.name.length > 100) throw new Error(`tar entry name longer than 100 bytes: ${file.name}`);
  const size = file.data.length;
  const padded = Math.ceil(size / BLOCK) * BLOCK;
  const out = new Uint8Array(BLOCK + padded + 2 * BLOCK);
  const h = out.subarray(0, BLOCK);
  putString(h, 0, 100, file.name);
  putOctal(h, 100, 8, file.mode ?? 0o644);
  putOctal(h, 108, 8, 0); // uid
  putOctal(h, 116, 8, 0); // gid
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, file.mtime ?? 0);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h[156] = 0x30; // '0': regular file
  putString(h, 257, 6, "ustar\0");
  putString(h, 263, 2, "00");
  putOctal(h, 329, 8, 0); // devmajor
  putOctal(h, 337, 8, 0); // devminor
  let sum = 0;
  for (const b of h) sum += b;
  putString(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  out.set(file.data, BLOCK);
  return out;
}

/** One entry of an archive, as read. */
export interface TarEntry {
  name: string;
  /** Tar type flag ('0' regular, '5' directory, '2' symlink, …). */
  type: string;
  size: number;
  data: Uint8Array;
}

function readString(buf: Uint8Array, offset: number, length: number): string {
  const field = buf.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? field.subarray(0, nul) : field);
}

function readNumber(buf: Uint8Array, offset: number, length: number): number {
  // GNU base-256 for large values: high bit of the first byte set.
  if (buf[offset]! & 0x80) {
    let n = buf[offset]! & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + buf[offset + i]!;
    return n;
  }
  const text = readString(buf, offset, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad number field '${text}' in tar header`);
  return parseInt(text, 8);
}

/** A malformed archive. */
export class TarError extends Error {
  override name = "TarError";
}

function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const text = new TextDecoder().decode(data);
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    if (sp < 0) break;
    const len = Number(text.slice(i, sp));
    if (!Number.isInteger(len) || len <= 0) throw new TarError("bad PAX record");
    const record = text.slice(sp + 1, i + len - 1); // without the trailing newline
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}

/** Iterates the entries of an archive (file entries only after applying long-name/PAX headers). */
export function* readTar(archive: Uint8Array): Generator<TarEntry> {
  let offset = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  let globalPax = new Map<string, string>();
  while (offset + BLOCK <= archive.length) {
    const h = archive.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) return; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (readNumber(h, 148, 8) !== sum) throw new TarError(`bad tar header checksum at offset ${offset}`);
    const type = String.fromCharCode(h[156] || 0x30);
    let size = readNumber(h, 124, 12);
    let name = readString(h, 0, 100);
    const magic = readString(h, 257, 6);
    if (magic === "ustar") {
      const prefix = readString(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const override = pax ?? globalPax;
    if (override.has("size")) size = Number(override.get("size"));
    const start = offset + BLOCK;
    const end = start + size;
    if (end > archive.length) throw new TarError(`tar entry '${name}' is truncated (${size} bytes declared, ${archive.length - start} present)`);
    const data = archive.subarray(start, end);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = readString(data, 0, data.length);
      continue;
    }
    if (type === "x") {
      pax = parsePax(data);
      continue;
    }
    if (type === "g") {
      globalPax = parsePax(data);
      continue;
    }
    name = longName ?? override.get("path") ?? name;
    longName = undefined;
    pax = undefined;
    yield { name, type, size, data };
  }
  // Like Go's archive/tar, a stream that ends cleanly on a block boundary is accepted without
  // the end-of-archive blocks; a partial header is not.
  if (offset !== archive.length) throw new TarError(`tar archive ends inside a header (${archive.length - offset} stray bytes)`);
}
