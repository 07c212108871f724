// Context classes: a plugin overrides the callbacks it cares about. One RootContext per plugin
// configuration (chosen by root id); one StreamContext per HTTP stream (HttpContext) or TCP
// connection (TcpContext). The host does not say which kind a new stream is, so StreamContext
// declares both sets of callbacks (as the C++ SDK's Context does); the subclasses add accessors.
// Callback parameter types follow proxy-runtime's, so its API (sdk/compat) is these same classes.
import { Buffer, getPluginConfiguration, getVmConfiguration, requestBody, responseBody, downstreamData, upstreamData } from "./buffers";
import { grpcCallFor, grpcStreamFor, httpCallFor } from "./callouts";
import { HeaderMap, Headers, requestHeaders, requestTrailers, responseHeaders, responseTrailers } from "./headers";
import { proxy_done, proxy_set_effective_context } from "./imports";
import { closeStream, continueStream, sendLocalResponse } from "./stream";
import { setTickPeriodMilliseconds } from "./time";
import { Action, GrpcStatus, PeerType, StreamType, WasmResult } from "./types";
import { decodeBuffer } from "./utf8";

/** Kinds of context, so the dispatcher can keep them all in one table. */
export enum ContextKind {
  Root = 0,
  Stream = 1,
}

/**
 * What every context has: the id the host knows it by, and the callout API. Callouts belong to the
 * root context in the host; the SDK routes each answer to the context that made the call, after
 * making it the effective context (so header and stream calls act on that stream).
 */
export class BaseContext {
  /** Internal: the next context in the same bucket of the context table. */
  _tableNext: BaseContext | null = null;

  constructor(public readonly contextId: u32, public readonly contextKind: ContextKind) {}

  /**
   * Sends an HTTP request to `cluster` (proxy_http_call); the answer arrives in
   * {@link onHttpCallResponse} of this context. `headers` must include `:method`, `:path` and
   * `:authority`. Returns the call's token, or 0 when the host refused it (see `lastResult()`).
   */
  dispatchHttpCall(cluster: string, headers: Headers, body: ArrayBuffer | null, trailers: Headers | null, timeoutMilliseconds: u32): u32 {
    return httpCallFor(this.contextId, cluster, headers, body, trailers, timeoutMilliseconds);
  }

  /**
   * The response to a {@link dispatchHttpCall} (proxy_on_http_call_response). `numHeaders` 0 means the
   * call failed (reset); `getStatus()` says why. Read the response with `httpCallResponseHeaders`,
   * `httpCallResponseBody` and `httpCallResponseTrailers` here; they are gone afterwards.
   */
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {}

  /**
   * Starts a unary gRPC call (proxy_grpc_call) to the cluster `service`. The response arrives in
   * {@link onGrpcReceive}; a failure in {@link onGrpcClose}. Returns the token, or 0 when refused.
   */
  dispatchGrpcCall(service: string, serviceName: string, method: string, initialMetadata: Headers | null, message: ArrayBuffer, timeoutMilliseconds: u32): u32 {
    return grpcCallFor(this.contextId, service, serviceName, method, initialMetadata, message, timeoutMilliseconds);
  }

  /**
   * Opens a gRPC stream (proxy_grpc_stream) to the cluster `service`; send on it with `grpcSend`.
   * Events arrive in the onGrpc* callbacks of this context. Returns the token, or 0 when refused.
   */
  openGrpcStream(service: string, serviceName: string, method: string, initialMetadata: Headers | null): u32 {
    return grpcStreamFor(this.contextId, service, serviceName, method, initialMetadata);
  }

  /** A gRPC stream's initial metadata arrived (read it with `grpcReceiveInitialMetadata`). */
  onGrpcReceiveInitialMetadata(token: u32, numElements: u32): void {}

  /** A gRPC message arrived: the response of a call, or a message of a stream (read `grpcReceiveBuffer`). */
  onGrpcReceive(token: u32, messageSize: u32): void {}

