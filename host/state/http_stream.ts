// One HTTP stream through one plugin, driven as Envoy's filter manager drives a Wasm HTTP filter
// (envoy: source/extensions/common/wasm/context.cc, source/common/http/filter_manager.cc):
// request events go in through decodeX, response events through encodeX; what the plugin lets
// through comes out of the sink. Everything is synchronous: a paused direction waits for
// continueStream(), which the plugin calls from a later callback (tick, callout, queue).
//
// What the plugin sees follows Envoy exactly (abi-and-host.md §3.3, §7, §8.2, §8.3):
// - a header map is readable/writable from its arrival until its callback returns Continue or
//   the plugin calls proxy_continue_stream (which also forgets the request's maps); later reads
//   are BAD_ARGUMENT (pairs: empty), except in proxy_on_log, which reads the final request
//   headers, response headers and response trailers;
// - raw header results: 1 → StopAllIterationAndWatermark unless allow_on_headers_stop_iteration,
//   > 4 → StopAllIterationAndWatermark, 2 → Continue; body results > 3 → StopIterationNoBuffer;
//   after proxy_send_local_response the result is ignored and the stream stops;
// - StopAllIteration: later body and trailers are buffered without calling the plugin, then
//   delivered to it on continue; StopIterationAndBuffer: the next body callback reports (and
//   get_buffer_bytes reads) the whole buffered body; over the buffer limit Envoy replies 413 while
//   decoding and 500 while encoding (reset once response headers went out); Watermark variants
//   never hit the limit (Envoy applies back-pressure instead);
// - a local reply raised while decoding passes through this plugin's response callbacks; while
//   encoding it goes straight to the client; after response headers went out the stream resets.
import {
  BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, GrpcStatus, httpToGrpcStatus, MapType, StreamType, WasmResult,
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
  /** The stream was reset (close_stream, a failure or a local reply after response headers went out). */
  reset?(details: string): void;
}

/** Options of a stream. */
export interface HttpStreamOptions {
  /** Envoy's per-stream buffer limit for buffered bodies (default 1 MiB, the listener default). */
  bufferLimitBytes?: number;
  /** Order of the end-of-stream callbacks; Envoy today: log, done, delete. */
  completionOrder?: "log-done-delete" | "done-log-delete";
  /**
   * False when the stream is one filter of a chain (the chain tracks what reached the client);
   * default true: this stream's response output is what the client gets.
   */
  downstreamEnd?: boolean;
}

/** How a stream ended, for complete(). */
export interface CompleteOptions {
  /**
   * Envoy runs proxy_on_log only once the request completed (StreamInfo requestComplete); a
   * mid-request access log is skipped. Default true.
   */
  requestComplete?: boolean;
}

const EMPTY = Buffer.alloc(0);
const DEFAULT_BUFFER_LIMIT = 1024 * 1024;

// Envoy's filter iteration state for one direction.
const enum Stop {
  None = 0,
  /** StopAllIteration from headers: body and trailers wait without calling the plugin. */
  All = 1,
  /** StopIteration (headers, when allowed), a stopped body callback, or stopped trailers. */
  Single = 2,
}

const concat = (a: Buffer, b: Buffer): Buffer => (a.length === 0 ? b : b.length === 0 ? a : Buffer.concat([a, b]));

// One direction (request or response) of the stream, as this filter sees it.
class Direction {
  /** The header map (the same object travels along the chain). */
  headers: HeaderMap | undefined;
  /** Envoy's request_headers_/response_headers_: the plugin may use the map. */
  headersVisible = false;
  trailers: HeaderMap | undefined;
  trailersVisible = false;
  /** Trailers the plugin has been shown (or that passed while it was transparent). */
  trailersSeen = false;
  /** Data the filter manager holds for this filter (buffered while stopped). */
  buffered: Buffer = EMPTY;
  /** Envoy's request_body_buffer_: the chunk of the running (or last stopped) body callback. */
  chunk: Buffer | undefined;
  /** Envoy's buffering_request_body_: the last body callback returned StopIterationAndBuffer. */
  bufferingBody = false;
  /** The buffered data is under watermark flow control (no buffer limit). */
  streaming = false;
  stop: Stop = Stop.None;
  /** A body callback is running (trailers may be created in the last one). */
  inBodyCallback = false;
  /** end_of_stream of the running body callback. */
  callbackEndOfStream = false;
  /** The input ended (end_of_stream seen, or trailers arrived). */
  inputEnded = false;
  /** Headers went to the sink. */
  headersSent = false;
  /** The sink saw end of stream: nothing more goes out. */
  outputEnded = false;
}

