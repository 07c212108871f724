// Turns a trap into Envoy's text (docs/envoy/lifecycle.md): `Uncaught RuntimeError: unreachable`
// and, when the module has a name section, an in-VM backtrace, one line per wasm frame,
// `  N:  0xOFFSET - name`, plus the source position when a source map is available (pwasm's own
// addition: Envoy has no source maps).
import type { ModuleInfo } from "../wasm/binary.js";
import type { VmFailure } from "./errors.js";

/** Maps a code offset of the module to a source position (from a debug build's source map). */
export interface SourcePositionResolver {
  /** The position of the mapping at or before `offset`; `mappedOffset` is where that mapping starts. */
  resolve(offset: number): { source: string; line: number; column: number; mappedOffset?: number } | undefined;
}

const WASM_FRAME = /^\s*at (?:(.*?) \()?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:0x([0-9a-f]+)\)?/;

/** One wasm frame of a trap. */
export interface WasmFrame {
  functionIndex: number;
  offset: number;
  name: string;
}

/** The wasm frames of an error's stack, innermost first. */
export function wasmFrames(err: unknown, info?: ModuleInfo): WasmFrame[] {
  const stack = err instanceof Error && typeof err.stack === "string" ? err.stack : "";
  const frames: WasmFrame[] = [];
  for (const line of stack.split("\n")) {
    const m = WASM_FRAME.exec(line);
    if (!m) continue;
    const functionIndex = Number(m[2]);
    const name = info ? info.functionNames.get(functionIndex) ?? `unknown(function index:${functionIndex})` : m[1] ?? `wasm-function[${functionIndex}]`;
    frames.push({ functionIndex, offset: parseInt(m[3]!, 16), name });
  }
  return frames;
}

/** How the host's rewrite of a module moved its bytes (see wasm/memory_limit.ts). */
export interface OffsetShift {
  /** Offsets at or after this position of the original module moved… */
  shiftFrom: number;
  /** …by this many bytes. */
  shift: number;
}

/**
 * The message and backtrace lines of a trap, as V8 in Envoy words them: the exception uncaught
 * (an error the host raised reads as an `Error`). Offsets are reported in the original module (as
 * the .wasm file and its source map know them). Like Envoy, no backtrace for a module without a
 * name section.
 */
export function symbolizeTrap(
  err: unknown, info?: ModuleInfo, sourceMap?: SourcePositionResolver, moved?: OffsetShift,
): { message: string; backtrace: string[] } {
  const kind = err instanceof WebAssembly.RuntimeError || err instanceof RangeError ? err.name : "Error";
  const message = `Uncaught ${kind}: ${err instanceof Error ? err.message : String(err)}`;
  if (info && info.functionNames.size === 0) return { message, backtrace: [] };
  const backtrace = wasmFrames(err, info).map((f, i) => {
    if (moved && moved.shift !== 0 && f.offset >= moved.shiftFrom + moved.shift) f.offset -= moved.shift;
    let pos = sourceMap?.resolve(f.offset);
    // A mapping from before this function's body belongs to another function (compiler stubs
    // have no mappings of their own): show no position rather than a wrong one.
    const body = info?.code.find((c) => c.index === f.functionIndex);
    if (pos && body && pos.mappedOffset !== undefined && pos.mappedOffset < body.start) pos = undefined;
    const where = pos ? ` (${pos.source}:${pos.line}:${pos.column})` : "";
    return `${String(i).padStart(3)}:  0x${f.offset.toString(16)} - ${f.name}${where}`;
  });
  return { message, backtrace };
}

/** The text Envoy logs (at error, component `wasm`) when a VM fails. */
export function formatFailure(f: VmFailure): string {
  const head = `Function: ${f.callback} failed: ${f.message}`;
  return f.backtrace.length === 0 ? head : `${head}\nProxy-Wasm plugin in-VM backtrace:\n${f.backtrace.join("\n")}`;
}
