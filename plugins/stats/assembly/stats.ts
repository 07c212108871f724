// stats: Istio's standard metrics (istio_requests_total, …, istio_tcp_*) from an AssemblyScript
// filter, with the 25 labels Istio computes, encoded into the stat name the way Istio's Wasm stats
// plugin did (`tag=.=value;.;…istio_<metric>`) so Istio's bootstrap tag extraction (or pwasm's
// dev proxy) turns them into Prometheus labels.
//
// Root ids as in Istio: `stats_outbound` (client side, reporter="source") and `stats_inbound`
// (server side, reporter="destination"); any other root id follows each stream's
// `xds.listener_direction` (Envoy answers it per stream, not at on_configure). xDS attributes are
// read under the names the host answers (`xds.*` on Envoy ≥ 1.33, attributes.ts). The same root
// serves HTTP filters and TCP network filters.
import {
  Action, HttpContext, MetricType, RootContext, defineMetric, logDebug, logInfo,
} from "pwasm/sdk";
import { proxy_increment_metric, proxy_record_metric, proxy_set_effective_context } from "pwasm/sdk/imports";
import { xdsPath } from "../../common/assembly/attributes";
import { readLocalNodeMetadata } from "../../common/assembly/local_node";
import { PbStruct, ValueKind } from "../../common/assembly/pb_struct";
import {
  DOWNSTREAM_PEER, DOWNSTREAM_PEER_ID, LABEL_CANONICAL_NAME, TrafficDirection, UPSTREAM_PEER, UPSTREAM_PEER_ID,
} from "../../common/assembly/peer";
import { PropertyPath } from "../../common/assembly/property";
import { L, LABEL_NAMES, MetricClass, MetricDef, Source, StatsConfig, parseConfig } from "./config";
import { ValKind, evalExpr } from "./expr";
import { EMPTY_NODE, NodeDims, NodeDimsMemo, nodeDimsFromLocal } from "./node_dims";
import { responseFlagsString } from "./response_flags";

const UNKNOWN = "unknown";
const PROTOCOL_HTTP: i32 = 0;
const PROTOCOL_GRPC: i32 = 1;
const PROTOCOL_TCP: i32 = 2;
/** Distinct label sets remembered per metric class before the cache starts over. */
const MAX_CACHED_LABEL_SETS: i32 = 10000;

/**
 * The xDS attributes the plugin reads, under the names the host answers. Made in on_configure: the
 * choice reads a property, which a VM may not do while it initializes its globals.
 */
class XdsPaths {
  clusterName: PropertyPath = xdsPath(["cluster_name"]);
  routeName: PropertyPath = xdsPath(["route_name"]);
  serviceName: PropertyPath = xdsPath(["cluster_metadata", "filter_metadata", "istio", "services", "0", "name"]);
  serviceHost: PropertyPath = xdsPath(["cluster_metadata", "filter_metadata", "istio", "services", "0", "host"]);
  hostWorkload: PropertyPath = xdsPath(["upstream_host_metadata", "filter_metadata", "istio", "workload"]);
  listenerDirection: PropertyPath = xdsPath(["listener_direction"]);
}

// Other attribute paths, encoded once.
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
@lazy const P_TLS_VERSION = new PropertyPath(["connection", "tls_version"]);
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

/** How a root decides a stream's reporter. */
const enum Direction {
  /** By the stream's listener direction. */
  Listener = 0,
  Inbound = 1,
  Outbound = 2,
}

/** What one stream or connection has counted and not yet reported. */
class StreamState {
  protocol: i32 = PROTOCOL_HTTP;
  /** Client side (reporter source): set with the first callback of the stream. */
  outbound: bool = false;
  directionKnown: bool = false;
  /** `request.host`, read with the request headers (not readable on the timer). */
  urlHost: string = "";
  /** gRPC message counts already reported. */
  requestMessages: i64 = 0;
  responseMessages: i64 = 0;
  /** TCP: bytes of the connection already reported (Envoy's counts: `response.total_size` sent, `request.total_size` received). */
  tcpSent: i64 = 0;
  tcpReceived: i64 = 0;
  /** TCP: the connection's opening is not reported yet. */
  tcpOpened: i64 = 0;
  /** The final report went out. */
  finished: bool = false;
}

