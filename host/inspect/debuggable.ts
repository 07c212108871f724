// A plugin module prepared for a debugger attached to this process (Chrome DevTools over Node's
// inspector; docs/debugging.md). V8 names a module compiled from bytes `wasm://wasm/<hash>` and
// reports its `sourceMappingURL` custom section as written; a relative name such as
// AssemblyScript's `./debug.wasm.map` resolves against that URL to nothing a debugger can fetch.
// So the module's section is replaced with a `data:` URL carrying the map itself, with:
// - generated offsets moved to where the code sits in the module V8 really compiles (the host caps
//   the memory declaration first, which shifts the code by a few bytes: wasm/memory_limit.ts);
// - sources named by absolute `file://` URLs where the file exists on disk (the project's
//   `assembly/index.ts`, the SDK, AssemblyScript's standard library), `asc:///~lib/…` otherwise,
//   with their text in `sourcesContent`, so DevTools shows them without reading any file.
// The code itself is untouched, so breakpoints, stepping and trap offsets stay exact.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { capModuleMemory, leb, readLeb } from "../wasm/memory_limit.js";
import { parseModule, WasmFormatError } from "../wasm/binary.js";
import type { SourcePositionResolver } from "../vm/backtrace.js";
import { SourceMapError, WasmSourceMap } from "../vm/source_map.js";

/** A module rewritten for a debugger, and the source map the host's backtraces keep using. */
export interface DebuggableModule {
  bytes: Uint8Array;
  /** The module's source map (offsets of the module as given), for backtraces. */
  sourceMap: SourcePositionResolver;
}

/** Largest source file read from disk to fill in a map's missing `sourcesContent`. */
const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

interface RawSourceMap {
  version: number;
  sources: Array<string | null>;
  sourcesContent?: Array<string | null>;
  sourceRoot?: string;
  mappings: string;
  names?: string[];
}

/**
 * Rewrites `bytes` (a module whose source map text is `mapText`) so a debugger in this process
 * finds the map: see the file comment. `wasmPath` (where the module was read from) locates the
 * sources on disk; `memoryLimitBytes` is the cap the host will apply (it decides the code shift).
 * Throws SourceMapError for a map that is not usable, WasmFormatError for a malformed module.
 */
export function debuggableModule(bytes: Uint8Array, mapText: string, options: { wasmPath?: string; memoryLimitBytes: number }): DebuggableModule {
  const map = parseRawMap(mapText);
  const sourceMap = WasmSourceMap.parse(map);
  const base = withoutCustomSection(bytes, "sourceMappingURL");
  // Where the code starts in the module as given, and in the module V8 compiles.
  const codeStart = (b: Uint8Array) => parseModule(b).code[0]?.start ?? 0;
  const given = codeStart(bytes);
  const delta = codeStart(capModuleMemory(base, options.memoryLimitBytes).bytes) - given;
  const removed = given - codeStart(base);
  const rewritten: RawSourceMap = {
    version: 3,
    sources: [],
    sourcesContent: [],
    names: map.names ?? [],
    mappings: shiftMappings(map.mappings, delta),
  };
  const dirs = searchDirs(options.wasmPath);
  for (let i = 0; i < map.sources.length; i++) {
    const name = map.sources[i] ?? `source${i}`;
    const file = findSource(name, map.sourceRoot, dirs);
    rewritten.sources.push(file ? pathToFileURL(file).href : `asc:///${name.replace(/^\.?\//, "")}`);
    rewritten.sourcesContent!.push(map.sourcesContent?.[i] ?? (file ? readSmall(file) : null));
  }
  const url = `data:application/json;base64,${Buffer.from(JSON.stringify(rewritten)).toString("base64")}`;
  const out = appendCustomSection(base, "sourceMappingURL", Buffer.from(url));
  // Backtraces resolve offsets of `base` (the host maps V8's offsets back through the cap);
  // the map describes the module as given.
  const resolver: SourcePositionResolver = removed === 0 ? sourceMap : { resolve: (offset) => sourceMap.resolve(offset + removed) };
  return { bytes: out, sourceMap: resolver };
}

function parseRawMap(text: string): RawSourceMap {
  let map: RawSourceMap;
  try {
    map = JSON.parse(text) as RawSourceMap;
  } catch (err) {
    throw new SourceMapError(`source map is not JSON: ${(err as Error).message}`);
  }
  if (map?.version !== 3 || !Array.isArray(map.sources) || typeof map.mappings !== "string") {
    throw new SourceMapError("source map is not a version 3 map with sources and mappings");
  }
  return map;
}

/**
 * Adds `delta` to every generated offset. Offsets are relative within a line (wasm maps have
 * one), so only the first segment of each line changes; every code offset moves alike because
 * the rewrites before the code (the memory cap, the removed section) move all of it.
 */
export function shiftMappings(mappings: string, delta: number): string {
  if (delta === 0) return mappings;
  return mappings.split(";").map((line) => {
    if (line === "") return line;
    const comma = line.indexOf(",");
    const first = comma < 0 ? line : line.slice(0, comma);
    const rest = comma < 0 ? "" : line.slice(comma);
    const values = decodeVlq(first);
    values[0] = values[0]! + delta;
    return values.map(encodeVlq).join("") + rest;
  }).join(";");
}

