// HTTP and gRPC callouts. The host gives every callout to the root context and answers it with
// the token; the SDK remembers which context made each call (by id: this file knows no context
// classes) and the dispatcher routes the answer there (dispatcher.ts, calloutEvent).
import { Headers, serializeHeaders } from "./headers";
import {
  proxy_get_status, proxy_grpc_call, proxy_grpc_cancel, proxy_grpc_close, proxy_grpc_send, proxy_grpc_stream,
  proxy_http_call,
} from "./imports";
import { OUT_AUX, OUT_LEN, OUT_PTR, stage0, stage1, stagedLen0, stagedLen1, takeString } from "./memory";
import { noteResult } from "./result";
import { WasmResult } from "./types";
import { encodeString } from "./utf8";

/** Callout events as the exports report them to the router. */
export enum CalloutEvent {
  HttpResponse = 0,
  GrpcInitialMetadata = 1,
  GrpcMessage = 2,
  GrpcTrailingMetadata = 3,
  GrpcClose = 4,
}

// Callouts in flight: token → the id of the context that made it. Few at a time, so a list.
class Callout {
  constructor(public token: u32, public contextId: u32, public next: Callout | null) {}
}
let inFlight: Callout | null = null;

function track(receiverId: u32, result: u32): u32 {
  if (!noteResult(result)) return 0;
  const token = load<u32>(OUT_PTR);
  inFlight = new Callout(token, receiverId, inFlight);
  return token;
}

// Removes the entry for `token`; returns the context id it was made for, or 0 when unknown.
function untrack(token: u32): u32 {
  let prev: Callout | null = null;
  let e = inFlight;
  while (e !== null) {
    if (e.token == token) {
      if (prev === null) inFlight = e.next;
      else prev.next = e.next;
      return e.contextId;
    }
    prev = e;
    e = e.next;
  }
  return 0;
}

function find(token: u32): u32 {
  let e = inFlight;
  while (e !== null) {
    if (e.token == token) return e.contextId;
    e = e.next;
  }
  return 0;
}

// gRPC tokens carry their kind in the low two bits (Envoy): 1 call, 2 stream.
// @ts-ignore: decorator
@inline function isGrpcCallToken(token: u32): bool { return (token & 3) == 1; }

/**
 * The id of the context that made the callout `token` (0: none the SDK dispatched, e.g. raw
 * imports, so the root's); forgotten at the callout's last event: an HTTP response, a unary gRPC
 * response, any gRPC close.
 */
export function calloutOwner(token: u32, event: u32): u32 {
  const last = event == CalloutEvent.HttpResponse || event == CalloutEvent.GrpcClose ||
    (event == CalloutEvent.GrpcMessage && isGrpcCallToken(token));
  return last ? untrack(token) : find(token);
}

// (pointer, length) of optional serialized pairs.
function pairsOf(headers: Headers | null): ArrayBuffer | null {
  return headers !== null && headers.length > 0 ? serializeHeaders(headers) : null;
}
// @ts-ignore: decorator
@inline function ptrOf(b: ArrayBuffer | null): usize { return b !== null ? changetype<usize>(b) : 0; }
// @ts-ignore: decorator
@inline function lenOf(b: ArrayBuffer | null): usize { return b !== null ? <usize>b.byteLength : 0; }

/** Sends an HTTP callout for the context `receiverId` (see BaseContext.dispatchHttpCall); the token, or 0 when refused. */
export function httpCallFor(
  receiverId: u32, cluster: string, headers: Headers, body: ArrayBuffer | null,
  trailers: Headers | null, timeoutMilliseconds: u32,
): u32 {
  return httpCallPairsFor(receiverId, cluster, serializeHeaders(headers), body, pairsOf(trailers), timeoutMilliseconds);
}

/**
 * Like {@link httpCallFor}, with headers and trailers already in the ABI's pairs format
 * (`serializeHeaders`), for callers that keep headers as bytes.
 */
export function httpCallPairsFor(
  receiverId: u32, cluster: string, headers: ArrayBuffer, body: ArrayBuffer | null,
  trailers: ArrayBuffer | null, timeoutMilliseconds: u32,
): u32 {
  const c = stage0(cluster);
  const r = proxy_http_call(
    c, stagedLen0, changetype<usize>(headers), <usize>headers.byteLength, ptrOf(body), lenOf(body),
    ptrOf(trailers), lenOf(trailers), timeoutMilliseconds, OUT_PTR,
  );
  return track(receiverId, r);
}

/** Starts a unary gRPC call for the context `receiverId` (see BaseContext.dispatchGrpcCall); the token, or 0 when refused. */
export function grpcCallFor(
  receiverId: u32, service: string, serviceName: string, method: string,
  initialMetadata: Headers | null, message: ArrayBuffer, timeoutMilliseconds: u32,
): u32 {
  const svc = encodeString(service);
  const m = pairsOf(initialMetadata);
  const sn = stage0(serviceName);
  const mn = stage1(method);
  const r = proxy_grpc_call(
    changetype<usize>(svc), <usize>svc.byteLength, sn, stagedLen0, mn, stagedLen1, ptrOf(m), lenOf(m),
    changetype<usize>(message), <usize>message.byteLength, timeoutMilliseconds, OUT_PTR,
  );
  return track(receiverId, r);
}

/** Opens a gRPC stream for the context `receiverId` (see BaseContext.openGrpcStream); the token, or 0 when refused. */
export function grpcStreamFor(
  receiverId: u32, service: string, serviceName: string, method: string, initialMetadata: Headers | null,
): u32 {
  const svc = encodeString(service);
  const m = pairsOf(initialMetadata);
  const sn = stage0(serviceName);
  const mn = stage1(method);
  const r = proxy_grpc_stream(
    changetype<usize>(svc), <usize>svc.byteLength, sn, stagedLen0, mn, stagedLen1, ptrOf(m), lenOf(m), OUT_PTR,
  );
  return track(receiverId, r);
}

/** Sends a message on a gRPC stream (proxy_grpc_send); `endStream` half-closes it after the message. */
export function grpcSend(token: u32, message: ArrayBuffer, endStream: bool = false): WasmResult {
  return <WasmResult>proxy_grpc_send(token, changetype<usize>(message), <usize>message.byteLength, endStream ? 1 : 0);
}

/** Cancels a gRPC call, or resets a gRPC stream (proxy_grpc_cancel); no callback follows. */
export function grpcCancel(token: u32): WasmResult {
  const r = proxy_grpc_cancel(token);
  if (r == WasmResult.Ok) untrack(token);
  return <WasmResult>r;
}

/**
 * Closes a gRPC stream from this side (proxy_grpc_close): the server may still answer until it
 * closes too. For a unary call it is the same as {@link grpcCancel}.
 */
export function grpcClose(token: u32): WasmResult {
  const r = proxy_grpc_close(token);
  if (r == WasmResult.Ok && isGrpcCallToken(token)) untrack(token);
  return <WasmResult>r;
}

/** A callout status (proxy_get_status): the gRPC status and message, or 11 "reset" for a failed HTTP call. */
export class CalloutStatus {
  constructor(public code: u32, public message: string) {}
}

/** The status of the root context's last callout (proxy_get_status). */
export function getStatus(): CalloutStatus {
  if (proxy_get_status(OUT_AUX, OUT_PTR, OUT_LEN) != WasmResult.Ok) return new CalloutStatus(<u32>WasmResult.InternalFailure, "");
  const code = load<u32>(OUT_AUX);
  return new CalloutStatus(code, takeString());
}
