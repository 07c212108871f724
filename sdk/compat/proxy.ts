// The wasm exports a proxy-runtime plugin re-exports: `export * from "pwasm/sdk/compat/proxy";`.
export * from "../exports";
import { pwasm_abort } from "../abort";

/**
 * proxy-runtime's abort handler name, for projects built with `--use abort=abort_proc_exit`:
 * logs at CRITICAL and traps, like pwasm's own (Envoy's proc_exit does not stop execution).
 */
// @ts-ignore: decorator
@global
export function abort_proc_exit(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {
  pwasm_abort(message, fileName, lineNumber, columnNumber);
}
