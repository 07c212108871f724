// A chain of plugins on one HTTP stream, as Envoy's http_connection_manager runs several Wasm
// filters: requests go through the plugins in order, responses in reverse order. A local reply
// from plugin i goes back through plugins i … 0 only.
import type { Plugin } from "../plugin/plugin.js";
import type { HeaderMap } from "../values/header_map.js";
import type { HttpStream, HttpStreamOptions, HttpStreamSink, StreamMaps } from "../streams/http_stream.js";
import { newStreamInfo, type StreamInfo, type StreamInfoInit } from "../values/stream_info.js";
import type { ChainTap } from "../inspect/tap.js";

/** The two ends of a chain: the upstream side and the client side. */
export interface ChainEnds {
  /** The request, as the last plugin let it through. */
  upstream: Pick<HttpStreamSink, "requestHeaders" | "requestData" | "requestTrailers">;
  /** The response, as the first plugin let it through. */
  downstream: Pick<HttpStreamSink, "responseHeaders" | "responseData" | "responseTrailers">;
  /** Any plugin reset the stream. */
  reset(details: string): void;
}

// Where plugin i's output goes: plugin i+1 (requests) and i-1 (responses), or the chain's ends.
// A class, not closures: one allocation per plugin per stream on the per-request path.
class ChainLink implements HttpStreamSink {
  constructor(private readonly chain: FilterChain, private readonly i: number) {}

  requestHeaders(h: HeaderMap, end: boolean): void {
    const tap = this.chain.tap;
    if (tap) tap.requestHeaders(this.i, h, end);
    const next = this.chain.streams[this.i + 1];
    if (next) next.decodeHeaders(h, end);
    else this.chain.ends.upstream.requestHeaders?.(h, end);
  }

  requestData(d: Buffer, end: boolean): void {
    const tap = this.chain.tap;
    if (tap) tap.requestData(this.i, d, end);
    const next = this.chain.streams[this.i + 1];
    if (next) next.decodeData(d, end);
    else this.chain.ends.upstream.requestData?.(d, end);
  }

  requestTrailers(t: HeaderMap): void {
    const tap = this.chain.tap;
    if (tap) tap.requestTrailers(this.i, t);
    const next = this.chain.streams[this.i + 1];
    if (next) next.decodeTrailers(t);
    else this.chain.ends.upstream.requestTrailers?.(t);
  }

  responseHeaders(h: HeaderMap, end: boolean): void {
    const tap = this.chain.tap;
    if (tap) tap.responseHeaders(this.i, h, end, this.chain.streams[this.i]!.localReply);
    if (this.i > 0) this.chain.streams[this.i - 1]!.encodeHeaders(h, end);
    else this.chain.toClient(h, end);
  }

  responseData(d: Buffer, end: boolean): void {
    const tap = this.chain.tap;
    if (tap) tap.responseData(this.i, d, end);
    if (this.i > 0) this.chain.streams[this.i - 1]!.encodeData(d, end);
    else this.chain.toClientData(d, end);
  }

  responseTrailers(t: HeaderMap): void {
    const tap = this.chain.tap;
    if (tap) tap.responseTrailers(this.i, t);
    if (this.i > 0) this.chain.streams[this.i - 1]!.encodeTrailers(t);
    else this.chain.toClientTrailers(t);
  }

  reset(details: string): void {
    const tap = this.chain.tap;
    if (tap) tap.reset(details);
    this.chain.ends.reset(details);
  }
}

/** One stream through every plugin of a chain. */
export class FilterChain {
  readonly streams: HttpStream[] = [];
  /** Facts shared by every plugin of the chain (one Envoy stream). */
  readonly info: StreamInfo;
  /** The stream's maps as the client's side of the chain saw them last: what every plugin's on_log reads. */
  readonly maps: StreamMaps = {};
  /** The request inspector's recording of this stream, while an inspector page is open. */
  readonly tap: ChainTap | undefined;

