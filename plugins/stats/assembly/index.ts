// stats: Istio's standard metrics (istio_requests_total, …, istio_tcp_*) from an AssemblyScript
// filter, with the 25 labels Istio computes, encoded into the stat name the way Istio's Wasm stats
// plugin did (`tag=.=value;.;…istio_<metric>`) so Istio's bootstrap tag extraction (or pwasm's
// dev proxy) turns them into Prometheus labels.
//
// Root ids as in Istio: `stats_outbound` (client side, reporter="source") and `stats_inbound`
// (server side, reporter="destination"); any other root id follows `listener_direction`.
// The same root serves HTTP filters and TCP network filters.
import {
  Action, HttpContext, MetricType, RootContext, defineMetric, logDebug, logInfo, registerRootContext,
} from "pwasm/sdk";
import { proxy_increment_metric, proxy_record_metric, proxy_set_effective_context } from "pwasm/sdk/imports";
import { readLocalNodeMetadata } from "../../common/assembly/local_node";
import { PbStruct, ValueKind } from "../../common/assembly/pb_struct";
import {
  DOWNSTREAM_PEER, DOWNSTREAM_PEER_ID, LABEL_CANONICAL_NAME, PEER_UNKNOWN, TrafficDirection, UPSTREAM_PEER, UPSTREAM_PEER_ID,
} from "../../common/assembly/peer";
import { PropertyPath } from "../../common/assembly/property";
import { L, LABEL_NAMES, MetricClass, MetricDef, Source, StatsConfig, parseConfig } from "./config";
import { ValKind, evalExpr } from "./expr";
import { EMPTY_NODE, NodeDims, NodeDimsMemo, nodeDimsFromLocal } from "./node_dims";
import { responseFlagsString } from "./response_flags";
export * from "pwasm/sdk/exports";

const UNKNOWN = "unknown";
const PROTOCOL_HTTP: i32 = 0;
const PROTOCOL_GRPC: i32 = 1;
const PROTOCOL_TCP: i32 = 2;
/** Distinct label sets remembered per metric class before the cache starts over. */
const MAX_CACHED_LABEL_SETS: i32 = 10000;

// Attribute paths, encoded once.
// @ts-ignore: decorator
@lazy const P_CLUSTER_NAME = new PropertyPath(["cluster_name"]);
// @ts-ignore: decorator
@lazy const P_ROUTE_NAME = new PropertyPath(["route_name"]);
// @ts-ignore: decorator
@lazy const P_SERVICE_NAME = new PropertyPath(["cluster_metadata", "filter_metadata", "istio", "services", "0", "name"]);
// @ts-ignore: decorator
@lazy const P_SERVICE_HOST = new PropertyPath(["cluster_metadata", "filter_metadata", "istio", "services", "0", "host"]);
// @ts-ignore: decorator
@lazy const P_HOST_WORKLOAD = new PropertyPath(["upstream_host_metadata", "filter_metadata", "istio", "workload"]);
// @ts-ignore: decorator
@lazy const P_UPSTREAM_SAN_PEER = new PropertyPath(["upstream", "uri_san_peer_certificate"]);
// @ts-ignore: decorator
@lazy const P_UPSTREAM_SAN_LOCAL = new PropertyPath(["upstream", "uri_san_local_certificate"]);
// @ts-ignore: decorator
@lazy const P_CONNECTION_SAN_PEER = new PropertyPath(["connection", "uri_san_peer_certificate"]);
// @ts-ignore: decorator
@lazy const P_CONNECTION_SAN_LOCAL = new PropertyPath(["connection", "uri_san_local_certificate"]);
// @ts-ignore: decorator
@lazy const P_MTLS = new PropertyPath(["connection", "mtls"]);
// @ts-ignore: decorator
@lazy const P_RESPONSE_CODE = new PropertyPath(["response", "code"]);
// @ts-ignore: decorator
@lazy const P_RESPONSE_FLAGS = new PropertyPath(["response", "flags"]);
// @ts-ignore: decorator
@lazy const P_GRPC_STATUS = new PropertyPath(["response", "grpc_status"]);
// @ts-ignore: decorator
@lazy const P_REQUEST_HOST = new PropertyPath(["request", "host"]);
// @ts-ignore: decorator
@lazy const P_DURATION = new PropertyPath(["request", "duration"]);
// @ts-ignore: decorator
@lazy const P_REQUEST_SIZE = new PropertyPath(["request", "total_size"]);
// @ts-ignore: decorator
@lazy const P_RESPONSE_SIZE = new PropertyPath(["response", "total_size"]);
// @ts-ignore: decorator
@lazy const P_GRPC_STATS = new PropertyPath(["filter_state", "envoy.filters.http.grpc_stats"]);
// @ts-ignore: decorator
@lazy const P_DOWNSTREAM_PEER = new PropertyPath([DOWNSTREAM_PEER]);
// @ts-ignore: decorator
@lazy const P_DOWNSTREAM_PEER_ID = new PropertyPath([DOWNSTREAM_PEER_ID]);
// @ts-ignore: decorator
@lazy const P_UPSTREAM_PEER = new PropertyPath([UPSTREAM_PEER]);
// @ts-ignore: decorator
@lazy const P_UPSTREAM_PEER_ID = new PropertyPath([UPSTREAM_PEER_ID]);
// @ts-ignore: decorator
@lazy const P_PEER_UNKNOWN = new PropertyPath([PEER_UNKNOWN]);
// @ts-ignore: decorator
@lazy const P_LISTENER_DIRECTION = new PropertyPath(["listener_direction"]);

