// Properties (Envoy attributes) by path, and filter state written with proxy_set_property.
import { proxy_get_property, proxy_set_property } from "./imports";
import { OUT_LEN, OUT_PTR, takeBuffer } from "./memory";
import { noteResult } from "./result";
import { WasmResult } from "./types";
import { decodeBuffer, encodeString, encodeUtf8, setObjectSize } from "./utf8";

/** Encodes path segments as the ABI wants them: UTF-8, separated by NUL bytes. */
export function serializePath(path: Array<string>): ArrayBuffer {
  let worst: usize = <usize>path.length;
  for (let i = 0; i < path.length; i++) worst += <usize>unchecked(path[i]).length * 3;
  const base = __new(worst, idof<ArrayBuffer>());
  let p = base;
  for (let i = 0; i < path.length; i++) {
    if (i > 0) store<u8>(p++, 0);
    const s = unchecked(path[i]);
    p += encodeUtf8(changetype<usize>(s), <usize>s.length, p);
  }
  setObjectSize(base, p - base);
  return changetype<ArrayBuffer>(base);
}

/**
 * Raw bytes of a property such as `["request", "path"]` or `["node", "metadata", "NAME"]`
 * (proxy_get_property); null when absent (lastResult: NotFound).
 */
export function getProperty(path: Array<string>): ArrayBuffer | null {
  const p = serializePath(path);
  return noteResult(proxy_get_property(changetype<usize>(p), <usize>p.byteLength, OUT_PTR, OUT_LEN)) ? takeBuffer() : null;
}

/** A string-valued property; null when absent. */
export function getPropertyString(path: Array<string>): string | null {
  const b = getProperty(path);
  return b !== null ? decodeBuffer(b) : null;
}

/** An integer property (int64 / uint64, 8 bytes little-endian); `fallback` when absent or not 8 bytes. */
export function getPropertyI64(path: Array<string>, fallback: i64 = 0): i64 {
  const b = getProperty(path);
  if (b === null || b.byteLength != 8) return fallback;
  return load<i64>(changetype<usize>(b));
}

/** A boolean property (1 byte); `fallback` when absent. */
export function getPropertyBool(path: Array<string>, fallback: bool = false): bool {
  const b = getProperty(path);
  if (b === null || b.byteLength != 1) return fallback;
  return load<u8>(changetype<usize>(b)) != 0;
}

/** Writes a property (proxy_set_property; Envoy keeps it as filter state `wasm.<path>`). */
export function setProperty(path: Array<string>, value: ArrayBuffer): WasmResult {
  const p = serializePath(path);
  return <WasmResult>proxy_set_property(changetype<usize>(p), <usize>p.byteLength, changetype<usize>(value), <usize>value.byteLength);
}

/** Writes a string property. */
export function setPropertyString(path: Array<string>, value: string): WasmResult {
  return setProperty(path, encodeString(value));
}
