// Facts about one stream (or connection) that Envoy exposes as attributes: request.*, response.*,
// source.*, destination.*, connection.*, upstream.*, the route, virtual host and cluster, dynamic
// metadata and filter state. Every plugin of a filter chain shares the same StreamInfo, as every
// filter of an Envoy stream shares its StreamInfo (so metadata-exchange writes filter state the
// stats filter reads).
import type { MetadataInit, LocalityInfo } from "./envoy_messages.js";
import type { HeaderMap } from "./header_map.js";
import type { JsonObject } from "./protobuf.js";
import type { PropertyLiteral } from "./property_values.js";

export type { PropertyLiteral } from "./property_values.js";

/** An address and port as Envoy reports them (`source.address` is "ip:port"). */
export interface Endpoint {
  ip: string;
  port: number;
}

/** TLS facts of a connection (connection.* for downstream, upstream.* for upstream). */
export interface TlsInfo {
  /** e.g. "TLSv1.3". */
  version?: string;
  subjectLocalCertificate?: string;
  subjectPeerCertificate?: string;
  uriSanLocalCertificate?: string;
  uriSanPeerCertificate?: string;
  dnsSanLocalCertificate?: string;
  dnsSanPeerCertificate?: string;
  sha256PeerCertificateDigest?: string;
  /** URL-encoded PEM of the peer certificate, when one was presented. */
  peerCertificate?: string;
}

/** What the host knows about one stream or connection. */
export interface StreamInfo {
  /** Request start, ms since epoch. */
  startTime: number;
  /** "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3". */
  protocol: string;
  /** Downstream peer. */
  source: Endpoint;
  /** Local address the request arrived on. */
  destination: Endpoint;
  /** Connection id (Envoy's `connection.id`). */
  connectionId: number;
  /** The downstream peer presented a certificate over TLS. */
  mtls: boolean;
  /** TLS SNI. */
  requestedServerName: string;
  /** Downstream TLS, if the connection is TLS. */
  tls?: TlsInfo;
  /**
   * Name of the route the request matched (`xds.route_name`); "" for a route without a name.
   * Undefined: no route (a TCP connection, or no route matched) — the route and virtual host
   * attributes are then NOT_FOUND.
   */
  routeName?: string;
  routeMetadata?: MetadataInit;
  /** Name of the matched route's virtual host (`xds.virtual_host_name`). */
  virtualHostName?: string;
  virtualHostMetadata?: MetadataInit;
  /** Cluster the request is routed to (`xds.cluster_name`); "" when none (a direct response). */
  clusterName: string;
  clusterMetadata?: MetadataInit;
  /** Endpoints of that cluster (`upstream.num_endpoints`; default 1 when there is a cluster). */
  clusterEndpoints?: number;
  /** Listener filter chain name (`xds.filter_chain_name`; default ""). */
  filterChainName?: string;
  /** Upstream host address, once chosen. */
  upstream: Endpoint | undefined;
  /**
   * The router or tcp_proxy started an upstream request (Envoy's upstream info exists), maybe
   * before a host is chosen: tcp_proxy has one from a connection's start (docs/envoy/
   * properties.md). Default: whether `upstream` is set.
   */
  upstreamRequested?: boolean;
  /** Local address of the upstream connection. */
  upstreamLocalAddress?: Endpoint;
  /**
   * Metadata of the upstream host (`xds.upstream_host_metadata`). An upstream host without any
   * (every host of a static cluster without endpoint metadata) is SERIALIZATION_FAILURE in Envoy.
   */
  upstreamHostMetadata?: MetadataInit;
  upstreamHostLocalityMetadata?: MetadataInit;
  upstreamLocality?: LocalityInfo;
  upstreamTls?: TlsInfo;
  upstreamTransportFailureReason?: string;
  /** Upstream request attempts (`upstream.request_attempt_count`). */
  attemptCount?: number;
  /** Response code, once known (0 = none). */
  responseCode: number;
  /** Response code details (`via_upstream`, `wasm_fail_stream`, …). */
  responseCodeDetails: string;
  /** Envoy response flags short string (e.g. `UH`, `UF,URX`; `-` when none). */
  responseFlags: string;
  /** Body bytes received from downstream / sent downstream. */
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** First byte sent upstream and last byte received from upstream (ms since epoch). */
  upstreamRequestStart?: number;
  upstreamResponseEnd?: number;
  /** From the upstream request's start until a connection was ready for it, ms (`upstream.cx_pool_ready_duration`). */
  upstreamPoolReadyMs?: number;
  /** Request complete time (ms since epoch), once the stream finished. */
  endTime: number | undefined;
  /** Host bookkeeping: the response started (upstream answered or a local reply began). */
  responseStarted?: boolean;
  /** Host bookkeeping: response headers reached the client (local replies now reset the stream). */
  responseHeadersSent?: boolean;
  /** Dynamic metadata by filter namespace (`metadata`). */
  dynamicMetadata: Map<string, JsonObject>;
  /** Filter state by full key (`wasm.<name>` for values written with proxy_set_property). */
  filterState: Map<string, Buffer>;
  /** Upstream filter state by full key (`upstream_filter_state`). */
  upstreamFilterState: Map<string, Buffer>;
  /** Attribute values pinned by dotted path (test API, `--property`); they win over computed ones. */
  extra: Map<string, PropertyLiteral>;
}

