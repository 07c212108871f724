// Envoy's load-time rules for a Proxy-Wasm module: it is wasm, it declares a known ABI version,
// it exports memory and an allocator, its callbacks have the right signatures, and the host
// provides every import it needs. Each refusal names the problem.
import { ABI_MARKERS, type AbiVersion } from "../abi/constants.js";
import { checkImports } from "../imports/registry.js";
import { sig } from "../imports/types.js";
import { formatFuncType, looksLikeWasm, parseModule, sameFuncType, WasmFormatError, type FuncType, type ModuleInfo } from "../wasm/binary.js";
import { PluginLoadError } from "../vm/errors.js";
import type { CodeMap } from "../vm/backtrace.js";
import { capModuleMemory } from "../wasm/memory_limit.js";
import { instrumentDeadlines, UnsupportedInstructionError, type InstrumentedModule } from "../wasm/deadline.js";

/** Signatures of the exports a host calls, for ABI 0.2.x. */
const CALLBACKS_0_2: Record<string, FuncType> = {
  malloc: sig("i>i"),
  proxy_on_memory_allocate: sig("i>i"),
  _initialize: sig(">"),
  _start: sig(">"),
  main: sig("ii>i"),
  __main_void: sig(">i"),
  proxy_on_context_create: sig("ii>"),
  proxy_on_vm_start: sig("ii>i"),
  proxy_on_configure: sig("ii>i"),
  proxy_validate_configuration: sig("ii>i"),
  proxy_on_tick: sig("i>"),
  proxy_on_queue_ready: sig("ii>"),
  proxy_on_foreign_function: sig("iii>"),
  proxy_on_new_connection: sig("i>i"),
  proxy_on_downstream_data: sig("iii>i"),
  proxy_on_upstream_data: sig("iii>i"),
  proxy_on_downstream_connection_close: sig("ii>"),
  proxy_on_upstream_connection_close: sig("ii>"),
  proxy_on_request_headers: sig("iii>i"),
  proxy_on_request_body: sig("iii>i"),
  proxy_on_request_trailers: sig("ii>i"),
  proxy_on_request_metadata: sig("ii>i"),
  proxy_on_response_headers: sig("iii>i"),
  proxy_on_response_body: sig("iii>i"),
  proxy_on_response_trailers: sig("ii>i"),
  proxy_on_response_metadata: sig("ii>i"),
  proxy_on_http_call_response: sig("iiiii>"),
  proxy_on_grpc_receive_initial_metadata: sig("iii>"),
  proxy_on_grpc_receive: sig("iii>"),
  proxy_on_grpc_receive_trailing_metadata: sig("iii>"),
  proxy_on_grpc_close: sig("iii>"),
  proxy_on_done: sig("i>i"),
  proxy_on_log: sig("i>"),
  proxy_on_delete: sig("i>"),
  // Envoy's own extensions.
  envoy_on_resolve_dns: sig("iii>"),
  envoy_on_stats_update: sig("ii>"),
};

/**
 * 0.1.0: the header callbacks had no end_of_stream, and proxy_on_foreign_function did not exist
 * (Envoy does not look it up, so its signature is not checked).
 */
const CALLBACKS_0_1: Record<string, FuncType> = Object.fromEntries(
  Object.entries({ ...CALLBACKS_0_2, proxy_on_request_headers: sig("ii>i"), proxy_on_response_headers: sig("ii>i") })
    .filter(([name]) => name !== "proxy_on_foreign_function"),
);

/** The expected signature of a callback export for an ABI version, if the host calls it. */
export function callbackSignature(name: string, abi: AbiVersion): FuncType | undefined {
  return (abi === "0.1.0" ? CALLBACKS_0_1 : CALLBACKS_0_2)[name];
}

/** A module that passed validation. */
export interface ValidatedModule {
  info: ModuleInfo;
  abiVersion: AbiVersion;
}

