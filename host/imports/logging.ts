// Host functions: proxy_log, proxy_get_log_level, proxy_get_current_time_nanoseconds,
// proxy_set_tick_period_milliseconds.
import { WasmResult } from "../abi/constants.js";
import { sig, type HostFunctionDef } from "./types.js";

/**
 * The most of one log message the host copies, in bytes: a plugin may log its whole memory (or,
 * through fd_write, the same memory many times over), and the host holds a line several times on
 * its way out (decoded, formatted, written). The rest is counted, not copied (docs/deadlines.md).
 */
export const MAX_LOG_MESSAGE_BYTES = 1 << 20;

/** A message cut at MAX_LOG_MESSAGE_BYTES, marked with what was left out. */
export function cutLogMessage(text: string, omittedBytes: number): string {
  return omittedBytes > 0 ? `${text}… [${omittedBytes} more bytes not logged]` : text;
}

export const loggingFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_log", type: sig("iii>i"), allowed: "anywhere",
    create: (vm) => (level: number, ptr: number, len: number) => {
      level >>>= 0;
      if (level > 5) return WasmResult.BadArgument;
      // A line below the log level costs no decoding (plugins log at debug on every request); a
      // bad pointer is still INVALID_MEMORY_ACCESS.
      if (level < vm.runtime.services.logs.level) {
        vm.mem.check(ptr, len);
        return WasmResult.Ok;
      }
      len >>>= 0;
      vm.mem.check(ptr, len);
      const kept = Math.min(len, MAX_LOG_MESSAGE_BYTES);
      vm.guestLog(level as 0, cutLogMessage(vm.mem.utf8(ptr, kept), len - kept));
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_get_log_level", type: sig("i>i"), versions: ["0.2.1"],
    create: (vm) => (out: number) => {
      vm.mem.setU32(out, vm.runtime.services.logs.level);
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_get_current_time_nanoseconds", type: sig("i>i"),
    create: (vm) => (out: number) => {
      vm.mem.setU64(out, vm.runtime.services.clock.realtimeNanos());
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_set_tick_period_milliseconds", type: sig("i>i"),
    create: (vm) => (period: number) => {
      // Envoy: the period belongs to the caller's root context.
      vm.runtime.services.timers.setTickPeriod(vm.effectiveContext().root, period >>> 0);
      return WasmResult.Ok;
    },
  },
];
