// Time and timers.
import { proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds } from "./imports";
import { OUT_PTR } from "./memory";
import { WasmResult } from "./types";

/** Wall-clock time in nanoseconds since the Unix epoch (proxy_get_current_time_nanoseconds). */
export function getCurrentTimeNanoseconds(): u64 {
  if (proxy_get_current_time_nanoseconds(OUT_PTR) != WasmResult.Ok) return 0;
  return load<u64>(OUT_PTR);
}

/** Sets the calling root context's tick period; 0 stops it (proxy_set_tick_period_milliseconds). */
export function setTickPeriodMilliseconds(period: u32): WasmResult {
  return <WasmResult>proxy_set_tick_period_milliseconds(period);
}
