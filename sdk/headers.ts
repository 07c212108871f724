// Header, trailer and metadata maps: the pairs wire format and the HeaderMap accessor.
import {
  proxy_add_header_map_value, proxy_get_header_map_pairs, proxy_get_header_map_size,
  proxy_get_header_map_value, proxy_remove_header_map_value, proxy_replace_header_map_value,
  proxy_set_header_map_pairs,
} from "./imports";
import {
  OUT_LEN, OUT_PTR, stage0, stage1, stagedLen0, stagedLen1, takeBuffer, takeString,
} from "./memory";
import { MapType, WasmResult } from "./types";
import { decodeUtf8, encodeUtf8, setObjectSize } from "./utf8";

/** One `key: value` entry of a header map. */
export class HeaderPair {
  constructor(public key: string, public value: string) {}
}

/** A list of header pairs, in order; a key may repeat. */
export type Headers = Array<HeaderPair>;

/**
 * Serializes pairs in the ABI's layout: u32 count, count × (u32 key length, u32 value length),
 * then each key and value followed by a NUL byte. All integers little-endian.
 */
export function serializeHeaders(pairs: Headers): ArrayBuffer {
  const n = <usize>pairs.length;
  // Allocated at the worst case (3 UTF-8 bytes per UTF-16 unit), then trimmed.
  let worst: usize = 4 + n * 10;
  for (let i = 0; i < <i32>n; i++) {
    const p = unchecked(pairs[i]);
    worst += (<usize>p.key.length + <usize>p.value.length) * 3;
  }
  const base = __new(worst, idof<ArrayBuffer>());
  store<u32>(base, <u32>n);
  let lens = base + 4;
  let data = lens + n * 8;
  for (let i = 0; i < <i32>n; i++) {
    const p = unchecked(pairs[i]);
    const k = encodeUtf8(changetype<usize>(p.key), <usize>p.key.length, data);
    store<u8>(data + k, 0);
    data += k + 1;
    const v = encodeUtf8(changetype<usize>(p.value), <usize>p.value.length, data);
    store<u8>(data + v, 0);
    data += v + 1;
    store<u32>(lens, <u32>k);
    store<u32>(lens, <u32>v, 4);
    lens += 8;
  }
  setObjectSize(base, data - base);
  return changetype<ArrayBuffer>(base);
}

/**
 * Parses the pairs format. Malformed input (truncated, lengths past the end) yields the pairs that
 * could be read, never a trap.
 */
export function deserializeHeaders(buf: ArrayBuffer): Headers {
  const out = new Array<HeaderPair>();
  const size = <usize>buf.byteLength;
  if (size < 4) return out;
  const base = changetype<usize>(buf);
  const n = <usize>load<u32>(base);
  if (n > (size - 4) / 8) return out;
  let lens = base + 4;
  let data = base + 4 + n * 8;
  const end = base + size;
  for (let i: usize = 0; i < n; i++) {
    const kl = <usize>load<u32>(lens);
    const vl = <usize>load<u32>(lens, 4);
    lens += 8;
    if (kl > end - data || end - data - kl < 1) break;
    const key = decodeUtf8(data, kl);
    data += kl + 1;
    if (vl > end - data || end - data - vl < 1) break;
    const value = decodeUtf8(data, vl);
    data += vl + 1;
    out.push(new HeaderPair(key, value));
  }
  return out;
}

/**
 * One of the host's header maps (request/response headers or trailers, callout and gRPC metadata).
 * Stateless: every method is one host call, so holding a HeaderMap costs nothing.
 */
export class HeaderMap {
  constructor(public readonly mapType: MapType) {}

  /** First value of `name` (proxy_get_header_map_value), or null when absent or unavailable now. */
  get(name: string): string | null {
    const k = stage0(name);
    const r = proxy_get_header_map_value(<u32>this.mapType, k, stagedLen0, OUT_PTR, OUT_LEN);
    if (r != WasmResult.Ok) return null;
    return takeString();
  }

  /** True when `name` is present. */
  has(name: string): bool {
    return this.get(name) !== null;
  }

  /** Every pair, in order (proxy_get_header_map_pairs). */
  getAll(): Headers {
    if (proxy_get_header_map_pairs(<u32>this.mapType, OUT_PTR, OUT_LEN) != WasmResult.Ok) return new Array<HeaderPair>();
    return deserializeHeaders(takeBuffer());
  }

  /** Replaces the whole map with `pairs` (proxy_set_header_map_pairs). */
  setAll(pairs: Headers): WasmResult {
    const buf = serializeHeaders(pairs);
    return <WasmResult>proxy_set_header_map_pairs(<u32>this.mapType, changetype<usize>(buf), <usize>buf.byteLength);
  }

  /** Sets `name` to the single value `value`, adding it if absent (proxy_replace_header_map_value). */
  set(name: string, value: string): WasmResult {
    const k = stage0(name);
    const v = stage1(value);
    const r = proxy_replace_header_map_value(<u32>this.mapType, k, stagedLen0, v, stagedLen1);
    return <WasmResult>r;
  }

  /** Appends a `name: value` entry, keeping existing values (proxy_add_header_map_value). */
  add(name: string, value: string): WasmResult {
    const k = stage0(name);
    const v = stage1(value);
    const r = proxy_add_header_map_value(<u32>this.mapType, k, stagedLen0, v, stagedLen1);
    return <WasmResult>r;
  }

  /** Removes every value of `name` (proxy_remove_header_map_value). */
  remove(name: string): WasmResult {
    const k = stage0(name);
    const r = proxy_remove_header_map_value(<u32>this.mapType, k, stagedLen0);
    return <WasmResult>r;
  }

  /** The map's size as the host reports it (proxy_get_header_map_size; Envoy: bytes of keys and values). */
  size(): u32 {
    if (proxy_get_header_map_size(<u32>this.mapType, OUT_PTR) != WasmResult.Ok) return 0;
    return load<u32>(OUT_PTR);
  }
}

/** Request headers, including pseudo-headers such as `:path`. */
// @ts-ignore: decorator
@lazy export const requestHeaders = new HeaderMap(MapType.HttpRequestHeaders);
/** Request trailers. */
// @ts-ignore: decorator
@lazy export const requestTrailers = new HeaderMap(MapType.HttpRequestTrailers);
/** Response headers, including `:status`. */
// @ts-ignore: decorator
@lazy export const responseHeaders = new HeaderMap(MapType.HttpResponseHeaders);
/** Response trailers. */
// @ts-ignore: decorator
@lazy export const responseTrailers = new HeaderMap(MapType.HttpResponseTrailers);
/** Response headers of an HTTP callout, readable inside its callback. */
// @ts-ignore: decorator
@lazy export const httpCallResponseHeaders = new HeaderMap(MapType.HttpCallResponseHeaders);
/** Response trailers of an HTTP callout, readable inside its callback. */
// @ts-ignore: decorator
@lazy export const httpCallResponseTrailers = new HeaderMap(MapType.HttpCallResponseTrailers);
/** Initial metadata of a gRPC stream, readable inside its callback. */
// @ts-ignore: decorator
@lazy export const grpcReceiveInitialMetadata = new HeaderMap(MapType.GrpcReceiveInitialMetadata);
/** Trailing metadata of a gRPC call, readable inside its callback. */
// @ts-ignore: decorator
@lazy export const grpcReceiveTrailingMetadata = new HeaderMap(MapType.GrpcReceiveTrailingMetadata);
