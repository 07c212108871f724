// Source maps of WebAssembly modules (Source Map v3, as binaryen writes them for AssemblyScript
// debug builds): the generated "column" of a mapping is a byte offset in the .wasm file, so a trap
// offset resolves to a source file, line and column. The mappings are decoded here (Base64 VLQ).
// A module names its map itself (its sourceMappingURL), and a module is untrusted: the name is
// followed only to a regular file in the module's directory (no absolute path, no `..`, no
// symlink out of the directory), opened so that a FIFO or a device can neither block nor flood
// the host, and read up to MAX_SOURCE_MAP_BYTES.
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { SourcePositionResolver } from "./backtrace.js";

/** Largest source map read (AssemblyScript's debug maps are a few hundred KiB). */
export const MAX_SOURCE_MAP_BYTES = 64 * 1024 * 1024;

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i;

/** A source map that cannot be used, with the reason. */
export class SourceMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceMapError";
  }
}

interface Mapping {
  offset: number;
  source: number;
  line: number;
  column: number;
}

/** The parsed mappings of a wasm source map, searchable by code offset. */
export class WasmSourceMap implements SourcePositionResolver {
  private readonly offsets: Int32Array;
  private readonly entries: Mapping[];

  private constructor(readonly sources: readonly string[], entries: Mapping[]) {
    entries.sort((a, b) => a.offset - b.offset);
    this.entries = entries;
    this.offsets = Int32Array.from(entries, (e) => e.offset);
  }

  /** Parses a source map (JSON text or object). Throws SourceMapError when it is not a usable v3 map. */
  static parse(json: string | object): WasmSourceMap {
    let map: { version?: unknown; sources?: unknown; sourceRoot?: unknown; mappings?: unknown };
    try {
      map = typeof json === "string" ? JSON.parse(json) : (json as typeof map);
    } catch (err) {
      throw new SourceMapError(`source map is not JSON: ${(err as Error).message}`);
    }
    if (map.version !== 3) throw new SourceMapError(`unsupported source map version ${String(map.version)} (expected 3)`);
    if (!Array.isArray(map.sources) || typeof map.mappings !== "string") {
      throw new SourceMapError("source map lacks `sources` or `mappings`");
    }
    return new WasmSourceMap(map.sources.map(String), decodeMappings(map.mappings));
  }

  /**
   * Reads and parses `<path>`; undefined when the file does not exist. SourceMapError when it is
   * not a regular file (a FIFO, a device, a directory), is larger than MAX_SOURCE_MAP_BYTES or is
   * not a usable map.
   */
  static load(path: string): WasmSourceMap | undefined {
    const text = readRegularFile(path);
    return text === undefined ? undefined : WasmSourceMap.parse(text);
  }

  /**
   * The map `name` of the module at `wasmPath` (its sourceMappingURL, or `<module>.map`), read
   * only when it is a regular file in the module's directory or below it. Undefined when there is
   * no such file; SourceMapError when the name or the file is refused, or is not a usable map.
   */
  static loadBeside(wasmPath: string, name: string): WasmSourceMap | undefined {
    const text = WasmSourceMap.readBeside(wasmPath, name);
    return text === undefined ? undefined : WasmSourceMap.parse(text);
  }

  /** The text of the map `name` beside the module at `wasmPath`, under loadBeside's rules. */
  static readBeside(wasmPath: string, name: string): string | undefined {
    const dir = dirname(wasmPath);
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // not percent-encoded: taken as written
    }
    if (!decoded || decoded.includes("\0")) throw new SourceMapError(`source map name ${JSON.stringify(name)} is not a file name`);
    if (isAbsolute(decoded) || /^[\\/]/.test(decoded)) throw new SourceMapError(`source map ${name} is an absolute path: only a file beside the module is read`);
    if (decoded.split(/[\\/]/).includes("..")) throw new SourceMapError(`source map ${name} leads out of the module's directory ('..'): only a file beside the module is read`);
    const path = join(dir, decoded);
    let real: string;
    try {
      real = realpathSync(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw new SourceMapError(`cannot read source map ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const rel = relative(realpathSync(dir), real);
    if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new SourceMapError(`source map ${name} is a link out of the module's directory (to ${real}): only a file beside the module is read`);
    }
    return readRegularFile(real);
  }

  /** Number of mappings (for tests). */
  get size(): number {
    return this.entries.length;
  }

  /** The source position of the last mapping at or before `offset`. */
  resolve(offset: number): { source: string; line: number; column: number; mappedOffset: number } | undefined {
    const o = this.offsets;
    let lo = 0;
    let hi = o.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (o[mid]! <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return undefined;
    const e = this.entries[found]!;
    return { source: this.sources[e.source] ?? `source#${e.source}`, line: e.line + 1, column: e.column + 1, mappedOffset: e.offset };
  }
}

/**
 * Decodes the `mappings` string. Segments are 1, 4 or 5 Base64-VLQ fields, each relative to the
 * previous segment (the generated column resets per line; for wasm there is one line). Segments
 * without a source (1 field) are skipped.
 */
export function decodeMappings(mappings: string): Mapping[] {
  const out: Mapping[] = [];
  let genColumn = 0;
  let source = 0;
  let line = 0;
  let column = 0;
  const fields = [0, 0, 0, 0, 0];
  let i = 0;
  const n = mappings.length;
  while (i < n) {
    const c = mappings.charCodeAt(i);
    if (c === 59 /* ; */) {
      // A new generated line resets the column (wasm maps have a single line).
      genColumn = 0;
      i++;
      continue;
    }
    if (c === 44 /* , */) {
      i++;
      continue;
    }
    let count = 0;
    while (i < n) {
      const ch = mappings.charCodeAt(i);
      if (ch === 44 || ch === 59) break;
      // One VLQ value: 5 data bits per digit, continuation in bit 5, sign in the lowest bit.
      let value = 0;
      let shift = 0;
      for (;;) {
        if (i >= n) throw new SourceMapError("truncated VLQ value in source map mappings");
        const d = DIGIT[mappings.charCodeAt(i++)] ?? -1;
        if (d < 0) throw new SourceMapError(`invalid character '${mappings[i - 1]}' in source map mappings`);
        value += (d & 31) * 2 ** shift;
        shift += 5;
        if ((d & 32) === 0) break;
      }
      if (count < 5) fields[count] = value % 2 === 1 ? -Math.floor(value / 2) : value / 2;
      count++;
    }
    genColumn += fields[0]!;
    if (count >= 4) {
      source += fields[1]!;
      line += fields[2]!;
      column += fields[3]!;
      out.push({ offset: genColumn, source, line, column });
    }
  }
  return out;
}

const isMissing = (err: unknown) => ["ENOENT", "ENOTDIR"].includes((err as NodeJS.ErrnoException).code ?? "");

/**
 * A regular file's text, undefined when it does not exist. Opened non-blocking, so a FIFO without
 * a writer does not block the open; then anything but a regular file is refused before a read.
 */
function readRegularFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new SourceMapError(`cannot read source map ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isFIFO() ? "a FIFO" : st.isDirectory() ? "a directory" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : st.isSocket() ? "a socket" : "not a file";
      throw new SourceMapError(`source map ${path} is ${kind}, not a regular file`);
    }
    if (st.size > MAX_SOURCE_MAP_BYTES) throw new SourceMapError(`source map ${path} is ${st.size} bytes, more than the ${MAX_SOURCE_MAP_BYTES} read`);
    // Read what fstat promised, at most the cap, even if the file grows meanwhile.
    const buf = Buffer.alloc(Math.min(st.size, MAX_SOURCE_MAP_BYTES));
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}
