// The wasm exports of a pwasm plugin: the ABI version marker, the allocator and every callback of
// the Proxy-Wasm ABI 0.2.1. A plugin's entry file re-exports them with
//   export * from "pwasm/sdk/exports";
import "./abort";
import { CalloutEvent } from "./callouts";
import {
  afterDataCallback, calloutEvent, createContext, deleteContext, doneContext, getRootContext, getStreamContext, logContext, maybeCollect,
} from "./dispatcher";
import { allocate } from "./memory";
import { Action, PeerType } from "./types";

/** ABI version marker: tells the host this module speaks Proxy-Wasm 0.2.1. */
export function proxy_abi_version_0_2_1(): void {}

/** The allocator the host uses for data it hands to the plugin. */
export function proxy_on_memory_allocate(size: usize): usize {
  return allocate(size);
}

/** The same allocator under the name Envoy looks up first. */
export function malloc(size: usize): usize {
  return allocate(size);
}

/** A root context (parent 0) or a stream/connection context is created. */
export function proxy_on_context_create(context_id: u32, parent_context_id: u32): void {
  createContext(context_id, parent_context_id);
}

/** The VM started: RootContext.onVmStart. Returns 0 to fail the start. */
export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  const root = getRootContext(root_context_id);
  return root !== null && root.onVmStart(vm_configuration_size) ? 1 : 0;
}

/** A plugin configuration arrived: RootContext.onConfigure. Returns 0 to reject it. */
export function proxy_on_configure(root_context_id: u32, plugin_configuration_size: u32): u32 {
  const root = getRootContext(root_context_id);
  return root !== null && root.onConfigure(plugin_configuration_size) ? 1 : 0;
}

/** The root's timer fired: RootContext.onTick. */
export function proxy_on_tick(root_context_id: u32): void {
  const root = getRootContext(root_context_id);
  if (root !== null) root.onTick();
  maybeCollect();
}

/** Something was enqueued on a queue the root registered: RootContext.onQueueReady. */
export function proxy_on_queue_ready(root_context_id: u32, queue_id: u32): void {
  const root = getRootContext(root_context_id);
  if (root !== null) root.onQueueReady(queue_id);
  maybeCollect();
}

/** The host called a plugin function: RootContext.onForeignFunction. */
export function proxy_on_foreign_function(root_context_id: u32, function_id: u32, arguments_size: u32): void {
  const root = getRootContext(root_context_id);
  if (root !== null) root.onForeignFunction(function_id, arguments_size);
  maybeCollect();
}

/** StreamContext.onRequestHeaders. */
export function proxy_on_request_headers(context_id: u32, num_headers: u32, end_of_stream: u32): u32 {
  const ctx = getStreamContext(context_id);
  return ctx !== null ? <u32>ctx.onRequestHeaders(num_headers, end_of_stream != 0) : <u32>Action.Continue;
}

/** StreamContext.onRequestBody. */
export function proxy_on_request_body(context_id: u32, body_size: u32, end_of_stream: u32): u32 {
  const ctx = getStreamContext(context_id);
  const action = ctx !== null ? <u32>ctx.onRequestBody(body_size, end_of_stream != 0) : <u32>Action.Continue;
  afterDataCallback();
  return action;
}

/** StreamContext.onRequestTrailers. */
export function proxy_on_request_trailers(context_id: u32, num_trailers: u32): u32 {
  const ctx = getStreamContext(context_id);
  return ctx !== null ? <u32>ctx.onRequestTrailers(num_trailers) : <u32>Action.Continue;
}

/** StreamContext.onResponseHeaders. */
export function proxy_on_response_headers(context_id: u32, num_headers: u32, end_of_stream: u32): u32 {
  const ctx = getStreamContext(context_id);
  return ctx !== null ? <u32>ctx.onResponseHeaders(num_headers, end_of_stream != 0) : <u32>Action.Continue;
}

