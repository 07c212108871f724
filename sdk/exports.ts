// The wasm exports of a pwasm plugin: the ABI version marker, the allocator and every callback of
// the Proxy-Wasm ABI 0.2.1. A plugin's entry file re-exports them with
//   export * from "pwasm/sdk/exports";
import "./abort";
import {
  createContext, deleteContext, doneContext, getHttpContext, getRootContext, getTcpContext, logContext, maybeCollect,
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

export function proxy_on_context_create(context_id: u32, parent_context_id: u32): void {
  createContext(context_id, parent_context_id);
}

export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  const root = getRootContext(root_context_id);
  return root !== null && root.onVmStart(vm_configuration_size) ? 1 : 0;
}

export function proxy_on_configure(root_context_id: u32, plugin_configuration_size: u32): u32 {
  const root = getRootContext(root_context_id);
  const ok = root !== null && root.onConfigure(plugin_configuration_size);
  return ok ? 1 : 0;
}

export function proxy_on_tick(root_context_id: u32): void {
  const root = getRootContext(root_context_id);
  if (root !== null) root.onTick();
  maybeCollect();
}

export function proxy_on_queue_ready(root_context_id: u32, queue_id: u32): void {
  const root = getRootContext(root_context_id);
  if (root !== null) root.onQueueReady(queue_id);
}

export function proxy_on_request_headers(context_id: u32, num_headers: u32, end_of_stream: u32): u32 {
  const ctx = getHttpContext(context_id);
  return ctx !== null ? <u32>ctx.onRequestHeaders(num_headers, end_of_stream != 0) : <u32>Action.Continue;
}

export function proxy_on_request_body(context_id: u32, body_size: u32, end_of_stream: u32): u32 {
  const ctx = getHttpContext(context_id);
  return ctx !== null ? <u32>ctx.onRequestBody(body_size, end_of_stream != 0) : <u32>Action.Continue;
}

export function proxy_on_request_trailers(context_id: u32, num_trailers: u32): u32 {
  const ctx = getHttpContext(context_id);
  return ctx !== null ? <u32>ctx.onRequestTrailers(num_trailers) : <u32>Action.Continue;
}

export function proxy_on_response_headers(context_id: u32, num_headers: u32, end_of_stream: u32): u32 {
  const ctx = getHttpContext(context_id);
  return ctx !== null ? <u32>ctx.onResponseHeaders(num_headers, end_of_stream != 0) : <u32>Action.Continue;
}

export function proxy_on_response_body(context_id: u32, body_size: u32, end_of_stream: u32): u32 {
  const ctx = getHttpContext(context_id);
  return ctx !== null ? <u32>ctx.onResponseBody(body_size, end_of_stream != 0) : <u32>Action.Continue;
}

export function proxy_on_response_trailers(context_id: u32, num_trailers: u32): u32 {
  const ctx = getHttpContext(context_id);
  return ctx !== null ? <u32>ctx.onResponseTrailers(num_trailers) : <u32>Action.Continue;
}

export function proxy_on_new_connection(context_id: u32): u32 {
  const ctx = getTcpContext(context_id);
  return ctx !== null ? <u32>ctx.onNewConnection() : <u32>Action.Continue;
}

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  const ctx = getTcpContext(context_id);
  return ctx !== null ? <u32>ctx.onDownstreamData(data_size, end_of_stream != 0) : <u32>Action.Continue;
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  const ctx = getTcpContext(context_id);
  return ctx !== null ? <u32>ctx.onUpstreamData(data_size, end_of_stream != 0) : <u32>Action.Continue;
}

export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {
  const ctx = getTcpContext(context_id);
  if (ctx !== null) ctx.onDownstreamConnectionClose(<PeerType>peer_type);
}

export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {
  const ctx = getTcpContext(context_id);
  if (ctx !== null) ctx.onUpstreamConnectionClose(<PeerType>peer_type);
}

export function proxy_on_log(context_id: u32): void {
  logContext(context_id);
}

export function proxy_on_done(context_id: u32): u32 {
  return doneContext(context_id) ? 1 : 0;
}

export function proxy_on_delete(context_id: u32): void {
  deleteContext(context_id);
  maybeCollect();
}
