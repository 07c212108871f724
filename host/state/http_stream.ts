// One HTTP stream through one plugin, driven as Envoy's filter manager drives a Wasm HTTP filter:
// request events go in through decodeX, response events through encodeX; what the plugin lets
// through comes out of the sink. Pauses, buffering, continue, local replies and VM failures follow
// Envoy's rules (abi-and-host.md §7, §8.2, §8.3). Everything is synchronous: a paused stream just
// waits for continueStream(), which the plugin calls from a later callback.
import {
  BufferType, FilterDataStatus, FilterHeadersStatus, GrpcStatus, MapType, StreamType, WasmResult,
} from "../abi/constants.js";
import { HostContext, type LocalReply, type RootContextState } from "../vm/contexts.js";
import { VmFailedError } from "../vm/errors.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import type { FailurePolicy } from "../vm/runtime.js";
import { HeaderMap } from "./header_map.js";
import type { PropertyScope } from "./properties.js";
import type { StreamInfo } from "./stream_info.js";

/** Where the data a plugin lets through goes (upstream for requests, downstream for responses). */
export interface HttpStreamSink {
  requestHeaders?(headers: HeaderMap, endOfStream: boolean): void;
  requestData?(data: Buffer, endOfStream: boolean): void;
  requestTrailers?(trailers: HeaderMap): void;
  responseHeaders?(headers: HeaderMap, endOfStream: boolean): void;
  responseData?(data: Buffer, endOfStream: boolean): void;
  responseTrailers?(trailers: HeaderMap): void;
  /** The stream was reset (close_stream, or a failure after response headers went out). */
  reset?(details: string): void;
}

/** Options of a stream. */
export interface HttpStreamOptions {
  /** Envoy's per-stream buffer limit for StopIterationAndBuffer (default 1 MiB, as Envoy's listener default). */
  bufferLimitBytes?: number;
  /** Order of the end-of-stream callbacks; Envoy today: log, done, delete. */
  completionOrder?: "log-done-delete" | "done-log-delete";
}

const EMPTY = Buffer.alloc(0);
const DEFAULT_BUFFER_LIMIT = 1024 * 1024;

// Where iteration stopped in one direction.
const enum Stop {
  None = 0,
  /** Stopped at headers; later body is buffered without body callbacks (StopAllIteration). */
  HeadersAll = 1,
  /** Stopped at headers, but body callbacks still run (allow_on_headers_stop_iteration). */
  Headers = 2,
  /** A body callback returned StopIterationAndBuffer: body accumulates. */
  Data = 3,
  /** Trailers callback returned StopIteration. */
  Trailers = 4,
}

// One direction (request or response) of the stream.
class Direction {
  headers: HeaderMap | undefined;
  trailers: HeaderMap | undefined;
  /** Body the filter holds: buffered while stopped. */
  body: Buffer = EMPTY;
  /** The body the current body callback sees (undefined outside body callbacks). */
  visibleBody: Buffer | undefined;
  stop: Stop = Stop.None;
  /** The input ended (end_of_stream seen, or trailers arrived). */
  inputEnded = false;
  /** Headers were handed to the sink. */
  headersSent = false;
  /** Everything was handed to the sink. */
  done = false;
  /** Trailers arrived while iteration was stopped; delivered on continue. */
  pendingTrailers: HeaderMap | undefined;
}

/** Raw return values of callbacks, kept for inspection by tests. */
export interface LastActions {
  requestHeaders?: number;
  requestBody?: number;
  requestTrailers?: number;
  responseHeaders?: number;
  responseBody?: number;
  responseTrailers?: number;
}

export class HttpStream extends HostContext {
  readonly kind = "http" as const;
  readonly request = new Direction();
  readonly response = new Direction();
  /** The local reply the plugin sent (or the host sent for it on failure). */
  localReply: LocalReply | undefined;
  /** Details of a reset, if the stream was reset. */
  resetDetails: string | undefined;
  /** Filter state written with proxy_set_property. */
  readonly filterStates = new Map<string, Buffer>();
  /** Raw values the plugin's callbacks returned. */
  readonly lastActions: LastActions = {};
  /** True once on_done/on_delete ran. */
  completed = false;
  /** Set when this stream runs without the plugin (failure policy FAIL_OPEN after a trap). */
  bypass = false;

