// Envoy's filter manager as one filter of a stream sees it (source/common/http/filter_manager.cc;
// docs/envoy/http-stream.md, "Filter iteration"): request events go in through the decode side,
// response events through the encode side; the filter answers each with a filter status (the Wasm
// glue, http_stream.ts, extends this class and turns the plugin's raw results into those); what the
// filter lets through goes out to the sink. Everything is synchronous: a stopped direction waits
// for continue. (One class with the glue, not two objects: one allocation less per stream.)
// - StopAllIteration from headers: later body and trailers are buffered without calling the
//   filter, then handed to it on continue (Envoy's iterate-from-current-filter);
// - StopIterationAndBuffer: the next body callback sees (and may edit) the whole buffered body;
//   over the buffer limit Envoy replies 413 while decoding and 500 while encoding (reset once
//   response headers went out); Watermark variants never hit the limit (back-pressure instead);
// - a local reply raised while decoding passes through this filter's encode side; while encoding
//   it goes straight to the client; after response headers went out the stream resets.
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus } from "../abi/constants.js";
import { HostContext, type LocalReply } from "../vm/contexts.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import {
  REQUEST_HEADERS_INLINE, REQUEST_TRAILERS_INLINE, RESPONSE_HEADERS_INLINE, RESPONSE_TRAILERS_INLINE, type HeaderMap,
} from "../values/header_map.js";
import { localReplyMessage } from "./local_reply.js";
import type { StreamInfo } from "../values/stream_info.js";

/** Where the data a filter lets through goes (upstream for requests, downstream for responses). */
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
  /**
   * Envoy's high/low watermark callbacks for data this filter holds while it streams
   * (StopAllIterationAndWatermark, StopIterationAndWatermark): `above` once the request's
   * (`request`) or the response's held data exceeds the buffer limit — the proxy then stops reading
   * that direction's source — and `!above` once it is down to half of it
   * (docs/envoy/flow-control.md).
   */
  onWatermark?(request: boolean, above: boolean): void;
}

export const EMPTY = Buffer.alloc(0);
const DEFAULT_BUFFER_LIMIT = 1024 * 1024;

/** Envoy's filter iteration state for one direction. */
export const enum Stop {
  None = 0,
  /** StopAllIteration from headers: body and trailers wait without calling the filter. */
  All = 1,
  /** StopIteration (headers, when allowed), a stopped body callback, or stopped trailers. */
  Single = 2,
}

const concat = (a: Buffer, b: Buffer): Buffer => (a.length === 0 ? b : b.length === 0 ? a : Buffer.concat([a, b]));

/** One direction (request or response) of the stream, as this filter sees it. */
export class Direction {
  /** The header map (the same object travels along the chain). */
  headers: HeaderMap | undefined;
  /** Envoy's request_headers_/response_headers_: the plugin may use the map. */
  headersVisible = false;
  trailers: HeaderMap | undefined;
  trailersVisible = false;
  /** Trailers the filter has been shown (or that passed while it was transparent). */
  trailersSeen = false;
  /** Data the filter manager holds for this filter (buffered while stopped). */
  buffered: Buffer = EMPTY;
  /** Envoy's request_body_buffer_: the chunk of the running (or last stopped) body callback. */
  chunk: Buffer | undefined;
  /** Envoy's buffering_request_body_: the last body callback returned StopIterationAndBuffer. */
  bufferingBody = false;
  /** The buffered data is under watermark flow control (no buffer limit). */
  streaming = false;
  /** The held data went over the high watermark (its source is paused) and not yet down to the low one. */
  aboveWatermark = false;
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

  constructor(readonly isRequest: boolean) {}
}

/**
 * One filter's view of Envoy's filter manager for one stream. The filter (the Wasm context)
 * extends it and answers the filter* callbacks (Envoy's StreamDecoderFilter and
 * StreamEncoderFilter): a filter status, or undefined when it failed the stream (which then
 * neither goes on nor waits).
 */
