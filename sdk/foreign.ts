// Foreign functions: functions the host registers by name (Envoy: compress, uncompress,
// set_envoy_filter_state, clear_route_cache, …), and the arguments of a call the host makes into
// the plugin (proxy_on_foreign_function → RootContext.onForeignFunction).
import { getBufferBytes } from "./buffers";
import { proxy_call_foreign_function } from "./imports";
import { OUT_LEN, OUT_PTR, stage0, stagedLen0, takeBuffer } from "./memory";
import { noteResult } from "./result";
import { BufferType } from "./types";
import { emptyBuffer } from "./utf8";

/**
 * Calls the host function `name` with `args` (proxy_call_foreign_function); its result bytes, or
 * null when the host has no such function (lastResult: NotFound) or it failed.
 */
export function callForeignFunction(name: string, args: ArrayBuffer): ArrayBuffer | null {
  const n = stage0(name);
  const r = proxy_call_foreign_function(n, stagedLen0, changetype<usize>(args), <usize>args.byteLength, OUT_PTR, OUT_LEN);
  return noteResult(r) ? takeBuffer() : null;
}

/** The arguments of the current onForeignFunction call (buffer FOREIGN_FUNCTION_ARGUMENTS). */
export function getForeignFunctionArguments(): ArrayBuffer {
  const b = getBufferBytes(BufferType.CallData);
  return b !== null ? b : emptyBuffer();
}