/** Options for a new StreamInfo: any field, with dynamic metadata and filter state as plain objects. */
export type StreamInfoInit = Partial<Omit<StreamInfo, "dynamicMetadata" | "filterState" | "upstreamFilterState" | "extra">> & {
  dynamicMetadata?: Map<string, JsonObject> | MetadataInit;
  filterState?: Map<string, Buffer> | Record<string, string | Uint8Array>;
  upstreamFilterState?: Map<string, Buffer> | Record<string, string | Uint8Array>;
  extra?: Map<string, PropertyLiteral> | Record<string, PropertyLiteral>;
};

let nextConnectionId = 1;

const toMap = <T>(v: Map<string, T> | Record<string, T> | undefined): Map<string, T> =>
  v === undefined ? new Map() : v instanceof Map ? v : new Map(Object.entries(v));

const toBuffers = (v: Map<string, Buffer> | Record<string, string | Uint8Array> | undefined): Map<string, Buffer> =>
  v === undefined ? new Map() : v instanceof Map ? v : new Map(Object.entries(v).map(([k, x]) => [k, typeof x === "string" ? Buffer.from(x, "utf8") : Buffer.from(x)]));

// The stream's maps are made on first use: most requests never touch them, and four Maps cost
// about a tenth of a request through a small plugin.
class LazyStreamInfo implements StreamInfo {
  startTime = Date.now();
  protocol = "HTTP/1.1";
  source: Endpoint = { ip: "127.0.0.1", port: 50000 };
  destination: Endpoint = { ip: "127.0.0.1", port: 10000 };
  connectionId = nextConnectionId++;
  mtls = false;
  requestedServerName = "";
  clusterName = "";
  upstream: Endpoint | undefined = undefined;
  responseCode = 0;
  responseCodeDetails = "";
  responseFlags = "-";
  requestBodyBytes = 0;
  responseBodyBytes = 0;
  endTime: number | undefined = undefined;
  private dm: Map<string, JsonObject> | undefined = undefined;
  private fs: Map<string, Buffer> | undefined = undefined;
  private ufs: Map<string, Buffer> | undefined = undefined;
  private ex: Map<string, PropertyLiteral> | undefined = undefined;

  get dynamicMetadata(): Map<string, JsonObject> { return (this.dm ??= new Map()); }
  set dynamicMetadata(v: Map<string, JsonObject>) { this.dm = v; }
  get filterState(): Map<string, Buffer> { return (this.fs ??= new Map()); }
  set filterState(v: Map<string, Buffer>) { this.fs = v; }
  get upstreamFilterState(): Map<string, Buffer> { return (this.ufs ??= new Map()); }
  set upstreamFilterState(v: Map<string, Buffer>) { this.ufs = v; }
  get extra(): Map<string, PropertyLiteral> { return (this.ex ??= new Map()); }
  set extra(v: Map<string, PropertyLiteral>) { this.ex = v; }
}

/** A fresh StreamInfo with loopback defaults. */
export function newStreamInfo(init?: StreamInfoInit): StreamInfo {
  const info = new LazyStreamInfo();
  if (init === undefined) return info;
  const { dynamicMetadata, filterState, upstreamFilterState, extra, ...rest } = init;
  Object.assign(info, rest);
  if (dynamicMetadata !== undefined) info.dynamicMetadata = toMap(dynamicMetadata);
  if (filterState !== undefined) info.filterState = toBuffers(filterState);
  if (upstreamFilterState !== undefined) info.upstreamFilterState = toBuffers(upstreamFilterState);
  if (extra !== undefined) info.extra = toMap(extra);
  return info;
}

/** True for a complete StreamInfo (as opposed to options for one). */
export function isStreamInfo(v: unknown): v is StreamInfo {
  if (v instanceof LazyStreamInfo) return true; // without making its maps
  return typeof v === "object" && v !== null && (v as StreamInfo).filterState instanceof Map && (v as StreamInfo).extra instanceof Map;
}

// Envoy's legacy response-flag bits (response.flags), by short name.
const RESPONSE_FLAG_BITS: Record<string, number> = {
  LH: 0x1, UH: 0x2, UT: 0x4, LR: 0x8, UR: 0x10, UF: 0x20, UC: 0x40, UO: 0x80, NR: 0x100, DI: 0x200,
  FI: 0x400, RL: 0x800, UAEX: 0x1000, RLSE: 0x2000, DC: 0x4000, URX: 0x8000, SI: 0x10000, IH: 0x20000,
  DPE: 0x40000, UMSDR: 0x80000, RFCF: 0x100000, NFCF: 0x200000, DT: 0x400000, UPE: 0x800000,
  NC: 0x1000000, OM: 0x2000000, DF: 0x4000000,
};

/** The response.flags bit set of a flags string such as "UF,URX". */
export function responseFlagBits(flags: string): number {
  let bits = 0;
  for (const f of flags.split(",")) bits |= RESPONSE_FLAG_BITS[f.trim()] ?? 0;
  return bits;
}

/** What a stream context offers to property lookups. Root contexts have none. */
export interface PropertyScope {
  info: StreamInfo;
  /** Request headers while the plugin may see them (undefined once continued, as in Envoy). */
  requestHeaders: HeaderMap | undefined;
  responseHeaders: HeaderMap | undefined;
  responseTrailers: HeaderMap | undefined;
}
