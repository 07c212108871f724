// A small reader of the WebAssembly binary format: just what the host needs to validate a module the
// way Envoy does (function signatures of imports and exports, start section) and to explain traps
// (function names, code offsets, source map URL). The JS WebAssembly API exposes none of this.

/** A wasm value type, as written in signatures: i32, i64, f32, f64, v128, funcref, externref. */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

/** A function signature. */
export interface FuncType {
  params: ValType[];
  results: ValType[];
}

/** One import of the module. */
export interface WasmImport {
  module: string;
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  /** Signature, for function imports. */
  type?: FuncType;
}

/** One export of the module. */
export interface WasmExport {
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  /** Function index (imports first), for function exports. */
  index: number;
  /** Signature, for function exports. */
  type?: FuncType;
}

/** A function body's place in the file, for mapping trap offsets to functions. */
export interface CodeRange {
  /** Function index (imports first). */
  index: number;
  /** Byte offset of the body (its locals declaration) in the file. */
  start: number;
  /** Byte offset just past the body. */
  end: number;
}

/** What the host learns from a module's bytes. */
export interface ModuleInfo {
  imports: WasmImport[];
  exports: WasmExport[];
  /** True when the module has a start section (runs at instantiation, before any context exists). */
  hasStartSection: boolean;
  /** Function names from the `name` custom section (absent in release builds). */
  functionNames: Map<number, string>;
  /** Bodies of the module's own functions. */
  code: CodeRange[];
  /** Number of imported functions (the index of the first own function). */
  importedFunctionCount: number;
  /** Value of the `sourceMappingURL` custom section, if any. */
  sourceMappingURL?: string;
  /** Names of all custom sections, in order. */
  customSections: string[];
}

/** Thrown for bytes that are not a well-formed wasm module. */
export class WasmFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WasmFormatError";
  }
}

const WASM_MAGIC = 0x6d736100; // "\0asm" little-endian
const KINDS = ["function", "table", "memory", "global", "tag"] as const;

/** True when `bytes` start with the wasm magic number and version 1. */
export function looksLikeWasm(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d &&
    bytes[4] === 1 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0;
}

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly end = bytes.length) {}

  private need(n: number): void {
    if (this.pos + n > this.end) throw new WasmFormatError(`unexpected end of module at byte ${this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new WasmFormatError(`malformed LEB128 at byte ${this.pos}`);
  }
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.u8() & 0x80) === 0) return;
    throw new WasmFormatError(`malformed LEB128 at byte ${this.pos}`);
  }
  bytesN(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    const n = this.u32();
    return Buffer.from(this.bytesN(n)).toString("utf8");
  }
  valType(): ValType {
    const t = this.u8();
    switch (t) {
      case 0x7f: return "i32";
      case 0x7e: return "i64";
      case 0x7d: return "f32";
      case 0x7c: return "f64";
      case 0x7b: return "v128";
      case 0x70: return "funcref";
      case 0x6f: return "externref";
      default: throw new WasmFormatError(`unsupported value type 0x${t.toString(16)}`);
    }
  }
  limits(): void {
    const flags = this.u8();
    this.skipLeb();
    if (flags & 1) this.skipLeb();
  }
}

/** Parses the sections of a module. Throws WasmFormatError for malformed bytes. */
export function parseModule(bytes: Uint8Array): ModuleInfo {
  if (!looksLikeWasm(bytes)) throw new WasmFormatError("not a WebAssembly module (bad magic number or version)");
  const r = new Reader(bytes);
  r.pos = 8;
  const types: FuncType[] = [];
  const funcTypeIndices: number[] = []; // imported functions first, then own functions
  const info: ModuleInfo = {
    imports: [], exports: [], hasStartSection: false, functionNames: new Map(), code: [],
    importedFunctionCount: 0, customSections: [],
  };
  while (r.pos < bytes.length) {
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new WasmFormatError(`section ${id} runs past the end of the module`);
    const s = new Reader(bytes, end);
    s.pos = start;
    switch (id) {
      case 0: { // custom
        const name = s.name();
        info.customSections.push(name);
        if (name === "name") readNameSection(s, info.functionNames);
        else if (name === "sourceMappingURL") info.sourceMappingURL = s.name();
        break;
      }
      case 1: { // type
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const form = s.u8();
          if (form !== 0x60) throw new WasmFormatError(`unsupported type form 0x${form.toString(16)}`);
          const params: ValType[] = [];
          for (let p = s.u32(); p > 0; p--) params.push(s.valType());
          const results: ValType[] = [];
          for (let q = s.u32(); q > 0; q--) results.push(s.valType());
          types.push({ params, results });
        }
        break;
      }
      case 2: { // import
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const module = s.name();
          const name = s.name();
          const kindByte = s.u8();
          const kind = KINDS[kindByte];
          if (kind === undefined) throw new WasmFormatError(`unknown import kind ${kindByte}`);
          const imp: WasmImport = { module, name, kind };
          if (kind === "function") {
            const t = s.u32();
            imp.type = types[t];
            funcTypeIndices.push(t);
            info.importedFunctionCount++;
          } else if (kind === "table") { s.u8(); s.limits(); }
          else if (kind === "memory") s.limits();
          else if (kind === "global") { s.u8(); s.u8(); }
          else { s.u8(); s.u32(); }
          info.imports.push(imp);
        }
        break;
      }
      case 3: { // function
        for (let n = s.u32(); n > 0; n--) funcTypeIndices.push(s.u32());
        break;
      }
      case 7: { // export
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const name = s.name();
          const kindByte = s.u8();
          const kind = KINDS[kindByte];
          if (kind === undefined) throw new WasmFormatError(`unknown export kind ${kindByte}`);
          const index = s.u32();
          info.exports.push({ name, kind, index });
        }
        break;
      }
      case 8:
        info.hasStartSection = true;
        break;
      case 10: { // code
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const bodySize = s.u32();
          const bodyStart = s.pos;
          info.code.push({ index: info.importedFunctionCount + i, start: bodyStart, end: bodyStart + bodySize });
          s.pos = bodyStart + bodySize;
        }
        break;
      }
      default:
        break;
    }
    r.pos = end;
  }
  for (const e of info.exports) {
    if (e.kind !== "function") continue;
    const t = funcTypeIndices[e.index];
    if (t !== undefined) e.type = types[t];
  }
  return info;
}

function readNameSection(s: Reader, names: Map<number, string>): void {
  try {
    while (s.pos < s.end) {
      const sub = s.u8();
      const size = s.u32();
      const next = s.pos + size;
      if (sub === 1) {
        for (let n = s.u32(); n > 0; n--) {
          const idx = s.u32();
          names.set(idx, s.name());
        }
      }
      s.pos = next;
    }
  } catch {
    // A damaged name section only costs us names in backtraces.
  }
}

/** Formats a signature the way error messages show it: `(i32, i32) -> i32`. */
export function formatFuncType(t: FuncType | undefined): string {
  if (!t) return "(?)";
  const res = t.results.length === 0 ? "()" : t.results.length === 1 ? t.results[0] : `(${t.results.join(", ")})`;
  return `(${t.params.join(", ")}) -> ${res}`;
}

/** True when two signatures are identical. */
export function sameFuncType(a: FuncType | undefined, b: FuncType | undefined): boolean {
  if (!a || !b) return false;
  return a.params.length === b.params.length && a.results.length === b.results.length &&
    a.params.every((p, i) => p === b.params[i]) && a.results.every((p, i) => p === b.results[i]);
}