/** The stats root: one per filter configuration (HTTP or network filter); its root id sets the reporter side. */
export class StatsRoot extends RootContext {
  direction: Direction = Direction.Listener;
  xds: XdsPaths | null = null;
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
  /**
   * The label values resolved last and their metric ids, per metric class: a workload's requests
   * mostly repeat one label set, which is then found without joining the labels into a key.
   */
  lastDims: StaticArray<StaticArray<string> | null> = [null, null, null];
  lastIds: StaticArray<StaticArray<u32> | null> = [null, null, null];
  memo: NodeDimsMemo = new NodeDimsMemo();
  /** Streams and connections with recurrent reports (gRPC, TCP), by context id. */
  recurrent: Map<u32, StatsStreamRef> = new Map<u32, StatsStreamRef>();

  onConfigure(size: u32): bool {
    this.xds = new XdsPaths();
    this.chooseDirection();
    this.cfg = parseConfig(size > 0 ? this.getPluginConfigurationString() : "");
    const metadata = readLocalNodeMetadata();
    this.local = nodeDimsFromLocal(metadata);
    this.serviceFallback = localCanonicalName(metadata);
    this.dims = new StaticArray<string>(L.COUNT + this.cfg.expressions.length);
    for (let i = 0; i < this.caches.length; i++) {
      unchecked(this.caches[i]).clear();
      unchecked(this.lastDims[i] = null);
      unchecked(this.lastIds[i] = null);
    }
    this.setTickPeriod(this.cfg.tcpReportingMs);
    recordBuild(metadata);
    return true;
  }

  private chooseDirection(): void {
    const id = this.rootId;
    if (id == "stats_outbound") this.direction = Direction.Outbound;
    else if (id == "stats_inbound") this.direction = Direction.Inbound;
    else {
      this.direction = Direction.Listener;
      logInfo("stats: root id '" + id + "' is neither stats_inbound nor stats_outbound; each stream reports as " +
        "source on outbound listeners, else as destination (xds.listener_direction)");
    }
  }

  get paths(): XdsPaths {
    return changetype<XdsPaths>(this.xds);
  }

