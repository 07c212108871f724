// Istio telemetry scenarios: plugins/metadata-exchange then plugins/stats in two sidecars in a row,
// configured as Istio 1.16 installed its Wasm filters (root ids, VM ids, plugin configuration from
// its telemetry v2 chart) on bookinfo-shaped nodes — productpage-v1's sidecar (outbound) calls
// reviews-v1's (inbound), which forwards to the application. Both hosts must show Istio's series,
// value for value, with every workload label filled; a client outside the mesh gets `unknown`
// source labels and no exchange headers back.
import { join } from "node:path";
import { UPSTREAM_CLUSTER, type EnvoyNode, type EnvoyPlugin, type JsonMap } from "../../../cli/envoy/bootstrap.js";
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { built, ROOT } from "../../helpers/paths.js";
import { encodeTcpExchange } from "../../../host/istio/peer_metadata.js";
import { counterLine, HTTP_LABELS, labelSet, nodeLabels, TCP_LABELS, type LabelSet } from "../../plugins/helpers/istio.js";
import { PRODUCTPAGE, REVIEWS } from "../../plugins/helpers/mx.js";

/** A fixture that defines stats named by the request (built by buildScenarioFixtures). */
export const STAT_NAMES_PROJECT = join(ROOT, "test", "differential", "fixtures", "stat-names");
const statNames = join(STAT_NAMES_PROJECT, "build", "release.wasm");

const mx = built("plugins/metadata-exchange");
const stats = built("plugins/stats");

/** productpage-v1's sidecar, as pilot-agent writes its node. */
export const PRODUCTPAGE_NODE: EnvoyNode = {
  id: "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local",
  cluster: "productpage.default",
  metadata: PRODUCTPAGE,
};

/** reviews-v1's sidecar. */
export const REVIEWS_NODE: EnvoyNode = {
  id: "sidecar~10.244.0.20~reviews-v1-545db77b95-qd2hq.default~default.svc.cluster.local",
  cluster: "reviews.default",
  metadata: REVIEWS,
};

// Istio 1.16's telemetry v2 chart (manifests/charts/istio-control/istio-discovery/templates/
// telemetryv2_1.16.yaml): the stats filter's configuration per listener kind.
const OUTBOUND_STATS = '{"debug": "false", "stat_prefix": "istio"}';
const INBOUND_HTTP_STATS = '{"debug": "false", "stat_prefix": "istio", "disable_host_header_fallback": true}';

function httpSidecar(direction: "inbound" | "outbound"): EnvoyPlugin[] {
  const out = direction === "outbound";
  return [
    { wasm: mx, name: "istio.metadata_exchange", vmId: "metadata_exchange" },
    { wasm: stats, name: "istio.stats", rootId: out ? "stats_outbound" : "stats_inbound", vmId: out ? "stats_outbound" : "stats_inbound", configuration: out ? OUTBOUND_STATS : INBOUND_HTTP_STATS },
  ];
}

function tcpSidecar(direction: "inbound" | "outbound"): EnvoyPlugin[] {
  const out = direction === "outbound";
  return [
    // Outbound connections open with the TCP exchange preamble (the server side reads it when present).
    { wasm: mx, type: "network", name: "istio.metadata_exchange", vmId: "tcp_metadata_exchange", configuration: out ? '{"tcp_exchange": true}' : "" },
    { wasm: stats, type: "network", name: "istio.stats", rootId: out ? "stats_outbound" : "stats_inbound", vmId: out ? "tcp_stats_outbound" : "tcp_stats_inbound", configuration: OUTBOUND_STATS },
  ];
}

/** The labels both sidecars agree on for a call from productpage-v1 to reviews-v1. */
function meshLabels(reporter: "source" | "destination", more: Partial<LabelSet>): LabelSet {
  return labelSet({
    reporter, ...nodeLabels("source", PRODUCTPAGE), ...nodeLabels("destination", REVIEWS),
    destination_service_namespace: "default", ...more,
  });
}

const http = (reporter: "source" | "destination", code: string): LabelSet => meshLabels(reporter, {
  // Outbound names the service by the host header; inbound (host fallback off, no cluster
  // metadata here) by its own canonical name.
  destination_service: reporter === "source" ? "reviews:9080" : "reviews",
  destination_service_name: reporter === "source" ? "reviews:9080" : "reviews",
  request_protocol: "http", response_code: code,
  connection_security_policy: reporter === "source" ? "unknown" : "none",
});