/** What one stream or connection has counted and not yet reported. */
class StreamState {
  protocol: i32 = PROTOCOL_HTTP;
  /** `request.host`, read with the request headers (not readable on the timer). */
  urlHost: string = "";
  /** gRPC message counts already reported. */
  requestMessages: i64 = 0;
  responseMessages: i64 = 0;
  /** TCP counters not yet reported. */
  tcpSent: i64 = 0;
  tcpReceived: i64 = 0;
  tcpOpened: i64 = 0;
  /** The final report went out. */
  finished: bool = false;
}

class StatsRoot extends RootContext {
  outbound: bool = false;
  reporter: string = "destination";
  cfg: StatsConfig = new StatsConfig();
  local: NodeDims = EMPTY_NODE;
  /** Inbound destination_service without the host header: the local canonical name, or unknown. */
  serviceFallback: string = UNKNOWN;
  /** Label values of the report being built: the 25 standard labels, then dimension expressions. */
  dims: StaticArray<string> = new StaticArray<string>(L.COUNT);
  /** Resolved metric ids per label set, one cache per metric class. */
  caches: StaticArray<Map<string, StaticArray<u32>>> = [
    new Map<string, StaticArray<u32>>(), new Map<string, StaticArray<u32>>(), new Map<string, StaticArray<u32>>(),
  ];
  memo: NodeDimsMemo = new NodeDimsMemo();
  /** Streams and connections with recurrent reports (gRPC, TCP), by context id. */
  recurrent: Map<u32, StatsStreamRef> = new Map<u32, StatsStreamRef>();

  onConfigure(size: u32): bool {
    this.chooseDirection();
    this.cfg = parseConfig(size > 0 ? this.getPluginConfigurationString() : "");
    this.reporter = this.cfg.serverGateway ? "waypoint" : this.outbound ? "source" : "destination";
    const metadata = readLocalNodeMetadata();
    this.local = nodeDimsFromLocal(metadata);
    this.serviceFallback = localCanonicalName(metadata);
    this.dims = new StaticArray<string>(L.COUNT + this.cfg.expressions.length);
    for (let i = 0; i < this.caches.length; i++) unchecked(this.caches[i]).clear();
    this.setTickPeriod(this.cfg.tcpReportingMs);
    recordBuild(metadata);
    return true;
  }

