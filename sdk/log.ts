// Logging through proxy_log at the six Proxy-Wasm levels.
import { proxy_get_log_level, proxy_log } from "./imports";
import { OUT_PTR, stage0, stagedLen0 } from "./memory";
import { LogLevel, WasmResult } from "./types";

/** Writes `message` to the host's log at `level` (proxy_log). */
export function log(level: LogLevel, message: string): void {
  const ptr = stage0(message);
  proxy_log(<u32>level, ptr, stagedLen0);
}

/** Logs at TRACE. */
export function logTrace(message: string): void { log(LogLevel.Trace, message); }
/** Logs at DEBUG. */
export function logDebug(message: string): void { log(LogLevel.Debug, message); }
/** Logs at INFO. */
export function logInfo(message: string): void { log(LogLevel.Info, message); }
/** Logs at WARN. */
export function logWarn(message: string): void { log(LogLevel.Warn, message); }
/** Logs at ERROR. */
export function logError(message: string): void { log(LogLevel.Error, message); }
/** Logs at CRITICAL. */
export function logCritical(message: string): void { log(LogLevel.Critical, message); }

/**
 * The host's current log level (proxy_get_log_level), so a plugin can skip building messages
 * nobody will see. Envoy can also answer 6 (off). Returns Trace if the host does not say.
 */
export function getLogLevel(): LogLevel {
  if (proxy_get_log_level(OUT_PTR) != WasmResult.Ok) return LogLevel.Trace;
  return <LogLevel>load<u32>(OUT_PTR);
}