  /** Settles which side a stream reports for, on its first callback. */
  settleDirection(st: StreamState): void {
    if (st.directionKnown) return;
    st.directionKnown = true;
    const d = this.direction;
    st.outbound = d == Direction.Listener ? this.paths.listenerDirection.getI64(TrafficDirection.UNSPECIFIED) == TrafficDirection.OUTBOUND : d == Direction.Outbound;
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

  /**
   * True once peer metadata is settled: known, known to be absent (a TCP exchange stores the peer
   * id `envoy.wasm.metadata_exchange.peer_unknown`), or the stream failed.
   */
  peerSettled(st: StreamState): bool {
    const gateway = this.cfg.serverGateway;
    const peer = st.outbound ? P_UPSTREAM_PEER : P_DOWNSTREAM_PEER;
    const peerId = st.outbound ? P_UPSTREAM_PEER_ID : P_DOWNSTREAM_PEER_ID;
    if (peerId.exists() || peer.exists()) return true;
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
    const w = this.paths.hostWorkload.getString();
    if (w !== null) {
      const d = this.memo.fromWorkload(w);
      if (d !== null) return d;
    }
    return EMPTY_NODE;
  }

  /** Fills `dims` for the current stream (the effective context). */
  fillLabels(s: StreamState): void {
    const d = this.dims;
    this.settleDirection(s);
    const outbound = s.outbound;
    unchecked(d[L.REPORTER] = this.cfg.serverGateway ? "waypoint" : outbound ? "source" : "destination");
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
      const local = P_CONNECTION_SAN_LOCAL.getString();
      // A plaintext connection answers neither the local SAN nor a TLS version (both NOT_FOUND, which
      // Envoy answers without handing a value back) and is policy "none" without principals; asking
      // connection.mtls, which would only say false, costs far more (docs/envoy/host-call-costs.md).
      const tls = local !== null || P_TLS_VERSION.exists();
      const mtls = tls ? P_MTLS.getBool() : 0;
      if (mtls >= 0) policy = mtls == 1 ? "mutual_tls" : "none";
      unchecked(d[L.DESTINATION_PRINCIPAL] = orEmpty(local));
      // No peer certificate when `connection.mtls` is false (it says whether the peer presented one).
      unchecked(d[L.SOURCE_PRINCIPAL] = mtls != 0 ? orEmpty(P_CONNECTION_SAN_PEER.getString()) : "");
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
    const xds = this.paths;
    let host: string;
    if (!this.cfg.disableHostHeaderFallback && s.protocol != PROTOCOL_TCP) host = s.urlHost;
    else host = s.outbound ? UNKNOWN : this.serviceFallback;
    let name: string | null = null;
    const route = xds.routeName.getString();
    if (route !== null && route == "block_all") name = "BlackHoleCluster";
    else if (route !== null && route == "allow_any") name = "PassthroughCluster";
    else {
      const cluster = xds.clusterName.getString();
      if (cluster !== null && (cluster == "BlackHoleCluster" || cluster == "PassthroughCluster" ||
        cluster == "InboundPassthroughClusterIpv4" || cluster == "InboundPassthroughClusterIpv6")) {
        name = cluster;
      } else {
        name = xds.serviceName.getString();
        if (name !== null) {
          const h = xds.serviceHost.getString();
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
    const c = <i32>cls;
    const dims = this.dims;
    const last = unchecked(this.lastDims[c]);
    if (last !== null && sameLabels(last, dims)) return changetype<StaticArray<u32>>(unchecked(this.lastIds[c]));
    const ids = this.resolveByKey(cls);
    const copy = new StaticArray<string>(dims.length);
    for (let i = 0; i < dims.length; i++) unchecked(copy[i] = unchecked(dims[i]));
    unchecked(this.lastDims[c] = copy);
    unchecked(this.lastIds[c] = ids);
    return ids;
  }

  private resolveByKey(cls: MetricClass): StaticArray<u32> {
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
    if (!end && !this.peerSettled(st)) return;
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
    // The connection's own byte counts, as Envoy keeps them for the downstream connection (what
    // arrived from and left for the client, whatever filters changed in between): independent
    // of where the stats filter sits in the chain.
    const sent = P_RESPONSE_SIZE.getI64(st.tcpSent);
    const received = P_REQUEST_SIZE.getI64(st.tcpReceived);
    for (let i = 0; i < metrics.length; i++) {
      const id = unchecked(ids[i]);
      if (id == 0) continue;
      switch (unchecked(metrics[i]).source) {
        case Source.TcpSent: increment(id, sent - st.tcpSent); break;
        case Source.TcpReceived: increment(id, received - st.tcpReceived); break;
        case Source.TcpOpened: increment(id, st.tcpOpened); break;
        case Source.TcpClosed: if (end) increment(id, 1); break;
        default: break;
      }
    }
    if (sent > st.tcpSent) st.tcpSent = sent;
    if (received > st.tcpReceived) st.tcpReceived = received;
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

// Label values are mostly the same string objects from one request to the next (the memoized
// nodes' values, constants), so most comparisons stop at the pointer.
function sameLabels(a: StaticArray<string>, b: StaticArray<string>): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (unchecked(a[i]) != unchecked(b[i])) return false;
  }
  return true;
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
    this.stats.settleDirection(st);
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
    this.stats.settleDirection(st);
    st.tcpOpened = 1;
    this.stats.recurrent.set(this.contextId, this.ref);
    return Action.Continue;
  }

  // The final report, for connections too: Envoy logs a connection when it closes (onCloseTCP:
  // proxy_on_done, proxy_on_log, proxy_on_delete; docs/envoy/lifecycle.md). No onDone: its export
  // would cost every HTTP stream one more callback from Envoy (docs/envoy/callbacks.md).
  onLog(): void {
    this.finish();
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