  private chooseDirection(): void {
    const id = this.rootId;
    if (id == "stats_outbound") this.outbound = true;
    else if (id == "stats_inbound") this.outbound = false;
    else {
      const dir = P_LISTENER_DIRECTION.getI64(TrafficDirection.UNSPECIFIED);
      this.outbound = dir == TrafficDirection.OUTBOUND;
      logInfo("stats: root id '" + id + "' is neither stats_inbound nor stats_outbound; reporting as " +
        (this.outbound ? "source (listener_direction outbound)" : "destination"));
    }
  }

  onTick(): void {
    const ids = this.recurrent.keys();
    for (let i = 0; i < ids.length; i++) {
      const id = unchecked(ids[i]);
      const ref = this.recurrent.get(id);
      proxy_set_effective_context(id);
      this.reportRecurrent(ref.state, false);
    }
    proxy_set_effective_context(this.contextId);
  }

  createHttpContext(contextId: u32): HttpContext {
    return new StatsStream(contextId, this);
  }

  // ---- labels ---------------------------------------------------------------------------------

  /** True once peer metadata is settled (known, known-absent, or the stream failed). */
  peerSettled(): bool {
    const gateway = this.cfg.serverGateway;
    const peer = this.outbound ? P_UPSTREAM_PEER : P_DOWNSTREAM_PEER;
    const peerId = this.outbound ? P_UPSTREAM_PEER_ID : P_DOWNSTREAM_PEER_ID;
    if (peerId.exists() || peer.exists() || P_PEER_UNKNOWN.exists()) return true;
    if (gateway && (P_DOWNSTREAM_PEER_ID.exists() || P_DOWNSTREAM_PEER.exists())) return true;
    return P_RESPONSE_FLAGS.getI64(0) != 0;
  }

  private downstreamPeer(): NodeDims {
    const b = P_DOWNSTREAM_PEER.get();
    return b !== null ? this.memo.fromFlatNode(b) : EMPTY_NODE;
  }

  // The server side of an outbound call: the stored peer, else the endpoint's istio.workload.
  private upstreamPeer(): NodeDims {
    const b = P_UPSTREAM_PEER.get();
    if (b !== null) return this.memo.fromFlatNode(b);
    const w = P_HOST_WORKLOAD.getString();
    if (w !== null) {
      const d = this.memo.fromWorkload(w);
      if (d !== null) return d;
    }
    return EMPTY_NODE;
  }

