// Turns a trap into Envoy's text (docs/envoy/lifecycle.md): `Uncaught RuntimeError: unreachable`
// and, when the module has a name section, an in-VM backtrace, one line per wasm frame,
// `  N:  0xOFFSET - name`, plus the source position when a source map is available (pwasm's own
// addition: Envoy has no source maps).
import type { ModuleInfo } from "../wasm/binary.js";
import { HostTrap, type VmFailure } from "./errors.js";

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

/**
 * How the host's rewrites of a module (the memory cap, wasm/memory_limit.ts; the deadline
 * instrumentation, wasm/deadline.ts) moved its code: maps what V8 reports about the module it
 * compiled back to the module as given, which its name section and source map describe.
 */
export interface CodeMap {
  /** The module's own index of the function V8 numbers `index` (undefined: one the host added). */
  functionIndex(index: number): number | undefined;
  /** The module's own byte offset of an offset V8 reports. */
  offset(offset: number): number;
}

/** The code map of a module compiled as given. */
export const IDENTITY_CODE_MAP: CodeMap = { functionIndex: (i) => i, offset: (o) => o };

/**
 * The wasm frames of an error's stack, innermost first, in the module as given (`codeMap` maps
 * V8's indices and offsets back). An offset in code the host added (a deadline check at a loop
 * head) is kept inside its function's body.
 */
export function wasmFrames(err: unknown, info?: ModuleInfo, codeMap: CodeMap = IDENTITY_CODE_MAP): WasmFrame[] {
  const stack = err instanceof Error && typeof err.stack === "string" ? err.stack : "";
  const frames: WasmFrame[] = [];
  for (const line of stack.split("\n")) {
    const m = WASM_FRAME.exec(line);
    if (!m) continue;
    const functionIndex = codeMap.functionIndex(Number(m[2]));
    if (functionIndex === undefined) continue;
    let offset = codeMap.offset(parseInt(m[3]!, 16));
    const body = info?.code.find((c) => c.index === functionIndex);
    if (body) offset = Math.min(Math.max(offset, body.start), body.end - 1);
    const name = info ? info.functionNames.get(functionIndex) ?? `unknown(function index:${functionIndex})` : m[1] ?? `wasm-function[${functionIndex}]`;
    frames.push({ functionIndex, offset, name });
  }
  return frames;
}

/**
 * The message and backtrace lines of a trap, as V8 in Envoy words them: the exception uncaught
 * (an error the host raised reads as an `Error`). Offsets are reported in the original module (as
 * the .wasm file and its source map know them). Like Envoy, no backtrace for a module without a
 * name section.
 */
export function symbolizeTrap(
  err: unknown, info?: ModuleInfo, sourceMap?: SourcePositionResolver, codeMap?: CodeMap,
): { message: string; backtrace: string[] } {
  // A wasm trap and the engine's stack overflow keep V8's names; what a host function raised on
  // purpose (HostTrap: proc_exit, a restricted call) reads as Envoy words an error from its host
  // (`Error`); anything else is a bug in the host and keeps its own name, so it cannot pass for a trap.
  const kind = err instanceof WebAssembly.RuntimeError || err instanceof RangeError ? err.name
    : err instanceof HostTrap || !(err instanceof Error) || err.name === "Error" ? "Error" : err.name;
  const message = `Uncaught ${kind}: ${err instanceof Error ? err.message : String(err)}`;
  if (info && info.functionNames.size === 0) return { message, backtrace: [] };
  const backtrace = wasmFrames(err, info, codeMap).map((f, i) => {
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