// Request durations differ from run to run: their histograms are compared by sample count only.
// Response sizes include `x-envoy-upstream-service-time: <ms>`, which Envoy and the dev proxy both
// add to the response they count, so a size moves by a byte when the latency gains a digit: the
// response-bytes sum is compared by presence (its buckets, at 100 and 250 bytes here, and its
// count stay exact).
const NORMALIZE: Array<[RegExp, string]> = [
  [/^(istio_request_duration_milliseconds_(?:bucket|sum)\{.*\}) \S+$/, "$1 <ms>"],
  [/^(istio_response_bytes_sum\{.*\}) \S+$/, "$1 <bytes>"],
];

const NO_EXCHANGE_HEADERS = { "x-envoy-peer-metadata": null, "x-envoy-peer-metadata-id": null };

// The application names itself `server: envoy`. Envoy writes that header on every response it
// sends (and counts its bytes in response.total_size, so in istio_response_bytes), while the dev
// proxy on purpose adds none (intentional_differences.ts); with the application sending the same
// value, both hosts carry the same response headers and their byte counts compare value for value.
const APP = { host: "reviews:9080", "x-echo-header": "server=envoy" };

/** `name{labels} value` lines of an istio histogram's `_count` (one sample per request). */
const histogramCount = (name: string, set: LabelSet, n: number) => `${name}_count${counterLine("", set, HTTP_LABELS, n)}`;

/**
 * Envoy for gRPC: the route's cluster speaks HTTP/2, as sidecars speak to each other and to a
 * gRPC server, and the HTTP/1.1 client gets the response trailers. The dev proxy forwards the same
 * request over HTTP/1.1 with its trailers; what the plugins see is the same.
 */