  /** Fills `dims` for the current stream (the effective context). */
  fillLabels(s: StreamState): void {
    const d = this.dims;
    const outbound = this.outbound;
    unchecked(d[L.REPORTER] = this.reporter);
    let src: NodeDims, dst: NodeDims;
    if (this.cfg.serverGateway) {
      src = this.downstreamPeer();
      dst = this.upstreamPeer();
    } else if (outbound) {
      src = this.local;
      dst = this.upstreamPeer();
    } else {
      src = this.downstreamPeer();
      dst = this.local;
    }
    unchecked(d[L.SOURCE_WORKLOAD] = src.workload);
    unchecked(d[L.SOURCE_WORKLOAD_NAMESPACE] = src.namespace);
    unchecked(d[L.SOURCE_APP] = src.app);
    unchecked(d[L.SOURCE_VERSION] = src.version);
    unchecked(d[L.SOURCE_CANONICAL_SERVICE] = src.canonicalService);
    unchecked(d[L.SOURCE_CANONICAL_REVISION] = src.canonicalRevision);
    unchecked(d[L.SOURCE_CLUSTER] = src.cluster);
    unchecked(d[L.DESTINATION_WORKLOAD] = dst.workload);
    unchecked(d[L.DESTINATION_WORKLOAD_NAMESPACE] = dst.namespace);
    unchecked(d[L.DESTINATION_APP] = dst.app);
    unchecked(d[L.DESTINATION_VERSION] = dst.version);
    unchecked(d[L.DESTINATION_CANONICAL_SERVICE] = dst.canonicalService);
    unchecked(d[L.DESTINATION_CANONICAL_REVISION] = dst.canonicalRevision);
    unchecked(d[L.DESTINATION_CLUSTER] = dst.cluster);
    unchecked(d[L.DESTINATION_SERVICE_NAMESPACE] = dst.namespace);

    let policy = "";
    if (outbound) {
      unchecked(d[L.DESTINATION_PRINCIPAL] = orEmpty(P_UPSTREAM_SAN_PEER.getString()));
      unchecked(d[L.SOURCE_PRINCIPAL] = orEmpty(P_UPSTREAM_SAN_LOCAL.getString()));
    } else {
      const mtls = P_MTLS.getBool();
      if (mtls >= 0) policy = mtls == 1 ? "mutual_tls" : "none";
      unchecked(d[L.DESTINATION_PRINCIPAL] = orEmpty(P_CONNECTION_SAN_LOCAL.getString()));
      unchecked(d[L.SOURCE_PRINCIPAL] = orEmpty(P_CONNECTION_SAN_PEER.getString()));
    }
    unchecked(d[L.CONNECTION_SECURITY_POLICY] = policy);
    this.fillDestinationService(s);

    unchecked(d[L.REQUEST_PROTOCOL] = s.protocol == PROTOCOL_GRPC ? "grpc" : s.protocol == PROTOCOL_TCP ? "tcp" : "http");
    unchecked(d[L.RESPONSE_FLAGS] = responseFlagsString(<u64>P_RESPONSE_FLAGS.getI64(0)));
    unchecked(d[L.RESPONSE_CODE] = s.protocol == PROTOCOL_TCP ? "" : P_RESPONSE_CODE.getI64(0).toString());
    for (let i = 0; i < L.GRPC_RESPONSE_STATUS; i++) {
      if (unchecked(d[i]).length == 0) unchecked(d[i] = UNKNOWN);
    }
    // Set after the unknown step: empty for plain HTTP, as Istio does.
    unchecked(d[L.GRPC_RESPONSE_STATUS] = s.protocol == PROTOCOL_GRPC ? P_GRPC_STATUS.getI64(2).toString() : "");

    const exprs = this.cfg.expressions;
    for (let i = 0; i < exprs.length; i++) {
      const t = evalExpr(unchecked(exprs[i])).toText();
      unchecked(d[L.COUNT + i] = t !== null ? t : UNKNOWN);
    }
  }

  private fillDestinationService(s: StreamState): void {
    const d = this.dims;
    let host: string;
    if (!this.cfg.disableHostHeaderFallback && s.protocol != PROTOCOL_TCP) host = s.urlHost;
    else host = this.outbound ? UNKNOWN : this.serviceFallback;
    let name: string | null = null;
    const route = P_ROUTE_NAME.getString();
    if (route !== null && route == "block_all") name = "BlackHoleCluster";
    else if (route !== null && route == "allow_any") name = "PassthroughCluster";
    else {
      const cluster = P_CLUSTER_NAME.getString();
      if (cluster !== null && (cluster == "BlackHoleCluster" || cluster == "PassthroughCluster" ||
        cluster == "InboundPassthroughClusterIpv4" || cluster == "InboundPassthroughClusterIpv6")) {
        name = cluster;
      } else {
        name = P_SERVICE_NAME.getString();
        if (name !== null) {
          const h = P_SERVICE_HOST.getString();
          if (h !== null) host = h;
        } else {
          name = host;
        }
      }
    }
    unchecked(d[L.DESTINATION_SERVICE] = host);
    unchecked(d[L.DESTINATION_SERVICE_NAME] = name !== null ? name : host);
  }

  // ---- metrics --------------------------------------------------------------------------------

  /** Metric ids for the current labels (defining the stats on first sight of a label set). */
  resolve(cls: MetricClass): StaticArray<u32> {
    const key = this.dims.join("\u0001");
    const cache = unchecked(this.caches[<i32>cls]);
    if (cache.has(key)) return cache.get(key);
    if (cache.size >= MAX_CACHED_LABEL_SETS) cache.clear();
    const metrics = this.cfg.metrics;
    const ids = new StaticArray<u32>(metrics.length);
    for (let i = 0; i < metrics.length; i++) {
      const m = unchecked(metrics[i]);
      if (m.cls != cls || m.drop) continue;
      const name = this.statName(m);
      unchecked(ids[i] = defineMetric(m.type, name));
      logDebug("stats: defined " + name);
    }
    cache.set(key, ids);
    return ids;
  }