/** Applies Envoy's load rules; throws PluginLoadError with a one-line reason. */
export function validateModule(bytes: Uint8Array): ValidatedModule {
  if (!looksLikeWasm(bytes)) {
    throw new PluginLoadError("not a WebAssembly module: the file does not start with the wasm magic number and version 1");
  }
  let info: ModuleInfo;
  try {
    info = parseModule(bytes);
  } catch (err) {
    if (err instanceof WasmFormatError) throw new PluginLoadError(`malformed WebAssembly module: ${err.message}`);
    throw err;
  }
  // Envoy takes the first ABI marker in export order.
  let abiVersion: AbiVersion | undefined;
  for (const e of info.exports) {
    const v = ABI_MARKERS[e.name];
    if (v) {
      abiVersion = v;
      break;
    }
  }
  if (!abiVersion) {
    const other = info.exports.find((e) => e.name.startsWith("proxy_abi_version_"));
    throw new PluginLoadError(
      other
        ? `Missing or unknown Proxy-Wasm ABI version: ${other.name} is not one of ${Object.keys(ABI_MARKERS).join(", ")}`
        : "Missing or unknown Proxy-Wasm ABI version: the module exports no proxy_abi_version_* function",
    );
  }
  if (!info.exports.some((e) => e.name === "memory" && e.kind === "memory")) {
    throw new PluginLoadError("Wasm module does not export its memory (export \"memory\")");
  }
  if (!info.exports.some((e) => (e.name === "malloc" || e.name === "proxy_on_memory_allocate") && e.kind === "function")) {
    throw new PluginLoadError("Wasm module is missing malloc function (export malloc or proxy_on_memory_allocate)");
  }
  for (const e of info.exports) {
    if (e.kind !== "function") continue;
    const want = callbackSignature(e.name, abiVersion);
    if (want && !sameFuncType(want, e.type)) {
      throw new PluginLoadError(`Bad function signature for: ${e.name} is ${formatFuncType(e.type)}, ABI ${abiVersion} requires ${formatFuncType(want)}`);
    }
  }
  checkImports(info, abiVersion);
  return { info, abiVersion };
}

/** A compiled module, and how the host's rewrites moved its code. */
export interface CompiledModule extends ValidatedModule {
  module: WebAssembly.Module;
  codeMap: CodeMap;
  /** The module's loops call the host's deadline check (docs/deadlines.md). */
  deadlines: boolean;
}

/** How a module is compiled. */
export interface CompileOptions {
  /** Envoy's VM memory limit: memory.grow beyond it fails inside the module. */
  memoryLimitBytes: number;
  /**
   * Instrument the module's loops so a callback that runs too long can be stopped
   * (wasm/deadline.ts). A module the instrumenter cannot read runs without, after `warn`.
   */
  deadlines?: boolean;
  warn?: (message: string) => void;
}

/**
 * Validates and compiles a module, with its memory capped (options.memoryLimitBytes) and, when
 * asked, its loops instrumented for callback time limits.
 */
export async function compileModule(bytes: Uint8Array, options: CompileOptions): Promise<CompiledModule> {
  const { memoryLimitBytes } = options;
  const v = validateModule(bytes);
  let capped;
  try {
    capped = capModuleMemory(bytes, memoryLimitBytes);
  } catch (err) {
    throw new PluginLoadError(`malformed WebAssembly module: ${(err as Error).message}`);
  }
  if (capped.initialBytes > memoryLimitBytes) {
    throw new PluginLoadError(
      `the module's initial memory (${mib(capped.initialBytes)}) exceeds the VM memory limit (${mib(memoryLimitBytes)})`,
    );
  }
  let instrumented: InstrumentedModule | undefined;
  if (options.deadlines) {
    try {
      instrumented = instrumentDeadlines(capped.bytes);
    } catch (err) {
      if (!(err instanceof UnsupportedInstructionError)) throw new PluginLoadError(`malformed WebAssembly module: ${(err as Error).message}`);
      options.warn?.(`the module runs without a callback time limit: ${err.message} (docs/deadlines.md)`);
    }
  }
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile((instrumented?.bytes ?? capped.bytes) as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new PluginLoadError(`invalid WebAssembly module: ${(err as Error).message}`);
  }
  return { ...v, module, codeMap: codeMapOf(capped, instrumented), deadlines: instrumented !== undefined };
}

// V8's view → the capped module (undo the instrumentation) → the module as given (undo the cap).
function codeMapOf(capped: { shiftFrom: number; shift: number }, instrumented: InstrumentedModule | undefined): CodeMap {
  const { shiftFrom, shift } = capped;
  const uncap = (o: number) => (shift !== 0 && o >= shiftFrom + shift ? o - shift : o);
  if (!instrumented) return { functionIndex: (i) => i, offset: uncap };
  return {
    functionIndex: (i) => instrumented.originalFunction(i),
    offset: (o) => uncap(instrumented.originalOffset(o)),
  };
}

const mib = (n: number) => (n < 1024 * 1024 ? `${Math.round(n / 1024)} KiB` : `${+(n / (1024 * 1024)).toFixed(1)} MiB`);
