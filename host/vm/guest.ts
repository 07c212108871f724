// The one gateway into the guest: a typed function per Proxy-Wasm callback the host calls, and the
// only place that names those exports. Each takes the context it runs for (a root, an HTTP stream,
// a TCP connection) and goes through PluginVm.call, the single path that resets the effective
// context, counts the call for the callback time limit (callback_deadline.ts), turns a trap into
// the VM's failure (VmFailedError, which the caller's failure policy handles) and runs actions
// deferred during the call. A callback the module does not export is not called: it answers what
// Envoy assumes then (the `missing` value of PluginVm.call).
//   onRequestHeaders(stream, headers.count, endOfStream)
import type { HostContext, RootContextState } from "./contexts.js";

const flag = (b: boolean): number => (b ? 1 : 0);

// ---- every context ----------------------------------------------------------------------------

/** proxy_on_context_create(context, parent): a root's parent is 0, a stream's its plugin's root. */
export function onContextCreate(ctx: HostContext, parentId: number): void {
  ctx.vm.call("proxy_on_context_create", ctx, 0, parentId);
}

/** proxy_on_done: false when the plugin will call proxy_done itself later (a module without it is done). */
export function onDone(ctx: HostContext): boolean {
  return ctx.vm.call("proxy_on_done", ctx, 1) !== 0;
}

/** proxy_on_log: the access-log phase of a stream or connection. */
export function onLog(ctx: HostContext): void {
  ctx.vm.call("proxy_on_log", ctx, 0);
}

/** proxy_on_delete: the context is gone. */
export function onDelete(ctx: HostContext): void {
  ctx.vm.call("proxy_on_delete", ctx, 0);
}

// ---- root contexts ----------------------------------------------------------------------------

/** proxy_on_vm_start: false when the plugin refuses to start (a module without it starts). */
export function onVmStart(root: RootContextState, vmConfigurationSize: number): boolean {
  return root.vm.call("proxy_on_vm_start", root, 1, vmConfigurationSize) !== 0;
}

/** proxy_on_configure: false when the plugin rejects its configuration (a module without it accepts). */
export function onConfigure(root: RootContextState, configurationSize: number): boolean {
  return root.vm.call("proxy_on_configure", root, 1, configurationSize) !== 0;
}

/** proxy_on_tick. */
export function onTick(root: RootContextState): void {
  root.vm.call("proxy_on_tick", root, 0);
}

/** proxy_on_queue_ready. */
export function onQueueReady(root: RootContextState, queueId: number): void {
  root.vm.call("proxy_on_queue_ready", root, 0, queueId);
}

/** proxy_on_http_call_response: counts of the response's headers and trailers, its body size. */
export function onHttpCallResponse(root: RootContextState, token: number, headers: number, bodySize: number, trailers: number): void {
  root.vm.call("proxy_on_http_call_response", root, 0, token, headers, bodySize, trailers);
}

/** proxy_on_grpc_receive_initial_metadata. */
export function onGrpcReceiveInitialMetadata(root: RootContextState, token: number, headers: number): void {
  root.vm.call("proxy_on_grpc_receive_initial_metadata", root, 0, token, headers);
}

/** proxy_on_grpc_receive: a unary call's response or one message of a stream. */
export function onGrpcReceive(root: RootContextState, token: number, messageSize: number): void {
  root.vm.call("proxy_on_grpc_receive", root, 0, token, messageSize);
}

/** proxy_on_grpc_receive_trailing_metadata. */
export function onGrpcReceiveTrailingMetadata(root: RootContextState, token: number, trailers: number): void {
  root.vm.call("proxy_on_grpc_receive_trailing_metadata", root, 0, token, trailers);
}

/** proxy_on_grpc_close: the gRPC status code (the message is read with proxy_get_status). */
export function onGrpcClose(root: RootContextState, token: number, status: number): void {
  root.vm.call("proxy_on_grpc_close", root, 0, token, status >>> 0);
}

/** proxy_on_foreign_function: the arguments are buffer FOREIGN_FUNCTION_ARGUMENTS while it runs. */
export function onForeignFunction(root: RootContextState, functionId: number, argumentsSize: number): void {
  root.vm.call("proxy_on_foreign_function", root, 0, functionId >>> 0, argumentsSize);
}

/** envoy_on_resolve_dns (Envoy's DNS extension): the answers are buffer FOREIGN_FUNCTION_ARGUMENTS. */
export function onResolveDns(root: RootContextState, token: number, answersSize: number): void {
  root.vm.call("envoy_on_resolve_dns", root, 0, token, answersSize);
}

// ---- HTTP streams -----------------------------------------------------------------------------

/** proxy_on_request_headers: the raw FilterHeadersStatus. */
export function onRequestHeaders(ctx: HostContext, headers: number, endOfStream: boolean): number {
  return ctx.vm.call("proxy_on_request_headers", ctx, 0, headers, flag(endOfStream));
}

/** proxy_on_request_body: the raw FilterDataStatus. */
export function onRequestBody(ctx: HostContext, bodySize: number, endOfStream: boolean): number {
  return ctx.vm.call("proxy_on_request_body", ctx, 0, bodySize, flag(endOfStream));
}

/** proxy_on_request_trailers: the raw FilterTrailersStatus. */
export function onRequestTrailers(ctx: HostContext, trailers: number): number {
  return ctx.vm.call("proxy_on_request_trailers", ctx, 0, trailers);
}

/** proxy_on_response_headers: the raw FilterHeadersStatus. */
export function onResponseHeaders(ctx: HostContext, headers: number, endOfStream: boolean): number {
  return ctx.vm.call("proxy_on_response_headers", ctx, 0, headers, flag(endOfStream));
}

/** proxy_on_response_body: the raw FilterDataStatus. */
export function onResponseBody(ctx: HostContext, bodySize: number, endOfStream: boolean): number {
  return ctx.vm.call("proxy_on_response_body", ctx, 0, bodySize, flag(endOfStream));
}

/** proxy_on_response_trailers: the raw FilterTrailersStatus. */
export function onResponseTrailers(ctx: HostContext, trailers: number): number {
  return ctx.vm.call("proxy_on_response_trailers", ctx, 0, trailers);
}

// ---- TCP connections --------------------------------------------------------------------------

/** proxy_on_new_connection: the raw FilterStatus. */
export function onNewConnection(ctx: HostContext): number {
  return ctx.vm.call("proxy_on_new_connection", ctx, 0);
}

/** proxy_on_downstream_data: the raw FilterStatus. */
export function onDownstreamData(ctx: HostContext, dataSize: number, endOfStream: boolean): number {
  return ctx.vm.call("proxy_on_downstream_data", ctx, 0, dataSize, flag(endOfStream));
}

/** proxy_on_upstream_data: the raw FilterStatus. */
export function onUpstreamData(ctx: HostContext, dataSize: number, endOfStream: boolean): number {
  return ctx.vm.call("proxy_on_upstream_data", ctx, 0, dataSize, flag(endOfStream));
}

/** proxy_on_downstream_connection_close: who closed it (proxy_peer_type_t). */
export function onDownstreamConnectionClose(ctx: HostContext, peer: number): void {
  ctx.vm.call("proxy_on_downstream_connection_close", ctx, 0, peer);
}

/** proxy_on_upstream_connection_close: who closed it (proxy_peer_type_t). */
export function onUpstreamConnectionClose(ctx: HostContext, peer: number): void {
  ctx.vm.call("proxy_on_upstream_connection_close", ctx, 0, peer);
}