  /** `tag=.=value;.;…istio_<name>`, with separators inside values replaced so tags stay extractable. */
  statName(m: MetricDef): string {
    const fs = this.cfg.fieldSeparator;
    const vs = this.cfg.valueSeparator;
    let out = "";
    for (let i = 0; i < m.tags.length; i++) {
      const t = unchecked(m.tags[i]);
      if (t.removed) continue;
      let v = unchecked(this.dims[t.index]);
      if (v.includes(fs)) v = v.replaceAll(fs, "_");
      if (v.includes(vs)) v = v.replaceAll(vs, "_");
      out += t.name + vs + v + fs;
    }
    return out + "istio_" + m.name;
  }

  /** The final report of an HTTP or gRPC stream. */
  reportHttp(s: StatsStreamRef): void {
    const st = s.state;
    if (st.finished) return;
    st.finished = true;
    this.fillLabels(st);
    const ids = this.resolve(MetricClass.Http);
    const metrics = this.cfg.metrics;
    for (let i = 0; i < metrics.length; i++) {
      const id = unchecked(ids[i]);
      if (id == 0) continue;
      const m = unchecked(metrics[i]);
      switch (m.source) {
        case Source.One: increment(id, 1); break;
        case Source.DurationMs: record(id, P_DURATION.getI64(0) / 1000000); break;
        case Source.RequestBytes: record(id, P_REQUEST_SIZE.getI64(0)); break;
        case Source.ResponseBytes: record(id, P_RESPONSE_SIZE.getI64(0)); break;
        case Source.Expression: recordExpression(m, id); break;
        default: break;
      }
    }
    if (st.protocol == PROTOCOL_GRPC) this.reportMessages(st);
  }

  /** A report on the timer (end false) or at close (TCP). Waits for peer metadata until the end. */
  reportRecurrent(st: StreamState, end: bool): void {
    if (st.finished) return;
    if (!end && !this.peerSettled()) return;
    if (st.protocol == PROTOCOL_TCP) this.reportTcp(st, end);
    else if (st.protocol == PROTOCOL_GRPC) {
      this.fillLabels(st);
      this.reportMessages(st);
    }
  }

  // gRPC message counters: deltas of the grpc_stats filter's "requests,responses" counts.
  private reportMessages(st: StreamState): void {
    const counts = P_GRPC_STATS.getString();
    if (counts === null) return;
    const comma = counts.indexOf(",");
    if (comma <= 0) return;
    const req = I64.parseInt(counts.substring(0, comma));
    const resp = I64.parseInt(counts.substring(comma + 1));
    const ids = this.resolve(MetricClass.GrpcMessages);
    const metrics = this.cfg.metrics;
    for (let i = 0; i < metrics.length; i++) {
      const id = unchecked(ids[i]);
      if (id == 0) continue;
      const src = unchecked(metrics[i]).source;
      if (src == Source.RequestMessages) increment(id, req - st.requestMessages);
      else if (src == Source.ResponseMessages) increment(id, resp - st.responseMessages);
    }
    if (req > st.requestMessages) st.requestMessages = req;
    if (resp > st.responseMessages) st.responseMessages = resp;
  }

  private reportTcp(st: StreamState, end: bool): void {
    if (end) st.finished = true;
    this.fillLabels(st);
    const ids = this.resolve(MetricClass.Tcp);
    const metrics = this.cfg.metrics;
    for (let i = 0; i < metrics.length; i++) {
      const id = unchecked(ids[i]);
      if (id == 0) continue;
      switch (unchecked(metrics[i]).source) {
        case Source.TcpSent: increment(id, st.tcpSent); break;
        case Source.TcpReceived: increment(id, st.tcpReceived); break;
        case Source.TcpOpened: increment(id, st.tcpOpened); break;
        case Source.TcpClosed: if (end) increment(id, 1); break;
        default: break;
      }
    }
    st.tcpSent = 0;
    st.tcpReceived = 0;
    st.tcpOpened = 0;
  }
}