export abstract class FilterManager extends HostContext {
  readonly request = new Direction(true);
  readonly response = new Direction(false);
  /** The local reply this filter raised (or the host raised on its behalf: 413/500/503). */
  localReply: LocalReply | undefined;
  /** Details of a reset, if the stream was reset. */
  resetDetails: string | undefined;
  /** The stream ended: nothing goes in or out any more. */
  closed = false;
  /** Encoding a local reply through this filter's own encode side. */
  private replying = false;
  private readonly bufferLimit: number;
  private readonly downstreamEnd: boolean;
  private readonly onWatermark: HttpStreamOptions["onWatermark"];

  constructor(vm: PluginVm, id: number, readonly info: StreamInfo, readonly sink: HttpStreamSink, options: HttpStreamOptions = {}) {
    super(vm, id);
    this.bufferLimit = options.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT;
    this.downstreamEnd = options.downstreamEnd ?? true;
    this.onWatermark = options.onWatermark;
  }

  /** Holds the filter's deferred actions (continue, local replies) until the current event is handled. */
  protected abstract beginEvent(): void;
  protected abstract endEvent(): void;
  /** decodeHeaders / encodeHeaders: `d.headers` arrived. */
  protected abstract filterHeaders(d: Direction, endOfStream: boolean): FilterHeadersStatus | undefined;
  /**
   * decodeData / encodeData with `d.chunk` (which the filter may replace); `d.bufferingBody` says
   * its last body callback asked to buffer.
   */
  protected abstract filterData(d: Direction, endOfStream: boolean): FilterDataStatus | undefined;
  /** decodeTrailers / encodeTrailers: `d.trailers` arrived. */
  protected abstract filterTrailers(d: Direction): FilterTrailersStatus | undefined;
  /** Whether a local reply this filter raises while decoding runs through its own encode side. */
  protected abstract seesOwnReply(): boolean;

  // ---- inputs (each map gets the kind Envoy's codec gives it) ---------------------------------

