// The status of the last wrapper that answers "nothing" (0, null) on failure, so a plugin can tell
// why: a callout the host refused, an empty queue, a missing key.
import { WasmResult } from "./types";

let last: WasmResult = WasmResult.Ok;

/**
 * The host's status for the last call of `dispatchHttpCall`, `dispatchGrpcCall`, `openGrpcStream`, `getSharedData`,
 * `registerSharedQueue`, `resolveSharedQueue`, `dequeueSharedQueue`, `callForeignFunction` and
 * `getProperty` (e.g. `Empty` after dequeuing from an empty queue).
 */
export function lastResult(): WasmResult {
  return last;
}

/** Records a host status for {@link lastResult}; true when it is Ok. */
export function noteResult(result: u32): bool {
  last = <WasmResult>result;
  return result == WasmResult.Ok;
}