function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const d = BASE64.indexOf(ch);
    if (d < 0) throw new SourceMapError(`invalid character '${ch}' in source map mappings`);
    value += (d & 31) * 2 ** shift;
    if (d & 32) {
      shift += 5;
      continue;
    }
    out.push(value % 2 === 1 ? -Math.floor(value / 2) : value / 2);
    value = 0;
    shift = 0;
  }
  if (shift !== 0) throw new SourceMapError("truncated VLQ value in source map mappings");
  return out;
}

function encodeVlq(n: number): string {
  let v = n < 0 ? -n * 2 + 1 : n * 2;
  let s = "";
  do {
    let d = v % 32;
    v = Math.floor(v / 32);
    if (v > 0) d |= 32;
    s += BASE64[d];
  } while (v > 0);
  return s;
}

// ---- sources on disk ------------------------------------------------------------------------

// pwasm's own root (the SDK is `~lib/pwasm/sdk/…` to the compiler): the directory above `host/`
// (sources) or `dist/host/` (compiled).
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "pwasm") return dir;
      } catch {
        // not ours
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

// The module's directory and a few above it (a project's build/ sits below its assembly/).
function searchDirs(wasmPath: string | undefined): string[] {
  const dirs: string[] = [];
  let dir = wasmPath ? dirname(resolve(wasmPath)) : process.cwd();
  for (let i = 0; i < 4; i++) {
    dirs.push(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dirs;
}

// Where the compiler read `name` from: a project file, the SDK (a project's node_modules/pwasm or
// this pwasm), or AssemblyScript's standard library.
function findSource(name: string, sourceRoot: string | undefined, dirs: string[]): string | undefined {
  const candidates: string[] = [];
  if (name.startsWith("~lib/")) {
    const rest = name.slice(5);
    const root = packageRoot();
    for (const d of dirs) {
      if (rest.startsWith("pwasm/")) candidates.push(join(d, "node_modules", rest));
      candidates.push(join(d, "node_modules", "assemblyscript", "std", "assembly", rest));
    }
    if (root && rest.startsWith("pwasm/")) candidates.push(join(root, rest.slice(6)));
    if (root) candidates.push(join(root, "node_modules", "assemblyscript", "std", "assembly", rest));
  } else {
    for (const d of dirs) {
      if (sourceRoot) candidates.push(join(d, sourceRoot, name));
      candidates.push(join(d, name));
    }
  }
  return candidates.find((c) => {
    try {
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

function readSmall(file: string): string | null {
  try {
    return statSync(file).size <= MAX_SOURCE_BYTES ? readFileSync(file, "utf8") : null;
  } catch {
    return null;
  }
}

// ---- custom sections ------------------------------------------------------------------------

/** The module without its custom sections called `name`. */
function withoutCustomSection(bytes: Uint8Array, name: string): Uint8Array {
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  let pos = 8;
  while (pos < bytes.length) {
    const { value: size, next } = readLeb(bytes, pos + 1);
    const end = next + size;
    if (end > bytes.length) throw new WasmFormatError(`section at byte ${pos} runs past the end of the module`);
    let drop = false;
    if (bytes[pos] === 0) {
      const n = readLeb(bytes, next);
      drop = Buffer.from(bytes.subarray(n.next, n.next + n.value)).toString("utf8") === name;
    }
    if (!drop) keep.push(bytes.subarray(pos, end));
    pos = end;
  }
  return Buffer.concat(keep);
}

function appendCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = Buffer.from(name, "utf8");
  const content = Buffer.concat([Buffer.from(leb(nameBytes.length)), nameBytes, Buffer.from(leb(payload.length)), payload]);
  return Buffer.concat([bytes, Buffer.from([0, ...leb(content.length)]), content]);
}

/**
 * The module of a plugin loaded from `wasm` (a path), prepared for a debugger when its source map
 * (its sourceMappingURL beside it, else `<wasm>.map`) is found: the bytes to load and the
 * resolver its backtraces use. Undefined when there is nothing to prepare (bytes given, no map);
 * a map that cannot be used is reported through `warn` and the module loads as it is.
 */
export function debuggablePluginModule(wasm: Uint8Array | string, memoryLimitBytes: number, warn: (message: string) => void): DebuggableModule | undefined {
  if (typeof wasm !== "string") return undefined;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(wasm);
  } catch {
    return undefined; // the load reports it
  }
  try {
    const url = parseModule(bytes).sourceMappingURL;
    const names = url && !/^[a-z][a-z0-9+.-]*:/i.test(url) ? [url, `${basename(wasm)}.map`] : [`${basename(wasm)}.map`];
    for (const name of names) {
      const text = WasmSourceMap.readBeside(wasm, name);
      if (text !== undefined) return debuggableModule(bytes, text, { wasmPath: wasm, memoryLimitBytes });
    }
    warn(`${wasm} has no source map (build the debug target): the debugger shows its WebAssembly only`);
  } catch (err) {
    if (!(err instanceof SourceMapError || err instanceof WasmFormatError)) throw err;
    warn(`${wasm}: the debugger shows its WebAssembly only: ${err.message}`);
  }
  return undefined;
}