  /** A gRPC stream's trailing metadata arrived (read it with `grpcReceiveTrailingMetadata`). */
  onGrpcReceiveTrailingMetadata(token: u32, numElements: u32): void {}

  /** A gRPC call failed or a stream closed with `statusCode`; `getStatus()` has the message. */
  onGrpcClose(token: u32, statusCode: u32): void {}

  /** Makes this context the target of later host calls in the current callback (proxy_set_effective_context). */
  setEffectiveContext(): WasmResult {
    return setEffectiveContext(this.contextId);
  }
}

/**
 * A plugin instance: receives VM start, configuration, timer, queue and foreign-function events,
 * and creates the per-stream contexts.
 */
export class RootContext extends BaseContext {
  constructor(contextId: u32) {
    super(contextId, ContextKind.Root);
  }

  /** The root id this context was created for (the host's `plugin_root_id`). */
  rootId: string = "";

  /** The VM started (proxy_on_vm_start). Return false to fail the start. */
  onVmStart(vmConfigurationSize: u32): bool { return true; }

  /** A (new) plugin configuration arrived (proxy_on_configure). Return false to reject it. */
  onConfigure(pluginConfigurationSize: u32): bool { return true; }

  /** The timer set with {@link setTickPeriod} fired (proxy_on_tick). */
  onTick(): void {}

  /** An item was enqueued on a queue this root registered (proxy_on_queue_ready). */
  onQueueReady(queueId: u32): void {}

  /**
   * The host called a function of this plugin (proxy_on_foreign_function); the arguments are in
   * `getForeignFunctionArguments()`. Envoy itself never calls it; other host extensions may.
   */
  onForeignFunction(functionId: u32, argumentsSize: u32): void {}

  /**
   * The host is shutting this plugin down (proxy_on_done). Return false to finish asynchronously,
   * then call `done()` when finished.
   */
  onDone(): bool { return true; }

  /** The host forgets this context (proxy_on_delete). */
  onDelete(): void {}

  /** Creates the context for a new HTTP stream; null leaves the stream untouched. */
  createHttpContext(contextId: u32): StreamContext | null { return null; }

  /** Creates the context for a new TCP connection (asked when createHttpContext gave null). */
  createTcpContext(contextId: u32): StreamContext | null { return null; }

  /** The plugin configuration bytes (readable inside onConfigure). */
  getPluginConfiguration(): ArrayBuffer { return getPluginConfiguration(); }

  /** The plugin configuration as UTF-8 text (readable inside onConfigure). */
  getPluginConfigurationString(): string { return decodeBuffer(getPluginConfiguration()); }

  /** The VM configuration bytes (readable inside onVmStart). */
  getVmConfiguration(): ArrayBuffer { return getVmConfiguration(); }

  /** Sets this root's timer period in milliseconds; 0 stops it. */
  setTickPeriod(milliseconds: u32): WasmResult { return setTickPeriodMilliseconds(milliseconds); }
}

/**
 * One HTTP stream or TCP connection. Every callback defaults to Continue; HttpContext and
 * TcpContext add the accessors for their kind.
 */
export class StreamContext extends BaseContext {
  constructor(contextId: u32, public readonly root: RootContext) {
    super(contextId, ContextKind.Stream);
  }

  /** HTTP: request headers arrived (proxy_on_request_headers); `endOfStream` means no body. */
  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action { return Action.Continue; }
  /** HTTP: a request body chunk arrived (or, after a Pause, everything buffered so far). */
  onRequestBody(bodySize: usize, endOfStream: bool): Action { return Action.Continue; }
  /** HTTP: request trailers arrived. */
  onRequestTrailers(numTrailers: u32): Action { return Action.Continue; }
  /** HTTP: response headers arrived. */
  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action { return Action.Continue; }
  /** HTTP: a response body chunk arrived (or, after a Pause, everything buffered so far). */
  onResponseBody(bodySize: usize, endOfStream: bool): Action { return Action.Continue; }
  /** HTTP: response trailers arrived. */
  onResponseTrailers(numTrailers: u32): Action { return Action.Continue; }