/** What the root keeps of a stream for timer reports. */
class StatsStreamRef {
  constructor(public state: StreamState) {}
}

// Zero-valued counter increments are skipped, as Istio does.
function increment(id: u32, delta: i64): void {
  if (delta > 0) proxy_increment_metric(id, delta);
}

function record(id: u32, value: i64): void {
  if (value >= 0) proxy_record_metric(id, <u64>value);
}

function recordExpression(m: MetricDef, id: u32): void {
  const v = evalExpr(changetype<MetricDef>(m).value!);
  const n: i64 = v.kind == ValKind.Int ? v.i : 0;
  if (m.type == MetricType.Counter) increment(id, n);
  else record(id, n);
}

function orEmpty(s: string | null): string {
  return s !== null ? s : "";
}

function localCanonicalName(metadata: PbStruct): string {
  const labels = metadata.get("LABELS");
  if (labels !== null && labels.kind == ValueKind.Struct) {
    const cn = changetype<PbStruct>(labels.struct).get(LABEL_CANONICAL_NAME);
    if (cn !== null) return cn.stringValue();
  }
  return UNKNOWN;
}

// istio_build{component="proxy",tag="<ISTIO_VERSION>"} 1, encoded as Istio's plugin did with "."
// separators: component.proxy.tag.<version>;.istio_build
function recordBuild(metadata: PbStruct): void {
  const v = metadata.get("ISTIO_VERSION");
  let version = v !== null ? v.stringValue() : "";
  if (version.length == 0) version = UNKNOWN;
  const id = defineMetric(MetricType.Gauge, "component.proxy.tag." + version + ";.istio_build");
  if (id != 0) proxy_record_metric(id, 1);
}

const GRPC_CONTENT_TYPES: StaticArray<string> = ["application/grpc", "application/grpc+proto", "application/grpc+json"];

// One class for HTTP streams and TCP connections: the host does not say which kind a new stream is,
// so the first callback decides (onRequestHeaders: HTTP or gRPC; onNewConnection: TCP).
class StatsStream extends HttpContext {
  readonly ref: StatsStreamRef = new StatsStreamRef(new StreamState());

  constructor(contextId: u32, readonly stats: StatsRoot) {
    super(contextId, stats);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const st = this.ref.state;
    const ct = this.requestHeaders.get("content-type");
    if (ct !== null && GRPC_CONTENT_TYPES.includes(ct)) st.protocol = PROTOCOL_GRPC;
    if (!this.stats.cfg.disableHostHeaderFallback) st.urlHost = orEmpty(P_REQUEST_HOST.getString());
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    // Peer metadata (if any) has been exchanged by now; gRPC streams report messages on the timer.
    if (this.ref.state.protocol == PROTOCOL_GRPC) this.stats.recurrent.set(this.contextId, this.ref);
    return Action.Continue;
  }

  onNewConnection(): Action {
    const st = this.ref.state;
    st.protocol = PROTOCOL_TCP;
    st.tcpOpened = 1;
    this.stats.recurrent.set(this.contextId, this.ref);
    return Action.Continue;
  }

  onDownstreamData(dataSize: usize, endOfStream: bool): Action {
    this.ref.state.tcpReceived += <i64>dataSize;
    return Action.Continue;
  }

  onUpstreamData(dataSize: usize, endOfStream: bool): Action {
    this.ref.state.tcpSent += <i64>dataSize;
    return Action.Continue;
  }

  onLog(): void {
    this.finish();
  }

  onDone(): bool {
    // A host that never logs a connection still gets its final report.
    if (this.ref.state.protocol == PROTOCOL_TCP) this.finish();
    return true;
  }

  onDelete(): void {
    this.stats.recurrent.delete(this.contextId);
  }

  private finish(): void {
    this.stats.recurrent.delete(this.contextId);
    if (this.ref.state.protocol == PROTOCOL_TCP) this.stats.reportRecurrent(this.ref.state, true);
    else this.stats.reportHttp(this.ref);
  }
}

registerRootContext((id: u32): RootContext => new StatsRoot(id));
