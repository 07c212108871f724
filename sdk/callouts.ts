// HTTP and gRPC callouts. The host gives every callout to the root context and answers it with
// the token; the SDK remembers which context made each call and routes the answer there, after
// proxy_set_effective_context to that context. An answer for a context that is already gone is
// dropped (logged at debug). The routing code is installed by the first dispatch, so plugins
// that never make a callout do not carry it.
import { BaseContext } from "./context";
import { tableGet } from "./context_table";
import { Headers, serializeHeaders } from "./headers";
import {
  proxy_get_status, proxy_grpc_call, proxy_grpc_cancel, proxy_grpc_close, proxy_grpc_send, proxy_grpc_stream,
  proxy_http_call, proxy_set_effective_context,
} from "./imports";
import { logDebug } from "./log";
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

/** Routes a callout event: (root id, token, event, a, b, c). */
export type CalloutRouter = (rootId: u32, token: u32, event: u32, a: u32, b: u32, c: u32) => void;

/** The installed router; null until the plugin makes its first callout. */
export let calloutRouter: CalloutRouter | null = null;

// Callouts in flight: token → the id of the context that made it. Few at a time, so a list.
class Callout {
  constructor(public token: u32, public contextId: u32, public next: Callout | null) {}
}
let inFlight: Callout | null = null;

function track(receiver: BaseContext, result: u32): u32 {
  if (!noteResult(result)) return 0;
  const token = load<u32>(OUT_PTR);
  inFlight = new Callout(token, receiver.contextId, inFlight);
  calloutRouter = routeCallout;
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

function routeCallout(rootId: u32, token: u32, event: u32, a: u32, b: u32, c: u32): void {
  // The last event of a callout: an HTTP response, a unary gRPC response, any gRPC close.
  const last = event == CalloutEvent.HttpResponse || event == CalloutEvent.GrpcClose ||
    (event == CalloutEvent.GrpcMessage && isGrpcCallToken(token));
  const owner = last ? untrack(token) : find(token);
  // A token the SDK did not dispatch (raw imports) goes to the root.
  const target = tableGet(owner != 0 ? owner : rootId);
  if (target === null) {
    logDebug("pwasm: callout answer dropped: the context that made it is gone");
    return;
  }
  if (target.contextId != rootId) proxy_set_effective_context(target.contextId);
  deliverCallout(target, token, event, a, b, c);
}

/** Calls the callback of `ctx` for a callout event. */
export function deliverCallout(ctx: BaseContext, token: u32, event: u32, a: u32, b: u32, c: u32): void {
  if (event == CalloutEvent.HttpResponse) ctx.onHttpCallResponse(token, a, b, c);
  else if (event == CalloutEvent.GrpcInitialMetadata) ctx.onGrpcReceiveInitialMetadata(token, a);
  else if (event == CalloutEvent.GrpcMessage) ctx.onGrpcReceive(token, a);
  else if (event == CalloutEvent.GrpcTrailingMetadata) ctx.onGrpcReceiveTrailingMetadata(token, a);
  else ctx.onGrpcClose(token, a);
}

// (pointer, length) of optional serialized pairs.
function pairsOf(headers: Headers | null): ArrayBuffer | null {
  return headers !== null && headers.length > 0 ? serializeHeaders(headers) : null;
}
// @ts-ignore: decorator
@inline function ptrOf(b: ArrayBuffer | null): usize { return b !== null ? changetype<usize>(b) : 0; }
// @ts-ignore: decorator
@inline function lenOf(b: ArrayBuffer | null): usize { return b !== null ? <usize>b.byteLength : 0; }

/** Sends an HTTP callout for `receiver` (see BaseContext.dispatchHttpCall); the token, or 0 when refused. */
export function httpCallFor(
  receiver: BaseContext, cluster: string, headers: Headers, body: ArrayBuffer | null,
  trailers: Headers | null, timeoutMilliseconds: u32,
): u32 {
  return httpCallPairsFor(receiver, cluster, serializeHeaders(headers), body, pairsOf(trailers), timeoutMilliseconds);
}

/**
 * Like {@link httpCallFor}, with headers and trailers already in the ABI's pairs format
 * (`serializeHeaders`), for callers that keep headers as bytes.
 */
export function httpCallPairsFor(
  receiver: BaseContext, cluster: string, headers: ArrayBuffer, body: ArrayBuffer | null,
  trailers: ArrayBuffer | null, timeoutMilliseconds: u32,
): u32 {
  const c = stage0(cluster);
  const r = proxy_http_call(
    c, stagedLen0, changetype<usize>(headers), <usize>headers.byteLength, ptrOf(body), lenOf(body),
    ptrOf(trailers), lenOf(trailers), timeoutMilliseconds, OUT_PTR,
  );
  return track(receiver, r);
}

/** Starts a unary gRPC call for `receiver` (see BaseContext.dispatchGrpcCall); the token, or 0 when refused. */
export function grpcCallFor(
  receiver: BaseContext, service: string, serviceName: string, method: string,
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
  return track(receiver, r);
}

/** Opens a gRPC stream for `receiver` (see BaseContext.openGrpcStream); the token, or 0 when refused. */
export function grpcStreamFor(
  receiver: BaseContext, service: string, serviceName: string, method: string, initialMetadata: Headers | null,
): u32 {
  const svc = encodeString(service);
  const m = pairsOf(initialMetadata);
  const sn = stage0(serviceName);
  const mn = stage1(method);
  const r = proxy_grpc_stream(
    changetype<usize>(svc), <usize>svc.byteLength, sn, stagedLen0, mn, stagedLen1, ptrOf(m), lenOf(m), OUT_PTR,
  );
  return track(receiver, r);
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