  /** TCP: a new connection (proxy_on_new_connection). */
  onNewConnection(): Action { return Action.Continue; }
  /** TCP: bytes from the client (proxy_on_downstream_data); after a Pause, everything held so far. */
  onDownstreamData(dataSize: usize, endOfStream: bool): Action { return Action.Continue; }
  /** TCP: bytes from the server (proxy_on_upstream_data). */
  onUpstreamData(dataSize: usize, endOfStream: bool): Action { return Action.Continue; }
  /** TCP: the client connection closed (proxy_on_downstream_connection_close): Local or Remote. */
  onDownstreamConnectionClose(peerType: PeerType): void {}
  /** TCP: the server side closed (proxy_on_upstream_connection_close); Envoy reports Unknown. */
  onUpstreamConnectionClose(peerType: PeerType): void {}

  /** The stream or connection is complete: the access-log point; HTTP headers are still readable. */
  onLog(): void {}
  /** The stream or connection is finished (proxy_on_done). */
  onDone(): bool { return true; }
  /** The host forgets this context (proxy_on_delete). */
  onDelete(): void {}
}

/** One HTTP stream (request and response). Override the callbacks you need; all default to Continue. */
export class HttpContext extends StreamContext {
  /** Request headers (readable in request callbacks and onLog). */
  get requestHeaders(): HeaderMap { return requestHeaders; }
  /** Request trailers. */
  get requestTrailers(): HeaderMap { return requestTrailers; }
  /** Response headers (readable in response callbacks and onLog). */
  get responseHeaders(): HeaderMap { return responseHeaders; }
  /** Response trailers. */
  get responseTrailers(): HeaderMap { return responseTrailers; }
  /** The request body of the current body callback. */
  get requestBody(): Buffer { return requestBody; }
  /** The response body of the current body callback. */
  get responseBody(): Buffer { return responseBody; }

  /** Resumes a request paused by returning Pause. */
  continueRequest(): WasmResult { return continueStream(StreamType.HttpRequest); }
  /** Resumes a response paused by returning Pause. */
  continueResponse(): WasmResult { return continueStream(StreamType.HttpResponse); }
  /** Resets the stream. */
  closeRequest(): WasmResult { return closeStream(StreamType.HttpRequest); }
  /** Resets the stream from the response side. */
  closeResponse(): WasmResult { return closeStream(StreamType.HttpResponse); }

  /** Answers locally instead of forwarding; see {@link sendLocalResponse}. */
  sendLocalResponse(
    statusCode: u32, details: string = "", body: string = "",
    headers: Headers | null = null, grpcStatus: GrpcStatus = GrpcStatus.None,
  ): WasmResult {
    return sendLocalResponse(statusCode, details, body, headers, grpcStatus);
  }
}

/** One TCP connection. Override the callbacks you need; all default to Continue. */
export class TcpContext extends StreamContext {
  /** Client bytes of the current data callback. */
  get downstreamData(): Buffer { return downstreamData; }
  /** Server bytes of the current data callback. */
  get upstreamData(): Buffer { return upstreamData; }

  /** Resumes reading from the client after a Pause: the held bytes go on upstream. */
  continueDownstream(): WasmResult { return continueStream(StreamType.Downstream); }
  /** Closes the client connection (Envoy flushes what was written first). */
  closeDownstream(): WasmResult { return closeStream(StreamType.Downstream); }
  /** Closes the connection from the upstream side (in Envoy, the same client connection). */
  closeUpstream(): WasmResult { return closeStream(StreamType.Upstream); }
}

/** Makes context `contextId` the target of later host calls in this callback (proxy_set_effective_context). */
export function setEffectiveContext(contextId: u32): WasmResult {
  return <WasmResult>proxy_set_effective_context(contextId);
}

/**
 * Tells the host that a root context which returned false from onDone has finished (proxy_done);
 * the host deletes it after the current callback. NotFound when nothing was pending.
 */
export function done(): WasmResult {
  return <WasmResult>proxy_done();
}
