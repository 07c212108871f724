// One HTTP stream of the test API: drive it callback by callback (callOnRequestHeaders, …) and read
// back what the plugin did and what it let through to the upstream and to the client.
import type { CompleteOptions, HttpStream, LastActions } from "../streams/http_stream.js";
import { HeaderMap, type HeadersInit } from "../values/header_map.js";
import type { PropertyLiteral, StreamInfoInit } from "../values/stream_info.js";
import { fromWire, headersFromUser } from "./encoding.js";
import type { TestDriver } from "./driver.js";

/** A local reply as the client received it. */
export interface TestLocalResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Response code details (`wasm_fail_stream` when the VM failed). */
  details: string;
  /** gRPC status, when one was given. */
  grpcStatus: number | undefined;
}

/** What went out one side of the stream. */
export interface TestSide {
  headers: HeaderMap | undefined;
  body: Buffer;
  trailers: HeaderMap | undefined;
  /** The side saw end of stream. */
  ended: boolean;
}

const bodyBytes = (b: string | Uint8Array | undefined): Buffer =>
  b === undefined ? Buffer.alloc(0) : typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b);

export class TestHttpStream {
  /** The underlying host stream (for advanced inspection). */
  readonly stream: HttpStream;
  /** What the plugin let through to the upstream. */
  readonly upstream: TestSide = { headers: undefined, body: Buffer.alloc(0), trailers: undefined, ended: false };
  /** What the client received. */
  readonly downstream: TestSide = { headers: undefined, body: Buffer.alloc(0), trailers: undefined, ended: false };

  /** The stream was reset (close_stream, a failure after response headers went out): its details. */
  resetDetails: string | undefined;

  constructor(private readonly t: TestDriver, info?: StreamInfoInit) {
    const up = this.upstream;
    const down = this.downstream;
    const append = (side: TestSide, data: Buffer, end: boolean) => {
      side.body = side.body.length ? Buffer.concat([side.body, data]) : Buffer.from(data);
      side.ended ||= end;
    };
    this.stream = t.plugin.newHttpStream({
      requestHeaders: (h, end) => { up.headers = h; up.ended ||= end; },
      requestData: (d, end) => append(up, d, end),
      requestTrailers: (tr) => { up.trailers = tr; up.ended = true; },
      responseHeaders: (h, end) => { down.headers = h; down.ended ||= end; },
      responseData: (d, end) => append(down, d, end),
      responseTrailers: (tr) => { down.trailers = tr; down.ended = true; },
      reset: (details) => { this.resetDetails = details; },
    }, info);
  }

  private after<T>(value: T): T {
    this.t.runPending();
    return value;
  }

  /** Sends request headers through the plugin; returns what proxy_on_request_headers returned (0 Continue, 1 Pause). */
  callOnRequestHeaders(headers: HeadersInit, endOfStream = false): number | undefined {
    this.stream.decodeHeaders(headersFromUser(headers), endOfStream);
    return this.after(this.stream.lastActions.requestHeaders);
  }

  /** Sends a request body chunk; returns what proxy_on_request_body returned. */
  callOnRequestBody(body: string | Uint8Array, endOfStream = false): number | undefined {
    delete this.stream.lastActions.requestBody;
    this.stream.decodeData(bodyBytes(body), endOfStream);
    return this.after(this.stream.lastActions.requestBody);
  }

  /** Sends request trailers; returns what proxy_on_request_trailers returned. */
  callOnRequestTrailers(trailers: HeadersInit): number | undefined {
    this.stream.decodeTrailers(headersFromUser(trailers));
    return this.after(this.stream.lastActions.requestTrailers);
  }

  /** Sends response headers; returns what proxy_on_response_headers returned. */
  callOnResponseHeaders(headers: HeadersInit, endOfStream = false): number | undefined {
    this.stream.encodeHeaders(headersFromUser(headers), endOfStream);
    return this.after(this.stream.lastActions.responseHeaders);
  }

  /** Sends a response body chunk; returns what proxy_on_response_body returned. */
  callOnResponseBody(body: string | Uint8Array, endOfStream = false): number | undefined {
    delete this.stream.lastActions.responseBody;
    this.stream.encodeData(bodyBytes(body), endOfStream);
    return this.after(this.stream.lastActions.responseBody);
  }

  /** Sends response trailers; returns what proxy_on_response_trailers returned. */
  callOnResponseTrailers(trailers: HeadersInit): number | undefined {
    this.stream.encodeTrailers(headersFromUser(trailers));
    return this.after(this.stream.lastActions.responseTrailers);
  }

  /**
   * Ends the stream: proxy_on_log, proxy_on_done, proxy_on_delete. With `requestComplete: false`
   * (a stream that ended before the request completed) Envoy skips proxy_on_log.
   */
  complete(options?: CompleteOptions): void {
    this.stream.complete(options);
    this.t.runPending();
  }

  /** Sets a property of this stream only, by dotted path. */
  setProperty(path: string, value: PropertyLiteral): void {
    this.stream.info.extra.set(path, value);
  }

  /** Request headers as the plugin left them. */
  get requestHeaders(): HeaderMap {
    return fromWire(this.stream.request.headers);
  }

  /** Request trailers as the plugin left them. */
  get requestTrailers(): HeaderMap {
    return fromWire(this.stream.request.trailers);
  }

  /** Response headers as the plugin left them (a local reply's, if one was sent). */
  get responseHeaders(): HeaderMap {
    return fromWire(this.stream.response.headers);
  }

  /** Response trailers as the plugin left them. */
  get responseTrailers(): HeaderMap {
    return fromWire(this.stream.response.trailers);
  }

  /** Request body that went upstream, as text. */
  get requestBody(): string {
    return this.upstream.body.toString("utf8");
  }

  /** Response body the client received, as text. */
  get responseBody(): string {
    return this.downstream.body.toString("utf8");
  }

  /** The local reply, if the plugin (or the host, on a failure) sent one. */
  get localResponse(): TestLocalResponse | undefined {
    const r = this.stream.localReply;
    if (!r) return undefined;
    return {
      status: r.statusCode,
      body: r.body.toString("utf8"),
      headers: fromWire(new HeaderMap(r.headers.reduce<string[]>((out, [k, v]) => (out.push(k, v), out), []))).toObject(),
      details: r.details,
      grpcStatus: r.grpcStatus,
    };
  }

  /** Raw values the plugin's callbacks returned, last of each kind. */
  get actions(): LastActions {
    return this.stream.lastActions;
  }

  /**
   * Filter state of the stream as text: `key` is the full key (`wasm.my_key`) or the name a plugin
   * gave proxy_set_property (`my_key`, stored as `wasm.my_key`).
   */
  filterState(key: string): string | undefined {
    const fs = this.stream.info.filterState;
    return (fs.get(key) ?? fs.get(`wasm.${key}`))?.toString("utf8");
  }
}