/** StreamContext.onResponseBody. */
export function proxy_on_response_body(context_id: u32, body_size: u32, end_of_stream: u32): u32 {
  const ctx = getStreamContext(context_id);
  const action = ctx !== null ? <u32>ctx.onResponseBody(body_size, end_of_stream != 0) : <u32>Action.Continue;
  afterDataCallback();
  return action;
}

/** StreamContext.onResponseTrailers. */
export function proxy_on_response_trailers(context_id: u32, num_trailers: u32): u32 {
  const ctx = getStreamContext(context_id);
  return ctx !== null ? <u32>ctx.onResponseTrailers(num_trailers) : <u32>Action.Continue;
}

/** StreamContext.onNewConnection. */
export function proxy_on_new_connection(context_id: u32): u32 {
  const ctx = getStreamContext(context_id);
  return ctx !== null ? <u32>ctx.onNewConnection() : <u32>Action.Continue;
}

/** StreamContext.onDownstreamData. */
export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  const ctx = getStreamContext(context_id);
  const action = ctx !== null ? <u32>ctx.onDownstreamData(data_size, end_of_stream != 0) : <u32>Action.Continue;
  afterDataCallback();
  return action;
}

/** StreamContext.onUpstreamData. */
export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  const ctx = getStreamContext(context_id);
  const action = ctx !== null ? <u32>ctx.onUpstreamData(data_size, end_of_stream != 0) : <u32>Action.Continue;
  afterDataCallback();
  return action;
}

/** StreamContext.onDownstreamConnectionClose. */
export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {
  const ctx = getStreamContext(context_id);
  if (ctx !== null) ctx.onDownstreamConnectionClose(<PeerType>peer_type);
}

/** StreamContext.onUpstreamConnectionClose. */
export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {
  const ctx = getStreamContext(context_id);
  if (ctx !== null) ctx.onUpstreamConnectionClose(<PeerType>peer_type);
}

/** An HTTP callout's response, routed to the context that made the call. */
export function proxy_on_http_call_response(root_context_id: u32, token: u32, num_headers: u32, body_size: u32, num_trailers: u32): void {
  calloutEvent(root_context_id, token, CalloutEvent.HttpResponse, num_headers, body_size, num_trailers);
  maybeCollect();
}

/** A gRPC stream's initial metadata, routed to the context that opened it. */
export function proxy_on_grpc_receive_initial_metadata(root_context_id: u32, token: u32, num_elements: u32): void {
  calloutEvent(root_context_id, token, CalloutEvent.GrpcInitialMetadata, num_elements, 0, 0);
}

/** A gRPC message (a call's response or a stream message), routed to the context that made the call. */
export function proxy_on_grpc_receive(root_context_id: u32, token: u32, message_size: u32): void {
  calloutEvent(root_context_id, token, CalloutEvent.GrpcMessage, message_size, 0, 0);
  maybeCollect();
}

/** A gRPC stream's trailing metadata, routed to the context that opened it. */
export function proxy_on_grpc_receive_trailing_metadata(root_context_id: u32, token: u32, num_elements: u32): void {
  calloutEvent(root_context_id, token, CalloutEvent.GrpcTrailingMetadata, num_elements, 0, 0);
}

/** A gRPC call failed or a stream closed, routed to the context that made the call. */
export function proxy_on_grpc_close(root_context_id: u32, token: u32, status_code: u32): void {
  calloutEvent(root_context_id, token, CalloutEvent.GrpcClose, status_code, 0, 0);
  maybeCollect();
}

/** The stream or connection is complete (access-log point): StreamContext.onLog. */
export function proxy_on_log(context_id: u32): void {
  logContext(context_id);
}

/** The context is finished: onDone. A root returning 0 will call proxy_done later. */
export function proxy_on_done(context_id: u32): u32 {
  return doneContext(context_id) ? 1 : 0;
}

/** The host forgets the context: onDelete, then the SDK drops it. */
export function proxy_on_delete(context_id: u32): void {
  deleteContext(context_id);
  maybeCollect();
}