  constructor(plugins: Plugin[], readonly ends: ChainEnds, info?: StreamInfoInit, options?: HttpStreamOptions & { worker?: number; tap?: ChainTap }) {
    this.info = newStreamInfo(info);
    const tap = options?.tap;
    this.tap = tap;
    const streamOptions = { ...options, downstreamEnd: false };
    for (let i = 0; i < plugins.length; i++) {
      const p = plugins[i]!;
      // A recorded stream notes a VM the plugin reloaded for it (FAIL_RELOAD).
      const reloads = tap ? p.reloadStats.success : 0;
      // Every plugin of one stream sees the same attributes.
      this.streams.push(p.newHttpStream(new ChainLink(this, i), this.info, streamOptions));
      if (tap && p.reloadStats.success !== reloads) tap.reloaded(i);
    }
  }

  // What reaches the client decides whether a local reply can still be sent or must reset.
  /** @internal Response headers leave the first plugin. */
  toClient(h: HeaderMap, end: boolean): void {
    this.info.responseHeadersSent = true;
    this.maps.responseHeaders = h;
    this.ends.downstream.responseHeaders?.(h, end);
  }

  /** @internal Response trailers leave the first plugin. */
  toClientTrailers(t: HeaderMap): void {
    this.maps.responseTrailers = t;
    this.ends.downstream.responseTrailers?.(t);
  }

  /** @internal Response data leaves the first plugin. */
  toClientData(d: Buffer, end: boolean): void {
    this.info.responseBodyBytes += d.length;
    this.ends.downstream.responseData?.(d, end);
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
    this.maps.requestHeaders = headers;
    if (this.tap) this.tap.requestHeaders(-1, headers, endOfStream);
    if (this.first) this.first.decodeHeaders(headers, endOfStream);
    else this.ends.upstream.requestHeaders?.(headers, endOfStream);
  }

  decodeData(data: Buffer, endOfStream: boolean): void {
    this.info.requestBodyBytes += data.length;
    if (this.tap) this.tap.requestData(-1, data, endOfStream);
    if (this.first) this.first.decodeData(data, endOfStream);
    else this.ends.upstream.requestData?.(data, endOfStream);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.tap) this.tap.requestTrailers(-1, trailers);
    if (this.first) this.first.decodeTrailers(trailers);
    else this.ends.upstream.requestTrailers?.(trailers);
  }

  // Once any plugin answered with a local reply, the upstream's response reaches no plugin (Envoy's
  // filter manager stops encoding it: docs/envoy/http-stream.md, "Local replies").
  private replied(): boolean {
    for (const s of this.streams) if (s.localReply !== undefined) return true;
    return false;
  }

  /** Response headers from the upstream (or a router-generated reply). */
  encodeHeaders(headers: HeaderMap, endOfStream: boolean): void {
    if (this.tap) this.tap.responseHeaders(this.streams.length, headers, endOfStream, undefined, this.info.responseCodeDetails);
    if (this.last) {
      if (!this.replied()) this.last.encodeHeaders(headers, endOfStream);
    } else {
      this.toClient(headers, endOfStream);
    }
  }

  encodeData(data: Buffer, endOfStream: boolean): void {
    if (this.tap) this.tap.responseData(this.streams.length, data, endOfStream);
    if (this.last) {
      if (!this.replied()) this.last.encodeData(data, endOfStream);
    } else {
      this.toClientData(data, endOfStream);
    }
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.tap) this.tap.responseTrailers(this.streams.length, trailers);
    if (this.last) {
      if (!this.replied()) this.last.encodeTrailers(trailers);
    } else {
      this.toClientTrailers(trailers);
    }
  }

  /**
   * Ends the stream in every plugin, in filter order: every plugin's on_log first (Envoy's access
   * logs), then each plugin's on_done and on_delete (Envoy destroys the filters).
   */
  complete(): void {
    const tap = this.tap;
    if (tap) tap.enter();
    const options = { streamMaps: this.maps };
    for (const s of this.streams) s.logEnd(options);
    for (const s of this.streams) s.destroy();
    if (tap) tap.complete(this.info);
  }
}
