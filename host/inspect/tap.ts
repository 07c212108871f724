// What the dev proxy's request inspector listens to (host/inspect/recorder.ts implements it). The
// proxy's per-request code holds a tap only while an inspector page is open; with none open it
// holds undefined and each hook is one null check (docs/debugging.md, "Cost").
import type { HeaderMap } from "../values/header_map.js";
import type { StreamInfo } from "../values/stream_info.js";
import type { LocalReply } from "../vm/contexts.js";

/**
 * One stream through a chain of plugins. Positions: on the request side, the index of the filter
 * whose output this is, -1 for what the client sent; on the response side, the index of the filter
 * whose output this is, the chain's length for what the upstream (or the router) sent.
 */
export interface ChainTap {
  requestHeaders(at: number, headers: HeaderMap, endOfStream: boolean): void;
  requestData(at: number, data: Buffer, endOfStream: boolean): void;
  requestTrailers(at: number, trailers: HeaderMap): void;
  /**
   * `localReply`: the reply the filter at `at` raised (its output is that reply); `routerDetails`:
   * why the router answered itself (direct response, upstream failure), for what enters the chain.
   */
  responseHeaders(at: number, headers: HeaderMap, endOfStream: boolean, localReply?: LocalReply, routerDetails?: string): void;
  responseData(at: number, data: Buffer, endOfStream: boolean): void;
  responseTrailers(at: number, trailers: HeaderMap): void;
  /** The stream was reset. */
  reset(details: string): void;
  /** Filter `at` got a fresh VM for this stream (FAIL_RELOAD after a failure). */
  reloaded(at: number): void;
  /** Work of this stream starts (its access logs, on_done): what is logged now belongs to it. */
  enter(): void;
  /** The stream ended. */
  complete(info: StreamInfo): void;
}

/** An HTTP callout leaving the proxy, and its outcome. */
export interface CalloutTap {
  /** A callout starts; returns what to call with its outcome (undefined: not recorded). */
  send(cluster: string, headers: HeaderMap, body: Buffer): ((outcome: { headers: HeaderMap; body: Buffer } | { reset: string }) => void) | undefined;
}
