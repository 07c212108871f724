// One HTTP stream through one plugin: the Wasm HTTP context of Envoy
// (source/extensions/common/wasm/context.cc; docs/envoy/http-stream.md, "The Wasm HTTP context").
// It extends the filter manager (filter_manager.ts), which drives the events; this glue calls the plugin's
// callbacks, turns their raw results into filter statuses, decides what the host functions see,
// applies the failure policy to the stream, and ends the stream with on_log, on_done, on_delete.
// Local replies are built by local_reply.ts.
//
// What the plugin sees follows Envoy (docs/envoy/http-stream.md, "The Wasm HTTP context" and
// "Failures (the stream side)"; docs/abi.md, "Host calls"):
// - a header map is readable/writable from its arrival until its callback returns Continue or
//   the plugin calls proxy_continue_stream (which also forgets the request's maps); later reads
//   are BAD_ARGUMENT (pairs: empty), except in proxy_on_log, which reads the stream's final request
//   headers, response headers and response trailers;
// - raw header results: 1 → StopAllIterationAndWatermark unless allow_on_headers_stop_iteration,
//   > 4 → StopAllIterationAndWatermark, 2 → Continue; body results > 3 → StopIterationNoBuffer;
//   after proxy_send_local_response the result is ignored and the stream stops;
// - a VM that fails during a callback fails the stream (503, or a reset once response headers went
//   out) whatever the failure policy; with no healthy VM, later events pass untouched under
//   FAIL_OPEN and fail the stream otherwise (Envoy's CHECK_FAIL_HTTP).
import {
  BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, GrpcStatus, MapType, StreamType, WasmResult,
} from "../abi/constants.js";
import type { LocalReply } from "../vm/contexts.js";
import { VmFailedError } from "../vm/errors.js";
import {
  onContextCreate, onDelete, onDone, onLog, onRequestBody, onRequestHeaders, onRequestTrailers, onResponseBody,
  onResponseHeaders, onResponseTrailers,
} from "../vm/guest.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import type { FailurePolicy } from "../vm/runtime.js";
import { EMPTY, FilterManager, type Direction, type HttpStreamOptions, type HttpStreamSink } from "./filter_manager.js";
import { HeaderMap, REQUEST_TRAILERS_INLINE, RESPONSE_TRAILERS_INLINE } from "../values/header_map.js";
import type { PropertyScope, StreamInfo } from "../values/stream_info.js";

export type { HttpStreamOptions, HttpStreamSink } from "./filter_manager.js";

/** The stream's headers as they ended, which proxy_on_log reads (a chain's, the same for all its plugins). */
export interface StreamMaps {
  requestHeaders?: HeaderMap;
  responseHeaders?: HeaderMap;
  responseTrailers?: HeaderMap;
}

/** How a stream ended, for complete(). */
export interface CompleteOptions {
  /**
   * Envoy runs proxy_on_log only once the request completed (StreamInfo requestComplete); a
   * mid-request access log is skipped. Default true.
   */
  requestComplete?: boolean;
  /**
   * The stream's final maps, when this plugin is one filter of a chain: a plugin that never saw
   * the request (an earlier one answered) or whose response was replaced still logs what the
   * client got. Default: the maps this plugin saw.
   */
  streamMaps?: StreamMaps;
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

const concat = (a: Buffer, b: Buffer): Buffer => (a.length === 0 ? b : b.length === 0 ? a : Buffer.concat([a, b]));

export class HttpStream extends FilterManager {
  readonly kind = "http" as const;
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
  private logMaps: StreamMaps | undefined;
  private destroyed = false;
  private doneCalled = false;

  constructor(
    vm: PluginVm | undefined,
    id: number,
    info: StreamInfo,
    sink: HttpStreamSink,
    readonly failurePolicy: FailurePolicy,
    private readonly options: HttpStreamOptions = {},
  ) {
    // A stream without a VM runs untouched (FAIL_OPEN) or fails closed on its first event.
    super(vm as PluginVm, id, info, sink, options);
    if (!vm) this.bypass = failurePolicy === "FAIL_OPEN";
  }

  /** The stream's filter state by full key (`wasm.<name>` for proxy_set_property), shared by the chain. */
  get filterStates(): Map<string, Buffer> {
    return this.info.filterState;
  }

  override get accessLogPhase(): boolean {
    return this.logPhase;
  }

  /**
   * Ends the stream: proxy_on_log (only if the request completed), proxy_on_done,
   * proxy_on_delete, in Envoy's current order. A plugin that never saw the stream still gets
   * on_log, with its context created first (Envoy's AccessLogCreate). A chain runs logEnd() for
   * every plugin before it destroys any, as Envoy runs the access logs before destroying filters.
   */
  complete(options: CompleteOptions = {}): void {
    this.logEnd(options);
    this.destroy();
  }