  private created = false;
  private phase: "request" | "response" | "log" = "request";
  private pendingLocalReply: LocalReply | undefined;
  private inCallback = false;
  private readonly bufferLimit: number;

  constructor(
    vm: PluginVm | undefined,
    id: number,
    readonly info: StreamInfo,
    readonly sink: HttpStreamSink,
    readonly failurePolicy: FailurePolicy,
    private readonly options: HttpStreamOptions = {},
  ) {
    // A stream without a VM runs untouched (fail open) or fails closed on its first event.
    super(vm as PluginVm, id);
    this.bufferLimit = options.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT;
    if (!vm) this.bypass = failurePolicy === "FAIL_OPEN";
  }

  get root(): RootContextState {
    return this.vm.root;
  }

  // ---- inputs: request (decode) ----------------------------------------------------------------

  /** Request headers arrive from downstream. */
  decodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    this.enter();
    try {
      this.onRequestHeaders(headers, endOfStream);
    } finally {
      this.leave();
    }
  }

  /** A request body chunk arrives. */
  decodeData(chunk: Buffer, endOfStream: boolean): void {
    this.info.requestBodyBytes += chunk.length;
    this.enter();
    try {
      this.onData(this.request, chunk, endOfStream, true);
    } finally {
      this.leave();
    }
  }

  /** Request trailers arrive. */
  decodeTrailers(trailers: HeaderMap): void {
    this.enter();
    try {
      this.onTrailers(this.request, trailers, true);
    } finally {
      this.leave();
    }
  }

  /** Response headers arrive from upstream. */
  encodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    this.enter();
    try {
      this.onResponseHeaders(headers, endOfStream);
    } finally {
      this.leave();
    }
  }

  /** A response body chunk arrives. */
  encodeData(chunk: Buffer, endOfStream: boolean): void {
    if (this.localReply && this.response.headersSent && !this.replying) return;
    this.info.responseBodyBytes += chunk.length;
    this.enter();
    try {
      this.onData(this.response, chunk, endOfStream, false);
    } finally {
      this.leave();
    }
  }

  /** Response trailers arrive. */
  encodeTrailers(trailers: HeaderMap): void {
    if (this.localReply && this.response.headersSent && !this.replying) return;
    this.enter();
    try {
      this.onTrailers(this.response, trailers, false);
    } finally {
      this.leave();
    }
  }

  private enter(): void {
    this.vm?.beginDispatch();
  }

  private leave(): void {
    this.vm?.endDispatch();
  }

  private onRequestHeaders(headers: HeaderMap, endOfStream: boolean): void {
    const d = this.request;
    d.headers = headers;
    d.inputEnded = endOfStream;
    if (this.passThrough(d)) return this.forwardRequest(endOfStream);
    const raw = this.invoke("proxy_on_request_headers", headers.count, endOfStream ? 1 : 0);
    if (raw === undefined) return;
    this.lastActions.requestHeaders = raw;
    this.afterHeaders(d, raw, endOfStream, true);
  }

  private onResponseHeaders(headers: HeaderMap, endOfStream: boolean): void {
    const d = this.response;
    if (this.localReply && this.response.headersSent) return; // a local reply already answered
    this.phase = "response";
    d.headers = headers;
    d.inputEnded = endOfStream;
    const status = Number(headers.get(":status") ?? 0);
    if (status) this.info.responseCode = status;
    if (!this.info.responseCodeDetails) this.info.responseCodeDetails = "via_upstream";
    if (this.passThrough(d)) return this.forwardResponse(endOfStream);
    const raw = this.invoke("proxy_on_response_headers", headers.count, endOfStream ? 1 : 0);
    if (raw === undefined) return;
    this.lastActions.responseHeaders = raw;
    this.afterHeaders(d, raw, endOfStream, false);
  }

  /**
   * Ends the stream: proxy_on_log, proxy_on_done, proxy_on_delete (Envoy's current order). A plugin
   * that never saw the stream still gets on_log, with its context created first (Envoy).
   */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    this.info.endTime ??= Date.now();
    if (!this.vm || this.vm.failure || this.bypass) return this.release();
    this.phase = "log";
    try {
      this.ensureCreated();
      const id = this.id;
      if (this.options.completionOrder === "done-log-delete") {
        this.vm.call("proxy_on_done", this, id, 0, 0, 0, 0, 1);
        this.vm.call("proxy_on_log", this, id);
      } else {
        this.vm.call("proxy_on_log", this, id);
        this.vm.call("proxy_on_done", this, id, 0, 0, 0, 0, 1);
      }
      this.vm.call("proxy_on_delete", this, id);
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
    }
    this.release();
  }

  // ---- driving ---------------------------------------------------------------------------------

  private replying = false;

  private passThrough(d: Direction): boolean {
    if (this.bypass) return true;
    if (!this.vm || this.vm.failure) {
      this.onVmFailure(d === this.request);
      return this.bypass;
    }
    return false;
  }

  // Calls a stream callback; undefined when the VM failed (the failure policy has been applied).
  private invoke(name: string, a: number, b?: number): number | undefined {
    try {
      this.ensureCreated();
      this.inCallback = true;
      const raw = this.vm.call(name, this, this.id, a, b);
      return raw;
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
      this.onVmFailure(this.phase === "request");
      return undefined;
    } finally {
      this.inCallback = false;
    }
  }

  private ensureCreated(): void {
    if (this.created) return;
    this.created = true;
    this.vm.contexts.set(this.id, this);
    this.vm.call("proxy_on_context_create", this, this.id, this.vm.root.id);
  }

  private release(): void {
    if (this.created && this.vm) this.vm.contexts.delete(this.id);
  }

  private afterHeaders(d: Direction, raw: number, endOfStream: boolean, isRequest: boolean): void {
    if (this.takeLocalReply()) return;
    let status = raw as FilterHeadersStatus;
    // Envoy (cpp-host): StopIteration becomes StopAllIterationAndWatermark unless allowed; > 4 too; 2 is Continue.
    if (raw === FilterHeadersStatus.StopIteration && !this.vm.runtime.config.allowOnHeadersStopIteration) status = FilterHeadersStatus.StopAllIterationAndWatermark;
    else if (raw > 4) status = FilterHeadersStatus.StopAllIterationAndWatermark;
    else if (raw === FilterHeadersStatus.ContinueAndEndStream) status = FilterHeadersStatus.Continue;
    if (status === FilterHeadersStatus.Continue) {
      this.sendHeaders(d, isRequest, endOfStream);
    } else {
      d.stop = status === FilterHeadersStatus.StopIteration ? Stop.Headers : Stop.HeadersAll;
    }
  }

  private onData(d: Direction, chunk: Buffer, endOfStream: boolean, isRequest: boolean): void {
    if (d.done) return;
    if (endOfStream) d.inputEnded = true;
    if (this.passThrough(d)) {
      d.body = d.body.length ? Buffer.concat([d.body, chunk]) : chunk;
      return this.flush(d, isRequest);
    }
    if (d.stop === Stop.HeadersAll || d.stop === Stop.Trailers) {
      // Envoy buffers without calling the filter; delivered on continue.
      d.body = d.body.length ? Buffer.concat([d.body, chunk]) : chunk;
      if (d.stop === Stop.HeadersAll) this.checkBufferLimit(d, isRequest);
      return;
    }
    d.body = d.body.length ? Buffer.concat([d.body, chunk]) : chunk;
    if (this.checkBufferLimit(d, isRequest)) return;
    this.runBodyCallback(d, isRequest, endOfStream && !d.pendingTrailers);
  }

  private runBodyCallback(d: Direction, isRequest: boolean, endOfStream: boolean): void {
    d.visibleBody = d.body;
    const raw = this.invoke(isRequest ? "proxy_on_request_body" : "proxy_on_response_body", d.body.length, endOfStream ? 1 : 0);
    // The plugin may have replaced the body through proxy_set_buffer_bytes.
    if (d.visibleBody !== undefined) d.body = d.visibleBody;
    d.visibleBody = undefined;
    if (raw === undefined) return;
    if (isRequest) this.lastActions.requestBody = raw;
    else this.lastActions.responseBody = raw;
    if (this.takeLocalReply()) return;
    if (raw === FilterDataStatus.Continue) {
      if (d.stop === Stop.Data) d.stop = Stop.None;
      if (d.stop === Stop.Headers) {
        // Body inspected while headers were held: both go on now.
        d.stop = Stop.None;
      }
      this.flush(d, isRequest);
    } else if (raw === FilterDataStatus.StopIterationAndBuffer || raw === FilterDataStatus.StopIterationAndWatermark) {
      if (d.stop !== Stop.Headers) d.stop = Stop.Data;
    } else {
      // StopIterationNoBuffer: the chunk is the filter's; nothing goes on and nothing is kept.
      d.body = EMPTY;
      if (d.stop !== Stop.Headers) d.stop = Stop.Data;
    }
  }

  private onTrailers(d: Direction, trailers: HeaderMap, isRequest: boolean): void {
    if (d.done) return;
    d.inputEnded = true;
    if (this.passThrough(d)) {
      d.trailers = trailers;
      return this.flush(d, isRequest);
    }
    if (d.stop === Stop.HeadersAll) {
      d.pendingTrailers = trailers;
      return;
    }
    d.trailers = trailers;
    const raw = this.invoke(isRequest ? "proxy_on_request_trailers" : "proxy_on_response_trailers", trailers.count);
    if (raw === undefined) return;
    if (isRequest) this.lastActions.requestTrailers = raw;
    else this.lastActions.responseTrailers = raw;
    if (this.takeLocalReply()) return;
    if (raw === 0) {
      d.stop = Stop.None;
      this.flush(d, isRequest);
    } else {
      d.stop = Stop.Trailers;
    }
  }

  // Resumes a stopped direction (continue_stream, after the VM call returned).
  private resume(isRequest: boolean): void {
    const d = isRequest ? this.request : this.response;
    if (d.done || !d.headers) return;
    const wasAll = d.stop === Stop.HeadersAll;
    d.stop = Stop.None;
    if (!d.headersSent) this.sendHeaders(d, isRequest, d.inputEnded && d.body.length === 0 && !d.pendingTrailers && !d.trailers);
    if (wasAll && (d.body.length > 0 || (d.inputEnded && !d.pendingTrailers && !d.trailers))) {
      // Deliver what was buffered while stopped to the body callback first.
      if (d.body.length > 0) {
        this.runBodyCallback(d, isRequest, d.inputEnded && !d.pendingTrailers);
        if (d.stop !== Stop.None) return;
      }
    }
    if (d.pendingTrailers) {
      const t = d.pendingTrailers;
      d.pendingTrailers = undefined;
      this.onTrailers(d, t, isRequest);
      return;
    }
    this.flush(d, isRequest);
  }

  private sendHeaders(d: Direction, isRequest: boolean, endOfStream: boolean): void {
    if (d.headersSent) return;
    d.headersSent = true;
    if (endOfStream) d.done = true;
    if (isRequest) this.sink.requestHeaders?.(d.headers!, endOfStream);
    else this.sink.responseHeaders?.(d.headers!, endOfStream);
  }

  // Hands held body (and trailers, once the input ended) to the sink.
  private flush(d: Direction, isRequest: boolean): void {
    if (d.done) return;
    const end = d.inputEnded && !d.trailers;
    if (!d.headersSent) this.sendHeaders(d, isRequest, end && d.body.length === 0);
    if (d.done) return;
    if (d.body.length > 0 || (end && !d.trailers)) {
      const body = d.body;
      d.body = EMPTY;
      if (end) d.done = true;
      if (isRequest) this.sink.requestData?.(body, end);
      else this.sink.responseData?.(body, end);
    }
    if (d.inputEnded && d.trailers && !d.done) {
      d.done = true;
      if (isRequest) this.sink.requestTrailers?.(d.trailers);
      else this.sink.responseTrailers?.(d.trailers);
    }
  }

  private forwardRequest(endOfStream: boolean): void {
    this.sendHeaders(this.request, true, endOfStream);
  }

  private forwardResponse(endOfStream: boolean): void {
    this.sendHeaders(this.response, false, endOfStream);
  }

  // Envoy's per-stream buffer limit: 413 while decoding, 500 while encoding (reset once headers went out).
  private checkBufferLimit(d: Direction, isRequest: boolean): boolean {
    if (d.body.length <= this.bufferLimit) return false;
    d.body = EMPTY;
    if (isRequest) this.hostLocalReply(413, "request_payload_too_large", "Payload Too Large", undefined);
    else if (!this.response.headersSent) this.hostLocalReply(500, "response_payload_too_large", "Internal Server Error", undefined);
    else this.reset("response_payload_too_large");
    return true;
  }

  // ---- local replies, failures, resets ---------------------------------------------------------

  private takeLocalReply(): boolean {
    const reply = this.pendingLocalReply;
    if (!reply) return false;
    this.pendingLocalReply = undefined;
    this.deliverLocalReply(reply, true);
    return true;
  }

  // Sends a reply: while decoding it passes through this plugin's response callbacks (Envoy's
  // sendLocalReplyViaFilterChain); while encoding, before response headers went out, it replaces
  // the response directly; later, the stream is reset.
  private deliverLocalReply(reply: LocalReply, viaPlugin: boolean): void {
    if (this.localReply && this.response.headersSent) return;
    this.localReply = reply;
    this.request.done = true;
    this.request.stop = Stop.None;
    this.info.responseCodeDetails = reply.details || "via_local_reply";
    if (this.response.headersSent) return this.reset(reply.details || "local_reply_after_headers");
    const headers = new HeaderMap();
    const isGrpc = (this.request.headers?.get("content-type") ?? "").startsWith("application/grpc");
    if (isGrpc && reply.grpcStatus !== undefined) {
      // Envoy answers gRPC requests with a trailers-only response.
      headers.add(":status", "200");
      headers.add("content-type", "application/grpc");
      headers.add("grpc-status", String(reply.grpcStatus));
      if (reply.body.length) headers.add("grpc-message", encodeURIComponent(reply.body.toString("utf8")));
    } else {
      headers.add(":status", String(reply.statusCode));
      if (reply.body.length) {
        headers.add("content-length", String(reply.body.length));
        headers.add("content-type", "text/plain");
      }
    }
    for (const [k, v] of reply.headers) headers.add(k, v);
    const body = isGrpc && reply.grpcStatus !== undefined ? EMPTY : reply.body;
    this.info.responseCode = Number(headers.get(":status"));
    const encodingStarted = this.phase === "response";
    if (viaPlugin && !encodingStarted && this.vm && !this.vm.failure && !this.bypass) {
      this.replying = true;
      try {
        this.response.headers = undefined;
        this.response.stop = Stop.None;
        this.encodeHeaders(headers, body.length === 0);
        if (body.length > 0) this.encodeData(body, true);
      } finally {
        this.replying = false;
      }
    } else {
      const d = this.response;
      d.headers = headers;
      d.body = EMPTY;
      d.stop = Stop.None;
      this.sendHeaders(d, false, body.length === 0);
      if (body.length > 0) {
        d.done = true;
        this.sink.responseData?.(body, true);
      }
    }
  }

  // A reply the host sends on the plugin's behalf (buffer limits); it skips the plugin.
  private hostLocalReply(statusCode: number, details: string, body: string, grpcStatus: number | undefined): void {
    this.deliverLocalReply({ statusCode, details, body: Buffer.from(body), headers: [], grpcStatus }, false);
  }

  private failedOnce = false;

  // Applies the failure policy to this stream: fail open passes it untouched, otherwise one 503.
  private onVmFailure(inRequest: boolean): void {
    if (this.failurePolicy === "FAIL_OPEN") {
      if (this.bypass) return;
      this.bypass = true;
      // Let through whatever the plugin was holding.
      for (const [d, isReq] of [[this.request, true], [this.response, false]] as const) {
        d.stop = Stop.None;
        if (d.headers && (isReq || this.phase !== "request")) this.flush(d, isReq);
      }
      return;
    }
    if (this.failedOnce) return;
    this.failedOnce = true;
    this.request.done = true;
    if (this.response.headersSent) return this.reset("wasm_fail_stream");
    this.deliverLocalReply({ statusCode: 503, details: "wasm_fail_stream", body: EMPTY, headers: [], grpcStatus: GrpcStatus.Unavailable }, false);
    void inRequest;
  }

  private reset(details: string): void {
    if (this.resetDetails !== undefined) return;
    this.resetDetails = details;
    this.request.done = true;
    this.response.done = true;
    this.sink.reset?.(details);
  }

  // ---- what host functions see -----------------------------------------------------------------

  override headerMap(type: MapType): HeaderMap | undefined {
    switch (type) {
      case MapType.HttpRequestHeaders:
        return this.request.headers;
      case MapType.HttpRequestTrailers:
        if (this.phase === "log") return undefined;
        return this.request.trailers ?? this.createTrailersIfLastChunk(this.request);
      case MapType.HttpResponseHeaders:
        return this.response.headers;
      case MapType.HttpResponseTrailers:
        return this.response.trailers ?? (this.phase === "log" ? undefined : this.createTrailersIfLastChunk(this.response));
      default:
        return super.headerMap(type);
    }
  }

  // Envoy: asking for trailers during the last body callback (end_of_stream, no trailers) creates them.
  private createTrailersIfLastChunk(d: Direction): HeaderMap | undefined {
    if (d.visibleBody === undefined || !d.inputEnded || d.trailers) return undefined;
    d.trailers = new HeaderMap();
    return d.trailers;
  }

  override headerMapWritable(type: MapType): boolean {
    if (this.phase === "log") return false;
    return type <= MapType.HttpResponseTrailers;
  }

  override buffer(type: BufferType): Buffer | undefined {
    if (type === BufferType.HttpRequestBody) return this.request.visibleBody ?? EMPTY;
    if (type === BufferType.HttpResponseBody) return this.response.visibleBody ?? EMPTY;
    return super.buffer(type);
  }

  override setBuffer(type: BufferType, start: number, size: number, data: Buffer): number {
    const d = type === BufferType.HttpRequestBody ? this.request : type === BufferType.HttpResponseBody ? this.response : undefined;
    if (!d || d.visibleBody === undefined) return WasmResult.BadArgument;
    const cur = d.visibleBody;
    if (start === 0) d.visibleBody = Buffer.concat([data, cur.subarray(Math.min(size, cur.length))]);
    else if (start >= cur.length) d.visibleBody = Buffer.concat([cur, data]);
    else return WasmResult.BadArgument;
    return WasmResult.Ok;
  }

  override continueStream(type: number): number {
    if (type > 3) return WasmResult.BadArgument;
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (type === StreamType.Downstream) return WasmResult.Ok;
    const isRequest = type === StreamType.HttpRequest;
    this.vm.defer(() => {
      if (this.localReply || this.resetDetails !== undefined || this.completed) return;
      this.resume(isRequest);
    });
    return WasmResult.Ok;
  }

  override closeStream(type: number): number {
    if (type > 3) return WasmResult.BadArgument;
    this.vm.defer(() => this.reset("wasm_close_stream"));
    return WasmResult.Ok;
  }

  override sendLocalResponse(reply: LocalReply): number {
    if (this.inCallback && this.vm.active === this) {
      // Envoy executes it after the VM call; the callback's return value is then ignored.
      this.pendingLocalReply = reply;
    } else {
      this.vm.defer(() => {
        if (!this.completed) this.deliverLocalReply(reply, true);
      });
    }
    return WasmResult.Ok;
  }

  override setFilterState(path: string, value: Buffer): number {
    this.filterStates.set(path, value);
    return WasmResult.Ok;
  }

  override filterState(key: string): Buffer | undefined {
    return this.filterStates.get(key);
  }

  override propertyScope(): PropertyScope {
    return {
      info: this.info,
      requestHeaders: this.request.headers,
      responseHeaders: this.response.headers,
      responseTrailers: this.response.trailers,
    };
  }
}