/** Raw values the plugin's callbacks returned, last of each kind (for the test API). */
export interface LastActions {
  requestHeaders?: number;
  requestBody?: number;
  requestTrailers?: number;
  responseHeaders?: number;
  responseBody?: number;
  responseTrailers?: number;
}


// Envoy's PercentEncoding::encode for grpc-message: everything outside printable ASCII, and '%'.
function percentEncode(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}

export class HttpStream extends HostContext {
  readonly kind = "http" as const;
  readonly request = new Direction();
  readonly response = new Direction();
  /** The local reply the plugin sent (or the host sent on its behalf: 413/500/503). */
  localReply: LocalReply | undefined;
  /** Details of a reset, if the stream was reset. */
  resetDetails: string | undefined;
  /** Raw values the plugin's callbacks returned. */
  readonly lastActions: LastActions = {};
  /** Times the plugin cleared the route cache (request-header edits, proxy_clear_route_cache). */
  routeCacheClears = 0;
  /** True once the stream ended (complete()). */
  completed = false;
  /** The plugin is out of the stream: failed open, or no VM under FAIL_OPEN. */
  bypass = false;

  private created = false;
  private logPhase = false;
  private streamFailed = false;
  private failureReplySent = false;
  /** Encoding a local reply through this plugin's own response callbacks. */
  private replying = false;
  private readonly bufferLimit: number;
  private readonly downstreamEnd: boolean;

  constructor(
    vm: PluginVm | undefined,
    id: number,
    readonly info: StreamInfo,
    readonly sink: HttpStreamSink,
    readonly failurePolicy: FailurePolicy,
    private readonly options: HttpStreamOptions = {},
  ) {
    // A stream without a VM runs untouched (FAIL_OPEN) or fails closed on its first event.
    super(vm as PluginVm, id);
    this.bufferLimit = options.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT;
    this.downstreamEnd = options.downstreamEnd ?? true;
    if (!vm) this.bypass = failurePolicy === "FAIL_OPEN";
  }

  get root(): RootContextState {
    return this.vm.root;
  }

  /** The stream's filter state by full key (`wasm.<name>` for proxy_set_property), shared by the chain. */
  get filterStates(): Map<string, Buffer> {
    return this.info.filterState;
  }

  override get accessLogPhase(): boolean {
    return this.logPhase;
  }

  // ---- inputs -----------------------------------------------------------------------------------