  /** The stream is over for this plugin: proxy_on_log, if the request completed (Envoy's access-log phase). */
  logEnd(options: CompleteOptions = {}): void {
    if (this.completed) return;
    this.completed = true;
    this.closed = true;
    const requestComplete = options.requestComplete ?? true;
    if (requestComplete) this.info.endTime ??= Date.now();
    const vm = this.vm;
    if (!vm || vm.failure || this.bypass) return;
    this.logMaps = options.streamMaps;
    try {
      if (requestComplete && !this.created) this.ensureCreated();
      if (this.options.completionOrder === "done-log-delete" && this.created) this.done();
      if (requestComplete) {
        this.logPhase = true;
        onLog(this);
      }
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
    } finally {
      this.logPhase = false;
      this.logMaps = undefined;
    }
  }

  /** proxy_on_done, then proxy_on_delete (Envoy's onDestroy); the context is forgotten. */
  destroy(): void {
    if (!this.completed) this.logEnd({ requestComplete: false });
    if (this.destroyed) return;
    this.destroyed = true;
    const vm = this.vm;
    try {
      if (vm && !vm.failure && !this.bypass && this.created) {
        this.done();
        onDelete(this);
      }
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
    }
    this.release();
  }

  private done(): void {
    if (this.doneCalled) return;
    this.doneCalled = true;
    onDone(this);
  }

  private ensureCreated(): void {
    if (this.created) return;
    this.created = true;
    this.vm.contexts.set(this.id, this);
    onContextCreate(this, this.root.id);
  }

  private release(): void {
    if (this.created && this.vm) this.vm.contexts.delete(this.id);
  }

  // ---- the filter side (what the filter manager calls) ---------------------------------------

  /** Holds deferred actions (continue, local replies) until the event's result has been acted on. */
  protected beginEvent(): void {
    this.vm?.beginDispatch();
  }

  protected endEvent(): void {
    this.vm?.endDispatch();
  }

  protected filterHeaders(d: Direction, endOfStream: boolean): FilterHeadersStatus | undefined {
    d.headersVisible = true;
    // Envoy skips a filter whose context never came to be (it saw no request headers).
    if (!d.isRequest && !this.created && this.healthy()) return FilterHeadersStatus.Continue;
    if (this.vmUnavailable()) return this.bypass ? FilterHeadersStatus.Continue : undefined;
    const count = d.headers!.count;
    let raw: number | undefined;
    try {
      this.ensureCreated();
      raw = d.isRequest ? onRequestHeaders(this, count, endOfStream) : onResponseHeaders(this, count, endOfStream);
    } catch (err) {
      raw = this.callbackFailed(err);
    }
    if (raw === undefined) return undefined;
    if (d.isRequest) this.lastActions.requestHeaders = raw;
    else this.lastActions.responseHeaders = raw;
    let status = raw as FilterHeadersStatus;
    if (this.takeStopNextIteration() || raw > FilterHeadersStatus.StopAllIterationAndWatermark) {
      status = FilterHeadersStatus.StopAllIterationAndWatermark;
    } else if (raw === FilterHeadersStatus.StopIteration && !this.root.plugin.config.allowOnHeadersStopIteration) {
      status = FilterHeadersStatus.StopAllIterationAndWatermark;
    } else if (raw === FilterHeadersStatus.ContinueAndEndStream) {
      status = FilterHeadersStatus.Continue;
    }
    if (status === FilterHeadersStatus.Continue) d.headersVisible = false;
    return status;
  }

  protected filterData(d: Direction, endOfStream: boolean): FilterDataStatus | undefined {
    const chunk = d.chunk!;
    if (!this.created && this.healthy()) return FilterDataStatus.Continue;
    if (this.vmUnavailable()) {
      if (!this.bypass) return undefined;
      if (d.bufferingBody) this.addBuffered(d, chunk);
      return FilterDataStatus.Continue;
    }
    // Envoy's Context adds the chunk to the buffered body before calling the plugin.
    if (d.bufferingBody && this.addBuffered(d, chunk)) return undefined;
    d.inBodyCallback = true;
    d.callbackEndOfStream = endOfStream;
    const size = d.bufferingBody ? d.buffered.length : chunk.length;
    let raw: number | undefined;
    try {
      this.ensureCreated();
      raw = d.isRequest ? onRequestBody(this, size, endOfStream) : onResponseBody(this, size, endOfStream);
    } catch (err) {
      raw = this.callbackFailed(err);
    } finally {
      d.inBodyCallback = false;
    }
    if (raw === undefined) return undefined;
    if (d.isRequest) this.lastActions.requestBody = raw;
    else this.lastActions.responseBody = raw;
    if (this.takeStopNextIteration() || raw > FilterDataStatus.StopIterationNoBuffer) return FilterDataStatus.StopIterationNoBuffer;
    return raw as FilterDataStatus;
  }

