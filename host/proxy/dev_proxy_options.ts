// What the dev proxy is started with and what a running one offers: the options and handle that
// the HTTP proxy (dev_proxy.ts), the TCP proxy (tcp_proxy.ts) and their shared listener code
// (proxy_host.ts) all speak.
import type { ProxyWasmHost, HostOptions } from "../host.js";
import type { RecorderLimits } from "../inspect/recorder.js";
import type { Plugin, PluginOptions } from "../plugin/plugin.js";
import type { MetadataInit, NodeInfo } from "../values/envoy_messages.js";
import type { PropertyLiteral } from "../values/stream_info.js";

/** One plugin of the chain: its module and its settings. */
export interface DevProxyPlugin extends PluginOptions {
  wasm: Uint8Array | string;
  /** An HTTP filter (default) or a network filter: network plugins make a TCP proxy (tcp_proxy.ts). */
  type?: "http" | "network";
}

/** Options of the dev proxy. */
export interface DevProxyOptions {
  /** Plugins, in filter order. */
  plugins: DevProxyPlugin[];
  /** Listener address; default 127.0.0.1:10000 (port 0 = any free port). */
  host?: string;
  port?: number;
  /** Admin listener; default 127.0.0.1:9901; false = none. */
  admin?: { host?: string; port?: number } | false;
  /** Where requests go (http:// or https:// base URL). Without it: the direct response. */
  upstream?: string;
  /** Reply when there is no upstream; default 200 with an empty body. */
  directResponse?: { status: number; body?: string };
  /**
   * Clusters plugins call out to: name → base URL. HTTP callouts (proxy_http_call) go there over
   * HTTP/1.1, gRPC calls and streams (proxy_grpc_call / proxy_grpc_stream) over HTTP/2
   * (cleartext h2c for http://, TLS for https://).
   */
  clusters?: Record<string, string>;
  /** The proxy's node (`node`, `xds.node`): id, cluster, metadata, locality. */
  node?: NodeInfo;
  /** Listener direction (`listener_direction`): "inbound" (1), "outbound" (2) or a number. */
  listenerDirection?: HostOptions["listenerDirection"];
  /** Listener metadata by filter namespace (`listener_metadata`). */
  listenerMetadata?: MetadataInit;
  /** Property values pinned by dotted path (`listener_direction`, `request.id`, …). */
  properties?: Record<string, PropertyLiteral>;
  /** Route timeout in ms (Envoy's default 15 s); 0 = none. */
  routeTimeoutMs?: number;
  /**
   * Envoy's `stream_idle_timeout` in ms (default 5 minutes; 0 = none): a stream with no activity
   * either way for this long ends — a 504 (request complete) or 408 (not) `stream timeout` before
   * response headers went out, a reset after — so a stream a plugin never resumes, a client that
   * stopped reading or an upstream that stopped reading does not stay forever
   * (docs/envoy/flow-control.md).
   */
  streamIdleTimeoutMs?: number;
  /**
   * How long close() lets requests in flight finish before closing their connections, in ms
   * (default 5 s): a stream a plugin never resumes must not keep the proxy from stopping.
   */
  drainTimeoutMs?: number;
  /**
   * Sink of access log lines, one per finished HTTP stream in Envoy's default format
   * (host/proxy/access_log.ts); none by default.
   */
  onAccessLog?: (line: string) => void;
  /** Log level and sink of plugin logs. */
  logLevel?: HostOptions["logLevel"];
  onLog?: HostOptions["onLog"];
  /**
   * Tag extraction for /stats/prometheus. Default: Istio's bootstrap extraction for istio_* stats
   * (host/istio/tag_extractor.ts), so Istio-encoded stat names print as labelled series.
   */
  tagExtractor?: HostOptions["tagExtractor"];
  /** A debugger may pause plugin code (`pwasm run --inspect`): HostOptions.debugging. */
  debugging?: boolean;
  /**
   * Wall-clock limit of one plugin callback in ms (default 1000; 0: none): a callback that runs
   * longer fails its VM, and the failure policy applies. While one runs every connection waits, so
   * this is also how long the proxy can stall (docs/deadlines.md). A plugin's own
   * callbackTimeLimitMs wins.
   */
  callbackTimeLimitMs?: number;
  /**
   * The request inspector page on the admin listener (`/inspector`): default on. It records only
   * while a page is open; `false` leaves the routes out.
   */
  inspector?: boolean | RecorderLimits;
}

/** A running dev proxy. */
export interface DevProxy {
  /** http://host:port of the listener. */
  readonly url: string;
  /** http://host:port of the admin listener, if any. */
  readonly adminUrl: string | undefined;
  readonly host: ProxyWasmHost;
  /** The plugins in filter order (new requests use these). */
  readonly plugins: Plugin[];
  /** Requests in flight. */
  readonly inFlight: number;
  /**
   * Swaps the plugin chain: new requests use `plugins`; requests in flight finish on the old ones,
   * which shut down (proxy_on_done) once their last stream completes.
   */
  replacePlugins(plugins: Plugin[]): void;
  /** Stops listening, lets requests in flight finish (up to the drain time), shuts plugins down. */
  close(): Promise<void>;
}
