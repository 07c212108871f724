// A chain of plugins on one HTTP stream, as Envoy's http_connection_manager runs several Wasm
// filters: requests go through the plugins in order, responses in reverse order. A local reply
// from plugin i goes back through plugins i … 0 only.
import type { Plugin } from "../plugin.js";
import type { HeaderMap } from "../state/header_map.js";
import type { HttpStream, HttpStreamOptions, HttpStreamSink } from "../state/http_stream.js";
import { newStreamInfo, type StreamInfo, type StreamInfoInit } from "../state/stream_info.js";

/** The two ends of a chain: the upstream side and the client side. */
export interface ChainEnds {
  /** The request, as the last plugin let it through. */
  upstream: Pick<HttpStreamSink, "requestHeaders" | "requestData" | "requestTrailers">;
  /** The response, as the first plugin let it through. */
  downstream: Pick<HttpStreamSink, "responseHeaders" | "responseData" | "responseTrailers">;
  /** Any plugin reset the stream. */
  reset(details: string): void;
}

/** One stream through every plugin of a chain. */
export class FilterChain {
  readonly streams: HttpStream[] = [];
  /** Facts shared by every plugin of the chain (one Envoy stream). */
  readonly info: StreamInfo;

  constructor(plugins: Plugin[], private readonly ends: ChainEnds, info?: StreamInfoInit, options?: HttpStreamOptions & { worker?: number }) {
    this.info = newStreamInfo(info);
    const n = plugins.length;
    const toClientData = (d: Buffer, end: boolean) => {
      this.info.responseBodyBytes += d.length;
      ends.downstream.responseData?.(d, end);
    };
    // What reaches the client decides whether a local reply can still be sent or must reset.
    const toClient = (h: HeaderMap, end: boolean) => {
      this.info.responseHeadersSent = true;
      ends.downstream.responseHeaders?.(h, end);
    };
    for (let i = 0; i < n; i++) {
      const sink: HttpStreamSink = {
        requestHeaders: (h, end) => (i + 1 < n ? this.streams[i + 1]!.decodeHeaders(h, end) : ends.upstream.requestHeaders?.(h, end)),
        requestData: (d, end) => (i + 1 < n ? this.streams[i + 1]!.decodeData(d, end) : ends.upstream.requestData?.(d, end)),
        requestTrailers: (t) => (i + 1 < n ? this.streams[i + 1]!.decodeTrailers(t) : ends.upstream.requestTrailers?.(t)),
        responseHeaders: (h, end) => (i > 0 ? this.streams[i - 1]!.encodeHeaders(h, end) : toClient(h, end)),
        responseData: (d, end) => (i > 0 ? this.streams[i - 1]!.encodeData(d, end) : toClientData(d, end)),
        responseTrailers: (t) => (i > 0 ? this.streams[i - 1]!.encodeTrailers(t) : ends.downstream.responseTrailers?.(t)),
        reset: (details) => ends.reset(details),
      };
      // Every plugin of one stream sees the same attributes.
      this.streams.push(plugins[i]!.newHttpStream(sink, this.info, { ...options, downstreamEnd: false }));
    }
  }

  // With no plugins, events go straight through.
  private get first(): HttpStream | undefined {
    return this.streams[0];
  }

  private get last(): HttpStream | undefined {
    return this.streams[this.streams.length - 1];
  }

  /** Request headers from the client. */
  decodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    if (this.first) this.first.decodeHeaders(headers, endOfStream);
    else this.ends.upstream.requestHeaders?.(headers, endOfStream);
  }

  decodeData(data: Buffer, endOfStream: boolean): void {
    this.info.requestBodyBytes += data.length;
    if (this.first) this.first.decodeData(data, endOfStream);
    else this.ends.upstream.requestData?.(data, endOfStream);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.first) this.first.decodeTrailers(trailers);
    else this.ends.upstream.requestTrailers?.(trailers);
  }

  /** Response headers from the upstream (or a router-generated reply). */
  encodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    if (this.last) return this.last.encodeHeaders(headers, endOfStream);
    this.info.responseHeadersSent = true;
    this.ends.downstream.responseHeaders?.(headers, endOfStream);
  }

  encodeData(data: Buffer, endOfStream: boolean): void {
    if (this.last) return this.last.encodeData(data, endOfStream);
    this.info.responseBodyBytes += data.length;
    this.ends.downstream.responseData?.(data, endOfStream);
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.last) this.last.encodeTrailers(trailers);
    else this.ends.downstream.responseTrailers?.(trailers);
  }

  /** Ends the stream in every plugin (on_log, on_done, on_delete), in filter order. */
  complete(): void {
    for (const s of this.streams) s.complete();
  }
}
