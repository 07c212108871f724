// Property paths encoded once: the per-request code reads Envoy attributes without re-encoding
// the path on every call (the SDK's getProperty takes an Array<string> and serializes it each time).
import { proxy_get_property, proxy_set_property } from "pwasm/sdk/imports";
import { OUT_LEN, OUT_PTR, dropBuffer, takeBuffer, takeString } from "pwasm/sdk/memory";
import { serializePath, WasmResult } from "pwasm/sdk";

/** A property path such as `["response", "code"]`, serialized for proxy_get_property. */
export class PropertyPath {
  readonly raw: ArrayBuffer;

  constructor(public readonly segments: Array<string>) {
    this.raw = serializePath(segments);
  }

  /** A path from dotted text: `response.code`. Segments may not contain dots this way. */
  static dotted(path: string): PropertyPath {
    return new PropertyPath(path.split("."));
  }

  private fetch(): bool {
    return proxy_get_property(changetype<usize>(this.raw), <usize>this.raw.byteLength, OUT_PTR, OUT_LEN) == WasmResult.Ok;
  }

  /** The raw value, or null when absent. */
  get(): ArrayBuffer | null {
    return this.fetch() ? takeBuffer() : null;
  }

  /** The value as UTF-8 text, or null when absent. */
  getString(): string | null {
    return this.fetch() ? takeString() : null;
  }

  /** True when the property exists. */
  exists(): bool {
    if (!this.fetch()) return false;
    dropBuffer();
    return true;
  }

  /** An int64/uint64 value (8 bytes little-endian); `fallback` when absent or not 8 bytes. */
  getI64(fallback: i64): i64 {
    if (!this.fetch()) return fallback;
    const ptr = load<usize>(OUT_PTR);
    const len = load<usize>(OUT_LEN);
    const v = ptr != 0 && len == 8 ? load<i64>(ptr) : fallback;
    dropBuffer();
    return v;
  }

  /** A boolean value (1 byte): 1 true, 0 false, -1 absent or malformed. */
  getBool(): i32 {
    if (!this.fetch()) return -1;
    const ptr = load<usize>(OUT_PTR);
    const len = load<usize>(OUT_LEN);
    const v = ptr != 0 && len == 1 ? (load<u8>(ptr) != 0 ? 1 : 0) : -1;
    dropBuffer();
    return v;
  }

  /** Writes the value (proxy_set_property; Envoy stores it as filter state `wasm.<path>`). */
  set(value: ArrayBuffer): WasmResult {
    return <WasmResult>proxy_set_property(changetype<usize>(this.raw), <usize>this.raw.byteLength, changetype<usize>(value), <usize>value.byteLength);
  }
}
