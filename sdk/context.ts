// Context classes: a plugin overrides the callbacks it cares about. One RootContext per plugin
// configuration (chosen by root id), one HttpContext per HTTP stream, one TcpContext per connection.
import { Buffer, getPluginConfiguration, getVmConfiguration, requestBody, responseBody, downstreamData, upstreamData } from "./buffers";
import { HeaderMap, Headers, requestHeaders, requestTrailers, responseHeaders, responseTrailers } from "./headers";
import { closeStream, continueStream, sendLocalResponse } from "./stream";
import { setTickPeriodMilliseconds } from "./time";
import { Action, GrpcStatus, PeerType, StreamType, WasmResult } from "./types";

/** Kinds of context, so the dispatcher can keep them all in one table. */
export enum ContextKind {
  Root = 0,
  Http = 1,
  Tcp = 2,
}

/** What every context has: the id the host knows it by. */
export class BaseContext {
  constructor(public readonly contextId: u32, public readonly kind: ContextKind) {}
}

/**
 * A plugin instance: receives VM start, configuration, timer and queue events, owns callouts, and
 * creates the per-stream contexts.
 */
export class RootContext extends BaseContext {
  constructor(contextId: u32) {
    super(contextId, ContextKind.Root);
  }

  /** The root id this context was created for (the host's `plugin_root_id`). */
  rootId: string = "";

  /** The VM started (proxy_on_vm_start). Return false to fail the start. */
  onVmStart(vmConfigurationSize: usize): bool { return true; }

  /** A (new) plugin configuration arrived (proxy_on_configure). Return false to reject it. */
  onConfigure(pluginConfigurationSize: usize): bool { return true; }

  /** The timer set with {@link setTickPeriod} fired (proxy_on_tick). */
  onTick(): void {}

  /** An item was enqueued on a queue this root registered (proxy_on_queue_ready). */
  onQueueReady(queueId: u32): void {}

  /**
   * The host is shutting this plugin down (proxy_on_done). Return false to finish asynchronously,
   * then call `done()` when finished.
   */
  onDone(): bool { return true; }

  /** The host forgets this context (proxy_on_delete). */
  onDelete(): void {}

  /** Creates the context for a new HTTP stream; null leaves the stream untouched. */
  createHttpContext(contextId: u32): HttpContext | null { return null; }

  /** Creates the context for a new TCP connection; null leaves the connection untouched. */
  createTcpContext(contextId: u32): TcpContext | null { return null; }

  /** The plugin configuration bytes (readable inside onConfigure). */
  getPluginConfiguration(): ArrayBuffer { return getPluginConfiguration(); }

  /** The plugin configuration as UTF-8 text (readable inside onConfigure). */
  getPluginConfigurationString(): string { return String.UTF8.decode(getPluginConfiguration()); }

  /** The VM configuration bytes (readable inside onVmStart). */
  getVmConfiguration(): ArrayBuffer { return getVmConfiguration(); }

  /** Sets this root's timer period in milliseconds; 0 stops it. */
  setTickPeriod(milliseconds: u32): WasmResult { return setTickPeriodMilliseconds(milliseconds); }
}

/** One HTTP stream (request and response). Override the callbacks you need; all default to Continue. */
export class HttpContext extends BaseContext {
  constructor(contextId: u32, public readonly root: RootContext) {
    super(contextId, ContextKind.Http);
  }

  /** Request headers arrived; `endOfStream` means there is no body. */
  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action { return Action.Continue; }
  /** A request body chunk arrived (or, after a Pause, everything buffered so far). */
  onRequestBody(bodySize: usize, endOfStream: bool): Action { return Action.Continue; }
  /** Request trailers arrived. */
  onRequestTrailers(numTrailers: u32): Action { return Action.Continue; }
  /** Response headers arrived. */
  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action { return Action.Continue; }
  /** A response body chunk arrived (or, after a Pause, everything buffered so far). */
  onResponseBody(bodySize: usize, endOfStream: bool): Action { return Action.Continue; }
  /** Response trailers arrived. */
  onResponseTrailers(numTrailers: u32): Action { return Action.Continue; }
  /** The stream is complete: the access-log point; headers are still readable. */
  onLog(): void {}
  /** The stream is finished (proxy_on_done). */
  onDone(): bool { return true; }
  /** The host forgets this stream (proxy_on_delete). */
  onDelete(): void {}

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
export class TcpContext extends BaseContext {
  constructor(contextId: u32, public readonly root: RootContext) {
    super(contextId, ContextKind.Tcp);
  }

  /** A new connection (proxy_on_new_connection). */
  onNewConnection(): Action { return Action.Continue; }
  /** Bytes from the client (proxy_on_downstream_data). */
  onDownstreamData(dataSize: usize, endOfStream: bool): Action { return Action.Continue; }
  /** Bytes from the server (proxy_on_upstream_data). */
  onUpstreamData(dataSize: usize, endOfStream: bool): Action { return Action.Continue; }
  /** The client side closed (proxy_on_downstream_connection_close). */
  onDownstreamConnectionClose(peerType: PeerType): void {}
  /** The server side closed (proxy_on_upstream_connection_close). */
  onUpstreamConnectionClose(peerType: PeerType): void {}
  /** The connection is complete: the access-log point. */
  onLog(): void {}
  /** The connection is finished (proxy_on_done). */
  onDone(): bool { return true; }
  /** The host forgets this connection (proxy_on_delete). */
  onDelete(): void {}

  /** Client bytes of the current data callback. */
  get downstreamData(): Buffer { return downstreamData; }
  /** Server bytes of the current data callback. */
  get upstreamData(): Buffer { return upstreamData; }

  /** Resumes reading from the client after a Pause. */
  continueDownstream(): WasmResult { return continueStream(StreamType.Downstream); }
  /** Closes the client connection. */
  closeDownstream(): WasmResult { return closeStream(StreamType.Downstream); }
  /** Closes the server connection. */
  closeUpstream(): WasmResult { return closeStream(StreamType.Upstream); }
}
