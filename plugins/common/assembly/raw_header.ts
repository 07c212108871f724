// A header whose name is encoded once and whose values move as bytes, for per-request code that
// only passes values along or compares them: no UTF-8 encoding of the name on every call and no
// decoding of the value into a string (the SDK's HeaderMap works in strings).
import { HeaderMap, WasmResult } from "pwasm/sdk";
import { proxy_get_header_map_value, proxy_remove_header_map_value, proxy_replace_header_map_value } from "pwasm/sdk/imports";
import { OUT_LEN, OUT_PTR, takeBuffer } from "pwasm/sdk/memory";

/** A header name, UTF-8 encoded once. */
export class RawHeader {
  readonly name: ArrayBuffer;

  constructor(name: string) {
    this.name = String.UTF8.encode(name);
  }

  /** The first value in `map` as bytes, or null when absent. */
  get(map: HeaderMap): ArrayBuffer | null {
    const r = proxy_get_header_map_value(<u32>map.mapType, changetype<usize>(this.name), <usize>this.name.byteLength, OUT_PTR, OUT_LEN);
    return r == WasmResult.Ok ? takeBuffer() : null;
  }

  /** Removes every value from `map`. */
  remove(map: HeaderMap): WasmResult {
    return <WasmResult>proxy_remove_header_map_value(<u32>map.mapType, changetype<usize>(this.name), <usize>this.name.byteLength);
  }

  /** Sets the single value `value` in `map`, adding the header if absent. */
  set(map: HeaderMap, value: ArrayBuffer): WasmResult {
    return <WasmResult>proxy_replace_header_map_value(<u32>map.mapType, changetype<usize>(this.name), <usize>this.name.byteLength, changetype<usize>(value), <usize>value.byteLength);
  }

  /**
   * Removes the header from `map` (even when its value is empty, so the application never sees it)
   * and returns its value; null when it was absent or empty.
   */
  take(map: HeaderMap): ArrayBuffer | null {
    const v = this.get(map);
    if (v === null) return null;
    this.remove(map);
    return v.byteLength > 0 ? v : null;
  }
}
