// Stream control: continue, close, local replies.
import { proxy_close_stream, proxy_continue_stream, proxy_send_local_response } from "./imports";
import { Headers, serializeHeaders } from "./headers";
import { stage0, stage1, stagedLen0, stagedLen1 } from "./memory";
import { GrpcStatus, StreamType, WasmResult } from "./types";

/** Resumes a paused stream once the current callback returns (proxy_continue_stream). */
export function continueStream(streamType: StreamType): WasmResult {
  return <WasmResult>proxy_continue_stream(<u32>streamType);
}

/** Closes (resets) a stream (proxy_close_stream). */
export function closeStream(streamType: StreamType): WasmResult {
  return <WasmResult>proxy_close_stream(<u32>streamType);
}

/**
 * Answers the request locally with `statusCode` and a text body instead of forwarding it
 * (proxy_send_local_response). `details` shows up as the response code details; `grpcStatus`
 * other than None turns the reply into a gRPC status for gRPC requests.
 */
export function sendLocalResponse(
  statusCode: u32, details: string = "", body: string = "",
  headers: Headers | null = null, grpcStatus: GrpcStatus = GrpcStatus.None,
): WasmResult {
  const b = stage1(body);
  return sendStaged(statusCode, details, b, stagedLen1, headers, grpcStatus);
}

/** Like {@link sendLocalResponse} with a binary body. */
export function sendLocalResponseBytes(
  statusCode: u32, details: string, body: ArrayBuffer,
  headers: Headers | null = null, grpcStatus: GrpcStatus = GrpcStatus.None,
): WasmResult {
  return sendStaged(statusCode, details, changetype<usize>(body), <usize>body.byteLength, headers, grpcStatus);
}

function sendStaged(
  statusCode: u32, details: string, bodyPtr: usize, bodyLen: usize,
  headers: Headers | null, grpcStatus: GrpcStatus,
): WasmResult {
  const d = stage0(details);
  let hp: usize = 0, hl: usize = 0;
  if (headers !== null && headers.length > 0) {
    const h = serializeHeaders(headers);
    hp = changetype<usize>(h);
    hl = <usize>h.byteLength;
  }
  const r = proxy_send_local_response(statusCode, d, stagedLen0, bodyPtr, bodyLen, hp, hl, <i32>grpcStatus);
  return <WasmResult>r;
}