  /** Request headers arrive from downstream. */
  decodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    // After complete() the plugin's context is gone: late events go nowhere (Envoy destroyed the filter).
    if (this.completed || this.request.outputEnded || this.request.headers) return;
    const vm = this.vm;
    vm?.beginDispatch();
    try {
      this.onHeaders(this.request, headers, endOfStream);
    } finally {
      vm?.endDispatch();
    }
  }

  /** A request body chunk arrives. */
  decodeData(chunk: Buffer, endOfStream: boolean): void {
    if (this.completed || this.request.outputEnded || this.request.inputEnded) return;
    // A chain counts bytes at its ends; a stream on its own is both ends.
    if (this.downstreamEnd) this.info.requestBodyBytes += chunk.length;
    const vm = this.vm;
    vm?.beginDispatch();
    try {
      this.onData(this.request, chunk, endOfStream);
    } finally {
      vm?.endDispatch();
    }
  }

  /** Request trailers arrive. */
  decodeTrailers(trailers: HeaderMap): void {
    if (this.completed || this.request.outputEnded || this.request.inputEnded) return;
    const vm = this.vm;
    vm?.beginDispatch();
    try {
      this.onTrailers(this.request, trailers);
    } finally {
      vm?.endDispatch();
    }
  }

  /** Response headers arrive from upstream (or a router-generated reply). */
  encodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    if (!this.acceptsResponse() || this.response.headers) return;
    this.info.responseStarted = true;
    const status = Number(headers.get(":status") ?? 0);
    if (status && !this.replying) this.info.responseCode = status;
    if (!this.info.responseCodeDetails) this.info.responseCodeDetails = "via_upstream";
    const vm = this.vm;
    vm?.beginDispatch();
    try {
      this.onHeaders(this.response, headers, endOfStream);
    } finally {
      vm?.endDispatch();
    }
  }

  /** A response body chunk arrives. */
  encodeData(chunk: Buffer, endOfStream: boolean): void {
    if (!this.acceptsResponse() || this.response.inputEnded) return;
    const vm = this.vm;
    vm?.beginDispatch();
    try {
      this.onData(this.response, chunk, endOfStream);
    } finally {
      vm?.endDispatch();
    }
  }

  /** Response trailers arrive. */
  encodeTrailers(trailers: HeaderMap): void {
    if (!this.acceptsResponse() || this.response.inputEnded) return;
    // No closure here: this runs for every event of every request.
    const vm = this.vm;
    vm?.beginDispatch();
    try {
      this.onTrailers(this.response, trailers);
    } finally {
      vm?.endDispatch();
    }
  }

  // Once a local reply answered, the upstream response is not the client's any more; once the
  // stream completed, nothing is.
  private acceptsResponse(): boolean {
    if (this.completed || this.resetDetails !== undefined || this.response.outputEnded) return false;
    return this.localReply === undefined || this.replying;
  }

  // Holds deferred actions (continue, local replies) until the host has acted on the callback's
  // result, as Envoy acts on them once the filter returned.
  private dispatch(event: () => void): void {
    const vm = this.vm;
    if (!vm) return event();
    vm.beginDispatch();
    try {
      event();
    } finally {
      vm.endDispatch();
    }
  }

  /**
   * Ends the stream: proxy_on_log (only if the request completed), proxy_on_done,
   * proxy_on_delete, in Envoy's current order. A plugin that never saw the stream still gets
   * on_log, with its context created first (Envoy's AccessLogCreate).
   */
  complete(options: CompleteOptions = {}): void {
    if (this.completed) return;
    this.completed = true;
    const requestComplete = options.requestComplete ?? true;
    if (requestComplete) this.info.endTime ??= Date.now();
    const vm = this.vm;
    if (!vm || vm.failure || this.bypass) return this.release();
    try {
      if (requestComplete) {
        if (!this.created) this.ensureCreated();
        this.logPhase = true;
      }
      const id = this.id;
      const log = () => {
        if (requestComplete) vm.call("proxy_on_log", this, id);
      };
      if (this.created) {
        if (this.options.completionOrder === "done-log-delete") {
          vm.call("proxy_on_done", this, id, 0, 0, 0, 0, 1);
          log();
        } else {
          log();
          vm.call("proxy_on_done", this, id, 0, 0, 0, 0, 1);
        }
        vm.call("proxy_on_delete", this, id);
      }
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
    } finally {
      this.logPhase = false;
    }
    this.release();
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

  // ---- driving ----------------------------------------------------------------------------------

  private isRequest(d: Direction): boolean {
    return d === this.request;
  }

  /**
   * Envoy's CHECK_FAIL_HTTP: with no healthy VM, FAIL_OPEN lets the event through; otherwise the
   * stream fails once (503, or a reset when response headers went out) and stops. Returns true
   * when the plugin must not be called.
   */
  private failed(): boolean {
    if (this.bypass) return true;
    if (this.vm && !this.vm.failure) return false;
    if (this.failurePolicy === "FAIL_OPEN") {
      this.bypass = true;
      return true;
    }
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.failureReplySent = true;
      this.sendLocalReplyNow({ statusCode: 503, details: "wasm_fail_stream", body: EMPTY, headers: [], grpcStatus: GrpcStatus.Unavailable }, false);
    }
    return true;
  }

  // Calls a stream callback; undefined when the VM failed (the failure policy has been applied).
  private invoke(name: string, a: number, b?: number): number | undefined {
    const vm = this.vm;
    try {
      this.ensureCreated();
      const raw = vm.call(name, this, this.id, a, b);
      return raw;
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
      this.failed();
      return undefined;
    }
  }

  // True (and the stop flag cleared) when proxy_send_local_response ran during the callback.
  private takeStopNextIteration(): boolean {
    const stopped = this.vm.stoppedIteration;
    this.vm.stoppedIteration = false;
    return stopped;
  }

  private onHeaders(d: Direction, headers: HeaderMap, endOfStream: boolean): void {
    d.headers = headers;
    d.headersVisible = true;
    if (endOfStream) d.inputEnded = true;
    const isRequest = this.isRequest(d);
    // Envoy skips a filter whose context never came to be (it saw no request headers).
    if (!isRequest && !this.created && this.vm && !this.vm.failure) return this.sendHeaders(d, endOfStream);
    if (this.failed()) return this.passHeaders(d, endOfStream);
    const raw = this.invoke(isRequest ? "proxy_on_request_headers" : "proxy_on_response_headers", headers.count, endOfStream ? 1 : 0);
    if (raw === undefined) return this.bypass ? this.passHeaders(d, endOfStream) : undefined;
    if (isRequest) this.lastActions.requestHeaders = raw;
    else this.lastActions.responseHeaders = raw;
    let status: number = raw;
    if (this.takeStopNextIteration() || raw > FilterHeadersStatus.StopAllIterationAndWatermark) {
      status = FilterHeadersStatus.StopAllIterationAndWatermark;
    } else if (raw === FilterHeadersStatus.StopIteration && !this.vm.runtime.config.allowOnHeadersStopIteration) {
      status = FilterHeadersStatus.StopAllIterationAndWatermark;
    } else if (raw === FilterHeadersStatus.ContinueAndEndStream) {
      status = FilterHeadersStatus.Continue;
    }
    switch (status) {
      case FilterHeadersStatus.Continue:
        d.headersVisible = false;
        this.sendHeaders(d, endOfStream);
        return;
      case FilterHeadersStatus.StopIteration:
        d.stop = Stop.Single;
        return;
      default:
        d.stop = Stop.All;
        d.streaming = status === FilterHeadersStatus.StopAllIterationAndWatermark;
    }
  }

  private onData(d: Direction, chunk: Buffer, endOfStream: boolean): void {
    if (endOfStream) d.inputEnded = true;
    if (!this.created && this.vm && !this.vm.failure) return this.forwardData(d, chunk, endOfStream);
    if (d.stop === Stop.All) {
      // Envoy buffers without calling the filter; the plugin sees it on continue.
      d.buffered = concat(d.buffered, chunk);
      this.checkBufferLimit(d);
      return;
    }
    if (this.failed()) return this.forwardData(d, chunk, endOfStream);
    if (d.bufferingBody) {
      // Envoy's Context adds the chunk to the buffered body before calling the plugin.
      d.buffered = concat(d.buffered, chunk);
      if (this.checkBufferLimit(d)) return;
    }
    this.runBody(d, chunk, endOfStream);
  }

  // Calls the body callback with `provided` (the arriving chunk, or the buffer on a StopAll resume).
  private runBody(d: Direction, provided: Buffer, endOfStream: boolean): void {
    const isRequest = this.isRequest(d);
    const wasBuffering = d.bufferingBody;
    d.chunk = provided;
    d.inBodyCallback = true;
    d.callbackEndOfStream = endOfStream;
    let raw: number | undefined;
    try {
      raw = this.invoke(isRequest ? "proxy_on_request_body" : "proxy_on_response_body", wasBuffering ? d.buffered.length : provided.length, endOfStream ? 1 : 0);
    } finally {
      d.inBodyCallback = false;
    }
    // The plugin may have edited the chunk (or the buffered body) through proxy_set_buffer_bytes.
    provided = d.chunk ?? EMPTY;
    if (raw === undefined) {
      if (this.bypass) this.forwardData(d, wasBuffering ? d.buffered : provided, endOfStream);
      return;
    }
    if (isRequest) this.lastActions.requestBody = raw;
    else this.lastActions.responseBody = raw;
    let status: number = raw;
    if (this.takeStopNextIteration() || raw > FilterDataStatus.StopIterationNoBuffer) status = FilterDataStatus.StopIterationNoBuffer;
    d.bufferingBody = false;
    if (status === FilterDataStatus.Continue) {
      d.chunk = undefined;
      if (d.stop !== Stop.None) {
        // Stopped before: everything held goes on with this chunk.
        if (!wasBuffering) d.buffered = concat(d.buffered, provided);
        this.continueDirection(d);
      } else {
        const out = wasBuffering ? d.buffered : provided;
        if (wasBuffering) d.buffered = EMPTY;
        this.forwardData(d, out, endOfStream && !d.trailers);
        // Trailers the plugin added in the last body callback follow the body.
        if (endOfStream && d.trailers) this.forwardTrailers(d);
      }
      return;
    }
    d.stop = Stop.Single;
    // The chunk moved into the filter manager's buffer (or was dropped): the plugin's pointer is empty.
    d.chunk = EMPTY;
    if (status === FilterDataStatus.StopIterationNoBuffer) return;
    if (!wasBuffering) d.buffered = concat(d.buffered, provided);
    d.streaming = status === FilterDataStatus.StopIterationAndWatermark;
    d.bufferingBody = status === FilterDataStatus.StopIterationAndBuffer;
    this.checkBufferLimit(d);
  }

  private onTrailers(d: Direction, trailers: HeaderMap): void {
    d.inputEnded = true;
    d.trailers = trailers;
    if (!this.created && this.vm && !this.vm.failure) {
      d.trailersSeen = true;
      return this.forwardTrailers(d);
    }
    if (d.stop === Stop.All) return; // delivered to the plugin on continue
    if (this.failed()) {
      d.trailersSeen = true;
      return this.forwardTrailers(d);
    }
    this.runTrailers(d);
  }

  private runTrailers(d: Direction): void {
    const isRequest = this.isRequest(d);
    d.trailersSeen = true;
    d.trailersVisible = true;
    const raw = this.invoke(isRequest ? "proxy_on_request_trailers" : "proxy_on_response_trailers", d.trailers!.count);
    if (raw === undefined) {
      if (this.bypass) this.forwardTrailers(d);
      return;
    }
    if (isRequest) this.lastActions.requestTrailers = raw;
    else this.lastActions.responseTrailers = raw;
    const stopped = this.takeStopNextIteration() || raw !== FilterTrailersStatus.Continue;
    if (stopped) {
      d.stop = Stop.Single;
      return;
    }
    d.trailersVisible = false;
    if (d.stop !== Stop.None) this.continueDirection(d);
    else this.forwardTrailers(d);
  }

  /**
   * Envoy's commonContinue: headers (if held), then the buffered body, then trailers. After
   * StopAllIteration the plugin itself sees the buffered body and the trailers first.
   */
  private continueDirection(d: Direction): void {
    if (d.stop === Stop.None || d.outputEnded) return;
    const fromCurrent = d.stop === Stop.All;
    d.stop = Stop.None;
    const trailersWaiting = d.trailers !== undefined && (!d.trailersSeen || !fromCurrent);
    if (!d.headersSent) this.sendHeaders(d, d.inputEnded && d.buffered.length === 0 && d.trailers === undefined);
    if (d.outputEnded) return;
    if (d.buffered.length > 0 || (d.inputEnded && d.trailers === undefined)) {
      const data = d.buffered;
      d.buffered = EMPTY;
      const end = d.inputEnded && d.trailers === undefined;
      if (fromCurrent) {
        this.runBody(d, data, end);
        if (d.stop !== Stop.None) return;
      } else {
        this.forwardData(d, data, end);
      }
    }
    if (trailersWaiting && !d.outputEnded) {
      if (fromCurrent && !d.trailersSeen) this.runTrailers(d);
      else this.forwardTrailers(d);
    }
  }

  // ---- output -----------------------------------------------------------------------------------

  private sendHeaders(d: Direction, endOfStream: boolean): void {
    if (d.headersSent || !d.headers) return;
    d.headersSent = true;
    if (endOfStream) d.outputEnded = true;
    if (this.isRequest(d)) {
      this.sink.requestHeaders?.(d.headers, endOfStream);
    } else {
      if (this.downstreamEnd) this.info.responseHeadersSent = true;
      this.sink.responseHeaders?.(d.headers, endOfStream);
    }
  }

  // Headers while the plugin is out of the stream (failed open, or after its failure reply).
  private passHeaders(d: Direction, endOfStream: boolean): void {
    if (this.failureReplySent && !this.bypass) return;
    d.stop = Stop.None;
    this.sendHeaders(d, endOfStream);
  }

  private forwardData(d: Direction, data: Buffer, endOfStream: boolean): void {
    if (d.outputEnded || (this.failureReplySent && !this.bypass)) return;
    if (!d.headersSent) this.sendHeaders(d, false);
    if (endOfStream) d.outputEnded = true;
    if (data.length === 0 && !endOfStream) return;
    if (this.isRequest(d)) {
      this.sink.requestData?.(data, endOfStream);
    } else {
      if (this.downstreamEnd) this.info.responseBodyBytes += data.length;
      this.sink.responseData?.(data, endOfStream);
    }
  }

  private forwardTrailers(d: Direction): void {
    if (d.outputEnded || !d.trailers || (this.failureReplySent && !this.bypass)) return;
    if (!d.headersSent) this.sendHeaders(d, false);
    if (d.buffered.length > 0) {
      const data = d.buffered;
      d.buffered = EMPTY;
      this.forwardData(d, data, false);
    }
    d.outputEnded = true;
    if (this.isRequest(d)) this.sink.requestTrailers?.(d.trailers);
    else this.sink.responseTrailers?.(d.trailers);
  }

  // Envoy's buffer limit for non-streaming buffering: 413 while decoding; 500 while encoding (a
  // reset once response headers went out). Returns true when the limit hit.
  private checkBufferLimit(d: Direction): boolean {
    if (d.streaming || d.buffered.length <= this.bufferLimit) return false;
    d.buffered = EMPTY;
    d.bufferingBody = false;
    if (this.isRequest(d)) {
      this.sendLocalReplyNow({ statusCode: 413, details: "request_payload_too_large", body: Buffer.from("Payload Too Large"), headers: [], grpcStatus: undefined }, true);
    } else {
      this.sendLocalReplyNow({ statusCode: 500, details: "response_payload_too_large", body: Buffer.from("Internal Server Error"), headers: [], grpcStatus: undefined }, true);
    }
    return true;
  }

  // ---- local replies, resets --------------------------------------------------------------------

  /**
   * Envoy's sendLocalReply: before the response started, the reply travels the encoder path —
   * through this plugin's response callbacks when `viaPlugin` (the plugin's context exists and
   * its VM is healthy); after the upstream response started but before its headers reached the
   * client, it goes straight to the client; later the stream is reset.
   */
  private sendLocalReplyNow(reply: LocalReply, viaPlugin: boolean): void {
    if (this.completed || this.resetDetails !== undefined) return;
    if (this.info.responseHeadersSent) {
      return this.reset(reply.details || "local_reply_after_response_started");
    }
    const viaFilterChain = !this.info.responseStarted;
    this.localReply = reply;
    this.info.responseCodeDetails = reply.details;
    // The request is over as far as the filters are concerned.
    this.request.outputEnded = true;
    this.request.stop = Stop.None;
    this.request.buffered = EMPTY;
    const { headers, body } = this.localReplyMessage(reply);
    this.info.responseCode = Number(headers.get(":status"));
    this.info.responseStarted = true;
    const r = this.response;
    r.headers = undefined;
    r.trailers = undefined;
    r.buffered = EMPTY;
    r.stop = Stop.None;
    r.inputEnded = false;
    if (viaFilterChain && viaPlugin && this.created && this.vm && !this.vm.failure && !this.bypass) {
      this.replying = true;
      try {
        this.dispatch(() => this.onHeaders(r, headers, body === undefined));
        if (body !== undefined && !r.outputEnded) this.dispatch(() => this.onData(r, body, true));
      } finally {
        this.replying = false;
      }
      return;
    }
    r.headers = headers;
    r.inputEnded = true;
    this.sendHeaders(r, body === undefined);
    if (body !== undefined) this.forwardData(r, body, true);
  }

  // Envoy's prepareLocalReply: `:status`, the plugin's extra headers, then content-length and
  // content-type for a body; a gRPC request gets a trailers-only reply with grpc-status and a
  // percent-encoded grpc-message; HEAD gets no body. `body` is undefined for a headers-only reply.
  private localReplyMessage(reply: LocalReply): { headers: HeaderMap; body: Buffer | undefined } {
    const req = this.request.headers;
    const contentType = req?.get("content-type") ?? "";
    const isGrpc = contentType === "application/grpc" || contentType.startsWith("application/grpc+") || contentType.startsWith("application/grpc;");
    const isHead = req?.get(":method") === "HEAD";
    const headers = new HeaderMap([":status", String(reply.statusCode)]);
    for (const [k, v] of reply.headers) headers.add(k, v);
    if (isGrpc) {
      headers.set(":status", "200");
      headers.set("content-type", "application/grpc");
      if (!headers.has("grpc-status")) headers.set("grpc-status", String(reply.grpcStatus ?? httpToGrpcStatus(reply.statusCode)));
      if (reply.body.length > 0 && !isHead) headers.set("grpc-message", percentEncode(reply.body.toString("utf8")));
      headers.remove("content-length");
      return { headers, body: undefined };
    }
    if (reply.body.length > 0) {
      headers.set("content-length", String(reply.body.length));
      if (!headers.has("content-type")) headers.set("content-type", "text/plain");
    } else {
      headers.remove("content-length");
      headers.remove("content-type");
    }
    return { headers, body: reply.body.length > 0 && !isHead ? reply.body : undefined };
  }

  private reset(details: string): void {
    if (this.resetDetails !== undefined || this.completed) return;
    this.resetDetails = details;
    if (!this.info.responseCodeDetails || this.info.responseCodeDetails === "via_upstream") this.info.responseCodeDetails = details;
    this.request.outputEnded = true;
    this.response.outputEnded = true;
    this.sink.reset?.(details);
  }

  // ---- what host functions see ------------------------------------------------------------------

  override headerMap(type: MapType): HeaderMap | undefined {
    if (this.logPhase) {
      switch (type) {
        case MapType.HttpRequestHeaders: return this.request.headers;
        case MapType.HttpRequestTrailers: return undefined;
        case MapType.HttpResponseHeaders: return this.response.headers;
        case MapType.HttpResponseTrailers: return this.response.trailers;
        default: return super.headerMap(type);
      }
    }
    switch (type) {
      case MapType.HttpRequestHeaders: return this.request.headersVisible ? this.request.headers : undefined;
      case MapType.HttpRequestTrailers: return this.request.trailersVisible ? this.request.trailers : undefined;
      case MapType.HttpResponseHeaders: return this.response.headersVisible ? this.response.headers : undefined;
      case MapType.HttpResponseTrailers: return this.response.trailersVisible ? this.response.trailers : undefined;
      default: return super.headerMap(type);
    }
  }

  override writableHeaderMap(type: MapType): HeaderMap | undefined {
    if (this.logPhase || type > MapType.HttpResponseTrailers) return undefined;
    const map = this.headerMap(type);
    if (map) return map;
    // Envoy: asking for trailers in the last body callback (end_of_stream, no trailers) adds them.
    const d = type === MapType.HttpRequestTrailers ? this.request : type === MapType.HttpResponseTrailers ? this.response : undefined;
    if (!d || !d.inBodyCallback || !d.callbackEndOfStream || d.trailers) return undefined;
    d.trailers = new HeaderMap();
    d.trailersVisible = true;
    d.trailersSeen = true;
    return d.trailers;
  }

  override headerMapChanged(type: MapType): void {
    if (type === MapType.HttpRequestHeaders) this.routeCacheClears++;
  }

  override clearRouteCache(): void {
    this.routeCacheClears++;
  }

  override buffer(type: BufferType): Buffer | undefined {
    if (type === BufferType.HttpRequestBody || type === BufferType.HttpResponseBody) {
      const d = type === BufferType.HttpRequestBody ? this.request : this.response;
      if (this.logPhase) return EMPTY;
      return d.bufferingBody ? d.buffered : d.chunk ?? EMPTY;
    }
    return super.buffer(type);
  }

  override setBuffer(type: BufferType, start: number, size: number, data: Buffer): number {
    if (type !== BufferType.HttpRequestBody && type !== BufferType.HttpResponseBody) return super.setBuffer(type, start, size, data);
    const d = type === BufferType.HttpRequestBody ? this.request : this.response;
    if (this.logPhase || (!d.bufferingBody && d.chunk === undefined)) return WasmResult.BadArgument;
    const cur = d.bufferingBody ? d.buffered : d.chunk!;
    let next: Buffer;
    // Envoy: start 0 drains `size` leading bytes then prepends (so size 0 prepends and
    // size ≥ length replaces); start ≥ length appends; anything else is BAD_ARGUMENT.
    if (start === 0) next = concat(data, cur.subarray(Math.min(size, cur.length)));
    else if (start >= cur.length) next = concat(cur, data);
    else return WasmResult.BadArgument;
    if (d.bufferingBody) d.buffered = next;
    else d.chunk = next;
    return WasmResult.Ok;
  }

  override continueStream(type: number): number {
    if (type > StreamType.Upstream) return WasmResult.BadArgument;
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (type === StreamType.Downstream) return WasmResult.Ok;
    const d = type === StreamType.HttpRequest ? this.request : this.response;
    // Envoy forgets the request's header, body and trailer handles at once (for either type).
    this.request.headersVisible = false;
    this.request.chunk = undefined;
    this.request.trailersVisible = false;
    this.vm.defer(() => {
      if (this.completed || this.resetDetails !== undefined) return;
      this.dispatch(() => this.continueDirection(d));
    });
    return WasmResult.Ok;
  }

  override closeStream(type: number): number {
    if (type > StreamType.Upstream) return WasmResult.BadArgument;
    if (type === StreamType.HttpRequest || type === StreamType.HttpResponse) {
      if (!this.info.responseCodeDetails) this.info.responseCodeDetails = "wasm_close_stream";
      this.vm.defer(() => this.reset("wasm_close_stream"));
    }
    return WasmResult.Ok;
  }

  override sendLocalResponse(reply: LocalReply): number {
    // Envoy ignores the running callback's result and stops the stream, then sends the reply
    // once the VM call returns.
    this.vm.requestStopIteration();
    this.vm.defer(() => this.dispatch(() => this.sendLocalReplyNow(reply, true)));
    return WasmResult.Ok;
  }

  override propertyScope(): PropertyScope {
    const log = this.logPhase;
    return {
      info: this.info,
      requestHeaders: log || this.request.headersVisible ? this.request.headers : undefined,
      responseHeaders: log || this.response.headersVisible ? this.response.headers : undefined,
      responseTrailers: log || this.response.trailersVisible ? this.response.trailers : undefined,
    };
  }
}