function grpcEnvoy(config: JsonMap): JsonMap {
  const resources = config.static_resources as JsonMap;
  for (const c of resources.clusters as JsonMap[]) {
    if (c.name !== UPSTREAM_CLUSTER) continue;
    c.typed_extension_protocol_options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  for (const listener of resources.listeners as JsonMap[]) {
    for (const chain of listener.filter_chains as JsonMap[]) {
      for (const f of chain.filters as JsonMap[]) {
        if (f.name === "envoy.filters.network.http_connection_manager") (f.typed_config as JsonMap).http_protocol_options = { enable_trailers: true };
      }
    }
  }
  return config;
}

/** A unary gRPC request: a length-prefixed protobuf message `{1: "<name>"}`. */
function grpcCall(name: string, extra: Record<string, string> = {}): { method: string; path: string; headers: Record<string, string>; body: string } {
  const message = `\x0a${String.fromCharCode(name.length)}${name}`;
  const frame = `\x00\x00\x00\x00${String.fromCharCode(message.length)}${message}`;
  return { method: "POST", path: "/reviews.Reviews/GetReview", headers: { ...APP, "content-type": "application/grpc", te: "trailers", ...extra }, body: frame };
}

const grpc = (reporter: "source" | "destination", status: string): LabelSet => ({ ...http(reporter, "200"), request_protocol: "grpc", grpc_response_status: status });

/** reviews-v1's view of a caller without metadata: every source label unknown. */
const outsider = labelSet({
  reporter: "destination", ...nodeLabels("destination", REVIEWS), destination_service_namespace: "default",
  destination_service: "reviews", destination_service_name: "reviews", request_protocol: "http", response_code: "200",
  connection_security_policy: "none",
});

export const ISTIO_SCENARIOS: Scenario[] = [
  {
    name: "istio: productpage-v1 → reviews-v1 over HTTP, metadata exchange then stats in both sidecars",
    proxies: [
      { name: "productpage sidecar", plugins: httpSidecar("outbound"), settings: { node: PRODUCTPAGE_NODE, listenerDirection: "outbound" } },
      { name: "reviews sidecar", plugins: httpSidecar("inbound"), settings: { node: REVIEWS_NODE, listenerDirection: "inbound" } },
    ],
    normalize: NORMALIZE,
    steps: [
      {
        name: "GET: the exchange headers cross the wire and reach neither application",
        request: { path: "/reviews/0", headers: APP },
        expect: { status: 200, headers: NO_EXCHANGE_HEADERS, upstreamHeaders: NO_EXCHANGE_HEADERS },
      },
      { name: "a second GET", request: { path: "/reviews/1", headers: APP }, expect: { status: 200 } },
      {
        name: "POST with a body",
        request: { method: "POST", path: "/reviews", headers: { ...APP, "content-type": "application/json" }, body: '{"rating":5}' },
        expect: { status: 200, headers: NO_EXCHANGE_HEADERS, upstreamHeaders: NO_EXCHANGE_HEADERS },
      },
      {
        name: "the application answers 503",
        request: { path: "/reviews/2", headers: { ...APP, "x-echo-status": "503" } },
        expect: { status: 503 },
      },
    ],
    prometheus: [
      [
        counterLine("istio_requests_total", http("source", "200"), HTTP_LABELS, 3),
        counterLine("istio_requests_total", http("source", "503"), HTTP_LABELS, 1),
        histogramCount("istio_request_bytes", http("source", "200"), 3),
        histogramCount("istio_response_bytes", http("source", "503"), 1),
        'istio_build{component="proxy",tag="1.16.1"} 1',
      ],
      [
        counterLine("istio_requests_total", http("destination", "200"), HTTP_LABELS, 3),
        counterLine("istio_requests_total", http("destination", "503"), HTTP_LABELS, 1),
        histogramCount("istio_request_bytes", http("destination", "200"), 3),
        histogramCount("istio_response_bytes", http("destination", "503"), 1),
        'istio_build{component="proxy",tag="1.16.1"} 1',
      ],
    ],
  },
  {
    name: "istio: a client outside the mesh calls reviews-v1's sidecar",
    proxies: [{ name: "reviews sidecar", plugins: httpSidecar("inbound"), settings: { node: REVIEWS_NODE, listenerDirection: "inbound" } }],
    normalize: NORMALIZE,
    steps: [{
      name: "GET without exchange headers: none come back",
      request: { path: "/reviews/0", headers: APP },
      expect: { status: 200, headers: NO_EXCHANGE_HEADERS, upstreamHeaders: NO_EXCHANGE_HEADERS },
    }],
    prometheus: [[
      counterLine("istio_requests_total", outsider, HTTP_LABELS, 1),
      histogramCount("istio_request_bytes", outsider, 1),
    ]],
  },
  {
    name: "istio: the bootstrap's stats_tags apply to every plugin stat, as in Envoy",
    proxies: [{ plugins: [{ wasm: statNames, rootId: "stat_names" }] }],
    steps: [
      // Istio's helper regexes (component., tag., cache., wasm_filter.) and tag regexes match
      // inside any stat name, not only istio_* ones.
      // Envoy's own unanchored defaults (response code and class) apply too, before them.
      ...["my_component.proxy.value", "app.tag.v1;.hits", "wasm_filter.f.cache.miss.n", "reporter=.=x;.;custom_total", "plain.counter_total",
        "foo_rq_200", "foo_rq_5xx", "reporter=.=y;.;bar_rq_404", "cluster.x.y"]
        .map((name) => ({ name: `a counter named ${name}`, request: { path: "/", headers: { "x-counter": name } }, expect: { status: 200 } })),
    ],
    prometheus: [[
      'my_value{component="proxy"} 1', 'app_hits{tag="v1"} 1', 'n{cache="miss",wasm_filter="f"} 1', 'custom_total{reporter="x"} 1', "plain_counter_total{} 1",
      'foo_rq{envoy_response_code="200"} 1', 'foo_rq_xx{envoy_response_code_class="5"} 1', 'bar_rq{envoy_response_code="404",reporter="y"} 1', "cluster_x_y{} 1",
    ]],
  },
  {
    name: "istio: histogram buckets and sums as Envoy computes them from its log-linear bins",
    proxies: [{ plugins: [{ wasm: statNames, rootId: "stat_names" }] }],
    steps: [
      // Samples at and around bucket bounds and bin edges: 5 counts in le="5", 1001 in le="1000".
      { name: "samples", request: { path: "/", headers: { "x-histogram": "sizes", "x-samples": "0,1,5,7,24,25,26,178,999,1001,1234,2599,999999" } }, expect: { status: 200 } },
      { name: "more samples", request: { path: "/", headers: { "x-histogram": "sizes", "x-samples": "5,250,251" } }, expect: { status: 200 } },
    ],
    prometheus: [['sizes_bucket{le="5"} 4', 'sizes_bucket{le="1000"} 13', "sizes_count{} 16"]],
  },
];

/**
 * gRPC calls from productpage-v1 to reviews-v1, HTTP/2 between the sidecars and to the server in
 * Envoy. `statuses` are the grpc-status the server answers, one call each: 0 comes in trailers
 * (after the message), anything else Trailers-Only (in the response headers).
 */
export function grpcScenario(name: string, statuses: string[]): Scenario {
  const counts = new Map<string, number>();
  for (const st of statuses) counts.set(st, (counts.get(st) ?? 0) + 1);
  const lines = (reporter: "source" | "destination") => [...counts].flatMap(([st, n]) => [
    counterLine("istio_requests_total", grpc(reporter, st), HTTP_LABELS, n),
    histogramCount("istio_request_bytes", grpc(reporter, st), n),
  ]);
  return {
    name,
    proxies: [
      { name: "productpage sidecar", plugins: httpSidecar("outbound"), settings: { node: PRODUCTPAGE_NODE, listenerDirection: "outbound" }, envoyConfig: grpcEnvoy },
      { name: "reviews sidecar", plugins: httpSidecar("inbound"), settings: { node: REVIEWS_NODE, listenerDirection: "inbound" }, envoyConfig: grpcEnvoy },
    ],
    normalize: NORMALIZE,
    steps: statuses.map((st, i) => ({
      name: `call ${i + 1}: the server answers grpc-status ${st}`,
      request: grpcCall(`r${i}`, st === "0" ? {} : { "x-echo-grpc-status": st }),
      expect: { status: 200, headers: NO_EXCHANGE_HEADERS, upstreamHeaders: NO_EXCHANGE_HEADERS },
    })),
    prometheus: [lines("source"), lines("destination")],
  };
}

/**
 * gRPC calls both hosts carry alike: failures answered Trailers-Only. (A status in trailers needs
 * HTTP/2 or HTTP/1.1 trailers, which the dev proxy does not speak: Envoy's HTTP/1.1 codec drops
 * trailers by default, and the dev proxy forwards over HTTP/1.1 only. test/plugins/istio_envoy.test.ts
 * shows grpc-status 0 from trailers in Envoy.)
 */
export const ISTIO_GRPC_SCENARIOS: Scenario[] = [grpcScenario("istio: productpage-v1 → reviews-v1 gRPC calls that fail (NOT_FOUND, UNAVAILABLE)", ["5", "14", "5"])];

/**
 * The same over TCP: both sidecars as network filters in front of tcp_proxy (`pwasm run --type
 * network` in the dev proxy), and a TCP client outside the mesh.
 */
export const ISTIO_TCP_SCENARIOS: Scenario[] = [
  {
    name: "istio: productpage-v1 → reviews-v1 over TCP, metadata exchange then stats as network filters",
    proxies: [
      { name: "productpage sidecar", plugins: tcpSidecar("outbound"), settings: { node: PRODUCTPAGE_NODE, listenerDirection: "outbound" } },
      { name: "reviews sidecar", plugins: tcpSidecar("inbound"), settings: { node: REVIEWS_NODE, listenerDirection: "inbound" } },
    ],
    upstream: "tcp-echo",
    steps: [
      { kind: "tcp", name: "a connection: the client writes twice, the application echoes", send: ["hello", "world"], delayMs: 100 },
    ],
    prometheus: [
      tcpLines(meshLabels("source", { destination_service: "unknown", destination_service_name: "unknown", request_protocol: "tcp" }), 10, 20),
      // The server side counts its connection's bytes with the exchange preambles in them.
      tcpLines(meshLabels("destination", { destination_service: "reviews", destination_service_name: "reviews", request_protocol: "tcp", connection_security_policy: "none" }),
        10 + encodeTcpExchange(PRODUCTPAGE, PRODUCTPAGE_NODE.id).length, 20 + encodeTcpExchange(REVIEWS, REVIEWS_NODE.id).length),
    ],
  },
  {
    name: "istio: a TCP client outside the mesh connects to reviews-v1's sidecar",
    proxies: [{ name: "reviews sidecar", plugins: tcpSidecar("inbound"), settings: { node: REVIEWS_NODE, listenerDirection: "inbound" } }],
    upstream: "tcp-echo",
    steps: [{ kind: "tcp", name: "the client's bytes reach the application untouched, and no preamble comes back", send: ["hello"] }],
    prometheus: [tcpLines(labelSet({
      reporter: "destination", ...nodeLabels("destination", REVIEWS), destination_service_namespace: "default",
      destination_service: "reviews", destination_service_name: "reviews", request_protocol: "tcp", connection_security_policy: "none",
    }), 5, 10)],
  },
];

// The TCP series of one connection: opened, closed, and the bytes the client side of the proxy
// received and sent.
function tcpLines(set: LabelSet, received: number, sent: number): string[] {
  return [
    counterLine("istio_tcp_connections_opened_total", set, TCP_LABELS, 1),
    counterLine("istio_tcp_connections_closed_total", set, TCP_LABELS, 1),
    counterLine("istio_tcp_received_bytes_total", set, TCP_LABELS, received),
    counterLine("istio_tcp_sent_bytes_total", set, TCP_LABELS, sent),
  ];
}