  /** Request headers arrive from downstream. */
  decodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    if (this.closed || this.request.outputEnded || this.request.headers) return;
    headers.inline ??= REQUEST_HEADERS_INLINE;
    this.beginEvent();
    try {
      this.iterateHeaders(this.request, headers, endOfStream);
    } finally {
      this.endEvent();
    }
  }

  /** A request body chunk arrives. */
  decodeData(chunk: Buffer, endOfStream: boolean): void {
    if (this.closed || this.request.outputEnded || this.request.inputEnded) return;
    // A chain counts bytes at its ends; a stream on its own is both ends.
    if (this.downstreamEnd) this.info.requestBodyBytes += chunk.length;
    this.beginEvent();
    try {
      this.iterateData(this.request, chunk, endOfStream);
    } finally {
      this.endEvent();
    }
    this.checkWatermark(this.request);
  }

  /** Request trailers arrive. */
  decodeTrailers(trailers: HeaderMap): void {
    if (this.closed || this.request.outputEnded || this.request.inputEnded) return;
    trailers.inline ??= REQUEST_TRAILERS_INLINE;
    this.beginEvent();
    try {
      this.iterateTrailers(this.request, trailers);
    } finally {
      this.endEvent();
    }
  }

  /** Response headers arrive from upstream (or a router-generated reply). */
  encodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    if (!this.acceptsResponse() || this.response.headers) return;
    headers.inline ??= RESPONSE_HEADERS_INLINE;
    this.info.responseStarted = true;
    const status = Number(headers.get(":status") ?? 0);
    if (status && !this.replying) this.info.responseCode = status;
    if (!this.info.responseCodeDetails) this.info.responseCodeDetails = "via_upstream";
    this.beginEvent();
    try {
      this.iterateHeaders(this.response, headers, endOfStream);
    } finally {
      this.endEvent();
    }
  }

  /** A response body chunk arrives. */
  encodeData(chunk: Buffer, endOfStream: boolean): void {
    if (!this.acceptsResponse() || this.response.inputEnded) return;
    this.beginEvent();
    try {
      this.iterateData(this.response, chunk, endOfStream);
    } finally {
      this.endEvent();
    }
    this.checkWatermark(this.response);
  }

  /** Response trailers arrive. */
  encodeTrailers(trailers: HeaderMap): void {
    if (!this.acceptsResponse() || this.response.inputEnded) return;
    trailers.inline ??= RESPONSE_TRAILERS_INLINE;
    this.beginEvent();
    try {
      this.iterateTrailers(this.response, trailers);
    } finally {
      this.endEvent();
    }
  }

  // Once a local reply answered, the upstream response is not the client's any more; once the
  // stream ended, nothing is.
  private acceptsResponse(): boolean {
    if (this.closed || this.resetDetails !== undefined || this.response.outputEnded) return false;
    return this.localReply === undefined || this.replying;
  }

  // ---- iteration --------------------------------------------------------------------------------

  private iterateHeaders(d: Direction, headers: HeaderMap, endOfStream: boolean): void {
    d.headers = headers;
    if (endOfStream) d.inputEnded = true;
    const status = this.filterHeaders(d, endOfStream);
    switch (status) {
      case undefined:
        return;
      case FilterHeadersStatus.Continue:
        d.stop = Stop.None;
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

  private iterateData(d: Direction, chunk: Buffer, endOfStream: boolean): void {
    if (endOfStream) d.inputEnded = true;
    if (d.stop === Stop.All) {
      // Envoy buffers without calling the filter; the filter sees it on continue.
      d.buffered = concat(d.buffered, chunk);
      this.checkBufferLimit(d);
      return;
    }
    this.runData(d, chunk, endOfStream);
  }

  // Calls the body callback with `provided` (the arriving chunk, or the buffer on a StopAll resume).
  private runData(d: Direction, provided: Buffer, endOfStream: boolean): void {
    const wasBuffering = d.bufferingBody;
    d.chunk = provided;
    const status = this.filterData(d, endOfStream);
    // The filter may have replaced the chunk (or the buffered body).
    provided = d.chunk ?? EMPTY;
    if (status === undefined) return;
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
        // Trailers the filter added in the last body callback follow the body.
        if (endOfStream && d.trailers) this.forwardTrailers(d);
      }
      return;
    }
    d.stop = Stop.Single;
    // The chunk moved into the filter manager's buffer (or was dropped): the filter's view is empty.
    d.chunk = EMPTY;
    if (status === FilterDataStatus.StopIterationNoBuffer) return;
    if (!wasBuffering) d.buffered = concat(d.buffered, provided);
    d.streaming = status === FilterDataStatus.StopIterationAndWatermark;
    d.bufferingBody = status === FilterDataStatus.StopIterationAndBuffer;
    this.checkBufferLimit(d);
  }

  /** Adds a chunk to the filter's buffered body (Envoy's addDecodedData); true when the limit hit. */
  addBuffered(d: Direction, chunk: Buffer): boolean {
    d.buffered = concat(d.buffered, chunk);
    return this.checkBufferLimit(d);
  }

  private iterateTrailers(d: Direction, trailers: HeaderMap): void {
    d.inputEnded = true;
    d.trailers = trailers;
    if (d.stop === Stop.All) return; // handed to the filter on continue
    this.runTrailers(d);
  }

  private runTrailers(d: Direction): void {
    d.trailersSeen = true;
    const status = this.filterTrailers(d);
    if (status === undefined) return;
    if (status !== FilterTrailersStatus.Continue) {
      d.stop = Stop.Single;
      return;
    }
    if (d.stop !== Stop.None) this.continueDirection(d);
    else this.forwardTrailers(d);
  }

  /**
   * Envoy's commonContinue: headers (if held), then the buffered body, then trailers. After
   * StopAllIteration the filter itself sees the buffered body and the trailers first.
   */
  continueDirection(d: Direction): void {
    this.iterateFromStop(d);
    this.checkWatermark(d);
  }

  private iterateFromStop(d: Direction): void {
    if (d.stop === Stop.None || d.outputEnded || this.closed || this.resetDetails !== undefined) return;
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
        this.runData(d, data, end);
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
    if (d.isRequest) {
      this.sink.requestHeaders?.(d.headers, endOfStream);
    } else {
      if (this.downstreamEnd) this.info.responseHeadersSent = true;
      this.sink.responseHeaders?.(d.headers, endOfStream);
    }
  }

  private forwardData(d: Direction, data: Buffer, endOfStream: boolean): void {
    if (d.outputEnded) return;
    if (!d.headersSent) this.sendHeaders(d, false);
    if (endOfStream) d.outputEnded = true;
    if (data.length === 0 && !endOfStream) return;
    if (d.isRequest) {
      this.sink.requestData?.(data, endOfStream);
    } else {
      if (this.downstreamEnd) this.info.responseBodyBytes += data.length;
      this.sink.responseData?.(data, endOfStream);
    }
  }

  private forwardTrailers(d: Direction): void {
    if (d.outputEnded || !d.trailers) return;
    if (!d.headersSent) this.sendHeaders(d, false);
    if (d.buffered.length > 0) {
      const data = d.buffered;
      d.buffered = EMPTY;
      this.forwardData(d, data, false);
    }
    d.outputEnded = true;
    if (d.isRequest) this.sink.requestTrailers?.(d.trailers);
    else this.sink.responseTrailers?.(d.trailers);
  }

  // Envoy's watermark buffer for data held while the filter streams: over the buffer limit its
  // source is paused, and resumed once the held data is down to half of it (or gone: the stream
  // moved on or ended).
  private checkWatermark(d: Direction): void {
    if (!this.onWatermark) return;
    const held = d.streaming && !d.outputEnded && !this.closed ? d.buffered.length : 0;
    if (!d.aboveWatermark && held > this.bufferLimit) {
      d.aboveWatermark = true;
      this.onWatermark(d.isRequest, true);
    } else if (d.aboveWatermark && held <= this.bufferLimit / 2) {
      d.aboveWatermark = false;
      this.onWatermark(d.isRequest, false);
    }
  }

  // Envoy's buffer limit for non-streaming buffering: 413 while decoding; 500 while encoding (a
  // reset once response headers went out). Returns true when the limit hit.
  private checkBufferLimit(d: Direction): boolean {
    if (d.streaming || d.buffered.length <= this.bufferLimit) return false;
    d.buffered = EMPTY;
    d.bufferingBody = false;
    if (d.isRequest) {
      this.sendLocalReply({ statusCode: 413, details: "request_payload_too_large", body: Buffer.from("Payload Too Large"), headers: [], grpcStatus: undefined }, true);
    } else {
      this.sendLocalReply({ statusCode: 500, details: "response_payload_too_large", body: Buffer.from("Internal Server Error"), headers: [], grpcStatus: undefined }, true);
    }
    return true;
  }

  // ---- local replies, resets --------------------------------------------------------------------

  /**
   * Envoy's sendLocalReply: before the response started, the reply travels the encode path —
   * through this filter's own encode side when `viaFilter` and the filter takes it; after the
   * upstream response started but before its headers reached the client, it goes straight to the
   * client; later the stream is reset.
   */
  sendLocalReply(reply: LocalReply, viaFilter: boolean): void {
    if (this.closed || this.resetDetails !== undefined) return;
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
    const { headers, body } = localReplyMessage(reply, this.request.headers);
    this.info.responseCode = Number(headers.get(":status"));
    this.info.responseStarted = true;
    const r = this.response;
    r.headers = undefined;
    r.trailers = undefined;
    r.buffered = EMPTY;
    r.stop = Stop.None;
    r.inputEnded = false;
    this.releaseWatermarks();
    if (viaFilterChain && viaFilter && this.seesOwnReply()) {
      this.replying = true;
      try {
        this.encodeHeaders(headers, body === undefined);
        if (body !== undefined && !r.outputEnded) this.encodeData(body, true);
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

  /** The stream ended: held data no longer holds back its source. */
  protected releaseWatermarks(): void {
    this.checkWatermark(this.request);
    this.checkWatermark(this.response);
  }

  /** Resets the stream (both directions end; the sink hears about it). */
  reset(details: string): void {
    if (this.resetDetails !== undefined || this.closed) return;
    this.resetDetails = details;
    if (!this.info.responseCodeDetails || this.info.responseCodeDetails === "via_upstream") this.info.responseCodeDetails = details;
    this.request.outputEnded = true;
    this.response.outputEnded = true;
    this.releaseWatermarks();
    this.sink.reset?.(details);
  }
}
