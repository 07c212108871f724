// Buffers: bodies, TCP data, callout bodies, gRPC messages, configuration, foreign-function args.
import { proxy_get_buffer_bytes, proxy_get_buffer_status, proxy_set_buffer_bytes } from "./imports";
import { OUT_AUX, OUT_LEN, OUT_PTR, takeBuffer } from "./memory";
import { BufferType, WasmResult } from "./types";
import { decodeBuffer, emptyBuffer, encodeString } from "./utf8";

// Envoy's proxy_set_buffer_bytes only edits at the ends: start 0 drops `size` leading bytes then
// prepends, start >= length appends. These (start, size) pairs are the three whole-buffer edits.
const APPEND_START: usize = 0x7fffffff;
const WHOLE: usize = 0x7fffffff;

/** Bytes `[start, start + maxSize)` of a buffer (proxy_get_buffer_bytes), clamped by the host; null if unavailable. */
export function getBufferBytes(bufferType: BufferType, start: usize = 0, maxSize: usize = 0x7fffffff): ArrayBuffer | null {
  const r = proxy_get_buffer_bytes(<u32>bufferType, start, maxSize, OUT_PTR, OUT_LEN);
  if (r != WasmResult.Ok) return null;
  return takeBuffer();
}

/** Replaces `size` bytes at `start` of a buffer with `data` (proxy_set_buffer_bytes). */
export function setBufferBytes(bufferType: BufferType, start: usize, size: usize, data: ArrayBuffer): WasmResult {
  return <WasmResult>proxy_set_buffer_bytes(<u32>bufferType, start, size, changetype<usize>(data), <usize>data.byteLength);
}

/** Current size of a buffer (proxy_get_buffer_status); 0 when unavailable. */
export function getBufferSize(bufferType: BufferType): usize {
  if (proxy_get_buffer_status(<u32>bufferType, OUT_PTR, OUT_AUX) != WasmResult.Ok) return 0;
  return load<u32>(OUT_PTR);
}

/**
 * A body-like buffer of the current callback: request or response body, TCP data, callout body,
 * gRPC message. Stateless: each method is one host call.
 */
export class Buffer {
  constructor(public readonly bufferType: BufferType) {}

  /** The bytes available now: the current chunk, or everything buffered after a Pause. */
  get(start: usize = 0, maxSize: usize = 0x7fffffff): ArrayBuffer {
    const b = getBufferBytes(this.bufferType, start, maxSize);
    return b !== null ? b : emptyBuffer();
  }

  /** The bytes as UTF-8 text. */
  getString(start: usize = 0, maxSize: usize = 0x7fffffff): string {
    return decodeBuffer(this.get(start, maxSize));
  }

  /** Size in bytes (proxy_get_buffer_status). */
  size(): usize {
    return getBufferSize(this.bufferType);
  }

  /** Replaces the whole buffer. */
  replace(data: ArrayBuffer): WasmResult {
    return setBufferBytes(this.bufferType, 0, WHOLE, data);
  }

  /** Replaces the whole buffer with UTF-8 text. */
  replaceString(text: string): WasmResult {
    return this.replace(encodeString(text));
  }

  /** Adds bytes at the end. */
  append(data: ArrayBuffer): WasmResult {
    return setBufferBytes(this.bufferType, APPEND_START, 0, data);
  }

  /** Adds UTF-8 text at the end. */
  appendString(text: string): WasmResult {
    return this.append(encodeString(text));
  }

  /** Adds bytes at the start. */
  prepend(data: ArrayBuffer): WasmResult {
    return setBufferBytes(this.bufferType, 0, 0, data);
  }

  /** Adds UTF-8 text at the start. */
  prependString(text: string): WasmResult {
    return this.prepend(encodeString(text));
  }
}

/** The request body of the current body callback. */
// @ts-ignore: decorator
@lazy export const requestBody = new Buffer(BufferType.HttpRequestBody);
/** The response body of the current body callback. */
// @ts-ignore: decorator
@lazy export const responseBody = new Buffer(BufferType.HttpResponseBody);
/** Bytes from the downstream client, during onDownstreamData. */
// @ts-ignore: decorator
@lazy export const downstreamData = new Buffer(BufferType.DownstreamData);
/** Bytes from the upstream server, during onUpstreamData. */
// @ts-ignore: decorator
@lazy export const upstreamData = new Buffer(BufferType.UpstreamData);
/** Body of an HTTP callout's response, inside its callback. */
// @ts-ignore: decorator
@lazy export const httpCallResponseBody = new Buffer(BufferType.HttpCallResponseBody);
/** The gRPC message being received, inside its callback. */
// @ts-ignore: decorator
@lazy export const grpcReceiveBuffer = new Buffer(BufferType.GrpcReceiveBuffer);

/** The plugin configuration (available inside onConfigure). */
export function getPluginConfiguration(): ArrayBuffer {
  const b = getBufferBytes(BufferType.PluginConfiguration);
  return b !== null ? b : emptyBuffer();
}

/** The VM configuration (available inside onVmStart). */
export function getVmConfiguration(): ArrayBuffer {
  const b = getBufferBytes(BufferType.VmConfiguration);
  return b !== null ? b : emptyBuffer();
}