  protected filterTrailers(d: Direction): FilterTrailersStatus | undefined {
    if (!this.created && this.healthy()) return FilterTrailersStatus.Continue;
    if (this.vmUnavailable()) return this.bypass ? FilterTrailersStatus.Continue : undefined;
    d.trailersVisible = true;
    const count = d.trailers!.count;
    let raw: number | undefined;
    try {
      this.ensureCreated();
      raw = d.isRequest ? onRequestTrailers(this, count) : onResponseTrailers(this, count);
    } catch (err) {
      raw = this.callbackFailed(err);
    }
    if (raw === undefined) return undefined;
    if (d.isRequest) this.lastActions.requestTrailers = raw;
    else this.lastActions.responseTrailers = raw;
    if (this.takeStopNextIteration() || raw !== FilterTrailersStatus.Continue) return FilterTrailersStatus.StopIteration;
    d.trailersVisible = false;
    return FilterTrailersStatus.Continue;
  }

  protected seesOwnReply(): boolean {
    return this.created && this.healthy() && !this.bypass;
  }

  // ---- failures -------------------------------------------------------------------------------

  private healthy(): boolean {
    return this.vm !== undefined && !this.vm.failure;
  }

  /**
   * Envoy's CHECK_FAIL_HTTP: with no healthy VM, FAIL_OPEN takes the plugin out of the stream
   * (`bypass`); any other policy fails the stream. True when the plugin must not be called.
   */
  private vmUnavailable(): boolean {
    if (this.bypass) return true;
    if (this.healthy()) return false;
    if (this.failurePolicy === "FAIL_OPEN") {
      this.bypass = true;
      return true;
    }
    this.failStream();
    return true;
  }

  /**
   * Envoy's failStream: the stream fails once, with a 503 that no plugin callback sees (a reset
   * once response headers went out).
   */
  failStream(): void {
    if (this.streamFailed) return;
    this.streamFailed = true;
    this.sendLocalReply({ statusCode: 503, details: "wasm_fail_stream", body: EMPTY, headers: [], grpcStatus: GrpcStatus.Unavailable }, false);
  }

  // A stream callback threw: a VM that failed during it fails this stream whatever the failure
  // policy (the policy decides what later events and streams meet); no result (undefined).
  private callbackFailed(err: unknown): undefined {
    if (!(err instanceof VmFailedError)) throw err;
    this.failStream();
    return undefined;
  }

  // True (and the stop flag cleared) when proxy_send_local_response ran during the callback.
  private takeStopNextIteration(): boolean {
    const stopped = this.vm.stoppedIteration;
    this.vm.stoppedIteration = false;
    return stopped;
  }

  // ---- what host functions see ----------------------------------------------------------------

  override headerMap(type: MapType): HeaderMap | undefined {
    if (this.logPhase) {
      const final = this.logMaps;
      switch (type) {
        case MapType.HttpRequestHeaders: return final?.requestHeaders ?? this.request.headers;
        case MapType.HttpRequestTrailers: return undefined;
        case MapType.HttpResponseHeaders: return final?.responseHeaders ?? this.response.headers;
        case MapType.HttpResponseTrailers: return final?.responseTrailers ?? this.response.trailers;
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
    d.trailers = new HeaderMap([], d.isRequest ? REQUEST_TRAILERS_INLINE : RESPONSE_TRAILERS_INLINE);
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
      this.beginEvent();
      try {
        this.continueDirection(d);
      } finally {
        this.endEvent();
      }
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
    this.vm.defer(() => {
      this.beginEvent();
      try {
        this.sendLocalReply(reply, true);
      } finally {
        this.endEvent();
      }
    });
    return WasmResult.Ok;
  }

  override propertyScope(): PropertyScope {
    if (this.logPhase) {
      const final = this.logMaps;
      return {
        info: this.info,
        requestHeaders: final?.requestHeaders ?? this.request.headers,
        responseHeaders: final?.responseHeaders ?? this.response.headers,
        responseTrailers: final?.responseTrailers ?? this.response.trailers,
      };
    }
    return {
      info: this.info,
      requestHeaders: this.request.headersVisible ? this.request.headers : undefined,
      responseHeaders: this.response.headersVisible ? this.response.headers : undefined,
      responseTrailers: this.response.trailersVisible ? this.response.trailers : undefined,
    };
  }
}
