// plugins/stats through the test API: inbound and outbound HTTP and gRPC traffic, compared line by
// line with the Prometheus text an Istio sidecar prints, derived from Istio's rules. Peers are
// given as Istio FlatNodes written with the flatbuffers library (what the metadata-exchange
// filter stores), or come from Istio's fallbacks.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestHost, type TestHost, type TestHttpStream } from "../../host/index.js";
import { istioTagExtractor, createIstioTagExtractor } from "../../host/istio/tag_extractor.js";
import { ROOT } from "../helpers/paths.js";
import { AS_027_MINIMAL, AS_028_MINIMAL, buildVariant } from "../sdk/variants.js";
import {
  ExpectedMetrics, HTTP_LABELS, PEER_LABELS, TCP_LABELS, istioFamilies, labelSet, labelText, nodeLabels, type LabelSet,
} from "./helpers/istio.js";
import { PRODUCTPAGE, REVIEWS, flatNodeOf, nodeProperties, type NodeMetadata } from "./helpers/mx.js";

// Every behaviour is checked on the plugin built with AssemblyScript 0.28 and 0.27.
let wasm = "";

const PRODUCTPAGE_SAN = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage";
const REVIEWS_SAN = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews";

async function statsHost(rootId: string, local: NodeMetadata, configuration?: string): Promise<TestHost> {
  const host = await createTestHost({ wasm, rootId, configuration, properties: nodeProperties(`sidecar~${local.WORKLOAD_NAME}`, local) });
  host.host.tagExtractor = istioTagExtractor;
  return host;
}

interface Exchange {
  request?: Record<string, string>;
  status?: number;
  trailers?: Record<string, string>;
  properties?: Record<string, string | bigint | boolean>;
  filterState?: Record<string, Buffer>;
  /** Pinned so histogram samples are exact. */
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
}

/** One request/response through the plugin, with attributes pinned. */
function exchange(host: TestHost, x: Exchange): TestHttpStream {
  const s = host.httpStream();
  for (const [k, v] of Object.entries(x.filterState ?? {})) s.stream.info.filterState.set(`wasm.${k}`, v);
  for (const [k, v] of Object.entries(x.properties ?? {})) s.setProperty(k, v);
  s.setProperty("request.duration", BigInt(x.durationMs) * 1_000_000n + 123_456n);
  s.setProperty("request.total_size", BigInt(x.requestBytes));
  s.setProperty("response.total_size", BigInt(x.responseBytes));
  expect(s.callOnRequestHeaders({ ":method": "GET", ":path": "/reviews/0", ":authority": "reviews:9080", ":scheme": "http", ...x.request }, true)).toBe(0);
  const end = x.trailers === undefined;
  expect(s.callOnResponseHeaders({ ":status": String(x.status ?? 200), ...(x.request?.["content-type"] ? { "content-type": x.request["content-type"] } : {}) }, end)).toBe(0);
  if (!end) s.callOnResponseTrailers(x.trailers!);
  s.complete();
  return s;
}

/** The four HTTP metrics for a label set and its samples. */
function httpMetrics(e: ExpectedMetrics, set: LabelSet, samples: Array<{ durationMs: number; requestBytes: number; responseBytes: number }>): ExpectedMetrics {
  return e
    .counter("istio_requests_total", set, HTTP_LABELS, samples.length)
    .histogram("istio_request_duration_milliseconds", set, HTTP_LABELS, samples.map((s) => s.durationMs))
    .histogram("istio_request_bytes", set, HTTP_LABELS, samples.map((s) => s.requestBytes))
    .histogram("istio_response_bytes", set, HTTP_LABELS, samples.map((s) => s.responseBytes));
}

const BUILD = (version: string) => ["istio_build", [["component", "proxy"], ["tag", version]] as Array<[string, string]>, 1] as const;

function expectFamilies(host: TestHost, expected: ExpectedMetrics): void {
  const actual = istioFamilies(host.prometheus());
  const want = expected.build();
  expect([...actual.keys()]).toEqual([...want.keys()]);
  for (const [family, lines] of want) {
    const got = actual.get(family) ?? [];
    // A compact diff: the lines only one side has.
    const missing = lines.filter((l) => !got.includes(l));
    const extra = got.filter((l) => !lines.includes(l));
    expect({ family, missing, extra }).toEqual({ family, missing: [], extra: [] });
    expect(got).toEqual(lines);
  }
  expect(host.failures).toEqual([]);
}

// The inbound example of docs/istio-metrics.md, "Stat names": productpage → reviews over mTLS.
const INBOUND_ATTRIBUTES = {
  "connection.mtls": true,
  "connection.uri_san_peer_certificate": PRODUCTPAGE_SAN,
  "connection.uri_san_local_certificate": REVIEWS_SAN,
  cluster_name: "inbound|9080||",
  "cluster_metadata.filter_metadata.istio.services.0.host": "reviews.default.svc.cluster.local",
  "cluster_metadata.filter_metadata.istio.services.0.name": "reviews",
};
const INBOUND_LABELS = labelSet({
  reporter: "destination",
  ...nodeLabels("source", PRODUCTPAGE),
  source_principal: PRODUCTPAGE_SAN,
  ...nodeLabels("destination", REVIEWS),
  destination_principal: REVIEWS_SAN,
  destination_service: "reviews.default.svc.cluster.local",
  destination_service_name: "reviews",
  destination_service_namespace: "default",
  request_protocol: "http",
  response_flags: "-",
  connection_security_policy: "mutual_tls",
  response_code: "200",
  grpc_response_status: "",
});

for (const variant of [AS_028_MINIMAL, AS_027_MINIMAL]) {
  describe(`stats (${variant.name})`, () => {
    beforeAll(async () => {
      wasm = await buildVariant(join(ROOT, "plugins", "stats"), variant);
    }, 120_000);

    describe("stats: HTTP", () => {
      it("inbound: the document's example labels, encoded name and Prometheus output", async () => {
        const host = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ disable_host_header_fallback: true }));
        const samples = [
          { durationMs: 3, requestBytes: 300, responseBytes: 1200 },
          { durationMs: 42, requestBytes: 310, responseBytes: 900 },
          { durationMs: 7000, requestBytes: 5, responseBytes: 70000 },
        ];
        for (const sample of samples) {
          exchange(host, { ...sample, properties: INBOUND_ATTRIBUTES, filterState: { downstream_peer: flatNodeOf(PRODUCTPAGE), downstream_peer_id: Buffer.from("sidecar~productpage") } });
        }
        // The stat name as Envoy's /stats would show it (without the wasmcustom. namespace).
        const names = host.host.metrics.all().map((m) => m.name);
        expect(names).toContain(
          "reporter=.=destination;.;source_workload=.=productpage-v1;.;source_workload_namespace=.=default;.;" +
          `source_principal=.=${PRODUCTPAGE_SAN};.;source_app=.=productpage;.;source_version=.=v1;.;` +
          "source_canonical_service=.=productpage;.;source_canonical_revision=.=v1;.;source_cluster=.=Kubernetes;.;" +
          "destination_workload=.=reviews-v1;.;destination_workload_namespace=.=default;.;" +
          `destination_principal=.=${REVIEWS_SAN};.;destination_app=.=reviews;.;destination_version=.=v1;.;` +
          "destination_service=.=reviews.default.svc.cluster.local;.;destination_service_name=.=reviews;.;" +
          "destination_service_namespace=.=default;.;destination_canonical_service=.=reviews;.;" +
          "destination_canonical_revision=.=v1;.;destination_cluster=.=Kubernetes;.;request_protocol=.=http;.;" +
          "response_flags=.=-;.;connection_security_policy=.=mutual_tls;.;response_code=.=200;.;grpc_response_status=.=;.;" +
          "istio_requests_total",
        );
        expectFamilies(host, httpMetrics(new ExpectedMetrics(), INBOUND_LABELS, samples).gauge(...BUILD("1.16.1")));
        // And the exact line the document shows for this series.
        expect(host.prometheus()).toContain(`istio_requests_total{reporter="destination",source_workload="productpage-v1",`);
      });

      it("inbound: the same labels from Envoy's own attributes (node message, TLS, cluster metadata)", async () => {
        const host = await createTestHost({ wasm, rootId: "stats_inbound", configuration: JSON.stringify({ disable_host_header_fallback: true }), node: { id: "sidecar~reviews", metadata: REVIEWS } });
        host.host.tagExtractor = istioTagExtractor;
        const s = host.httpStream({
          mtls: true,
          tls: { uriSanPeerCertificate: PRODUCTPAGE_SAN, uriSanLocalCertificate: REVIEWS_SAN },
          clusterName: "inbound|9080||",
          clusterMetadata: { istio: { services: [{ host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" }] } },
          filterState: { "wasm.downstream_peer": flatNodeOf(PRODUCTPAGE), "wasm.downstream_peer_id": "sidecar~productpage" },
        });
        s.callOnRequestHeaders({ ":method": "GET", ":path": "/reviews/0", ":authority": "reviews:9080" }, true);
        s.callOnResponseHeaders({ ":status": "200" }, true);
        s.complete();
        const series = host.prometheus().split("\n").filter((l) => l.startsWith("istio_requests_total{"));
        expect(series).toEqual([`istio_requests_total${labelText(INBOUND_LABELS, HTTP_LABELS)} 1`]);
      });

      it("inbound: failures are separate series with response flags and code; plain TLS is 'none'", async () => {
        const host = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ disable_host_header_fallback: true }));
        const sample = { durationMs: 1, requestBytes: 100, responseBytes: 90 };
        exchange(host, { ...sample, status: 503, properties: { ...INBOUND_ATTRIBUTES, "response.flags": BigInt(0x20 | 0x8000) }, filterState: { downstream_peer: flatNodeOf(PRODUCTPAGE) } });
        exchange(host, { ...sample, status: 200, properties: { ...INBOUND_ATTRIBUTES, "connection.mtls": false, "connection.uri_san_peer_certificate": "", "connection.uri_san_local_certificate": "" } });
        const failed = { ...INBOUND_LABELS, response_code: "503", response_flags: "UF,URX" };
        const plain = labelSet({
          ...INBOUND_LABELS, ...nodeLabels("source", undefined), source_principal: "unknown", destination_principal: "unknown",
          connection_security_policy: "none",
        });
        const e = new ExpectedMetrics();
        httpMetrics(e, failed, [sample]);
        httpMetrics(e, plain, [sample]);
        expectFamilies(host, e.gauge(...BUILD("1.16.1")));
      });

      it("inbound without cluster metadata: destination_service is the local canonical name (host fallback off) or the host header (on)", async () => {
        const sample = { durationMs: 2, requestBytes: 10, responseBytes: 20 };
        const off = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ disable_host_header_fallback: true }));
        exchange(off, sample);
        const on = await statsHost("stats_inbound", REVIEWS);
        exchange(on, sample);
        // A plaintext connection has connection.mtls false: policy "none".
        const base = labelSet({
          reporter: "destination", ...nodeLabels("destination", REVIEWS), destination_service_namespace: "default", request_protocol: "http",
          response_code: "200", connection_security_policy: "none",
        });
        expectFamilies(off, httpMetrics(new ExpectedMetrics(), { ...base, destination_service: "reviews", destination_service_name: "reviews" }, [sample]).gauge(...BUILD("1.16.1")));
        expectFamilies(on, httpMetrics(new ExpectedMetrics(), { ...base, destination_service: "reviews:9080", destination_service_name: "reviews:9080" }, [sample]).gauge(...BUILD("1.16.1")));
      });

      it("outbound: upstream peer from metadata exchange, principals from the upstream connection", async () => {
        const host = await statsHost("stats_outbound", PRODUCTPAGE);
        const sample = { durationMs: 12, requestBytes: 250, responseBytes: 4000 };
        exchange(host, {
          ...sample,
          filterState: { upstream_peer: flatNodeOf(REVIEWS), upstream_peer_id: Buffer.from("sidecar~reviews") },
          properties: {
            "upstream.uri_san_peer_certificate": REVIEWS_SAN, "upstream.uri_san_local_certificate": PRODUCTPAGE_SAN,
            cluster_name: "outbound|9080||reviews.default.svc.cluster.local",
            "cluster_metadata.filter_metadata.istio.services.0.host": "reviews.default.svc.cluster.local",
            "cluster_metadata.filter_metadata.istio.services.0.name": "reviews",
          },
        });
        const set = labelSet({
          reporter: "source", ...nodeLabels("source", PRODUCTPAGE), source_principal: PRODUCTPAGE_SAN,
          ...nodeLabels("destination", REVIEWS), destination_principal: REVIEWS_SAN,
          destination_service: "reviews.default.svc.cluster.local", destination_service_name: "reviews",
          destination_service_namespace: "default", request_protocol: "http", response_code: "200",
          // Outbound never knows the security policy.
          connection_security_policy: "unknown",
        });
        expectFamilies(host, httpMetrics(new ExpectedMetrics(), set, [sample]).gauge(...BUILD("1.16.1")));
      });

      it("outbound without exchange: the peer from upstream_host_metadata istio.workload, the service from the host header", async () => {
        const host = await statsHost("stats_outbound", PRODUCTPAGE);
        const sample = { durationMs: 4, requestBytes: 1, responseBytes: 2 };
        exchange(host, { ...sample, properties: { "upstream_host_metadata.filter_metadata.istio.workload": "reviews-v2;default;reviews;v2;Kubernetes" } });
        // Fewer than five parts: not usable, the peer stays unknown.
        exchange(host, { ...sample, properties: { "upstream_host_metadata.filter_metadata.istio.workload": "reviews-v2;default;reviews" } });
        const base = labelSet({
          reporter: "source", ...nodeLabels("source", PRODUCTPAGE), request_protocol: "http", response_code: "200",
          destination_service: "reviews:9080", destination_service_name: "reviews:9080",
        });
        const e = new ExpectedMetrics();
        httpMetrics(e, {
          ...base, destination_workload: "reviews-v2", destination_workload_namespace: "default", destination_service_namespace: "default",
          destination_canonical_service: "reviews", destination_canonical_revision: "v2", destination_cluster: "Kubernetes",
        }, [sample]);
        httpMetrics(e, base, [sample]);
        expectFamilies(host, e.gauge(...BUILD("1.16.1")));
      });

      it("outbound: BlackHole and Passthrough names; disable_host_header_fallback gives unknown", async () => {
        const host = await statsHost("stats_outbound", PRODUCTPAGE, JSON.stringify({ disable_host_header_fallback: true }));
        const sample = { durationMs: 0, requestBytes: 0, responseBytes: 0 };
        exchange(host, { ...sample, status: 502, properties: { route_name: "block_all", cluster_name: "BlackHoleCluster" } });
        exchange(host, { ...sample, properties: { route_name: "allow_any", cluster_name: "PassthroughCluster" } });
        exchange(host, { ...sample, properties: { cluster_name: "PassthroughCluster" } });
        exchange(host, sample);
        const base = labelSet({ reporter: "source", ...nodeLabels("source", PRODUCTPAGE), request_protocol: "http", response_code: "200", destination_service: "unknown" });
        const e = new ExpectedMetrics();
        httpMetrics(e, { ...base, destination_service_name: "BlackHoleCluster", response_code: "502" }, [sample]);
        httpMetrics(e, { ...base, destination_service_name: "PassthroughCluster" }, [sample, sample]);
        httpMetrics(e, { ...base, destination_service_name: "unknown" }, [sample]);
        expectFamilies(host, e.gauge(...BUILD("1.16.1")));
      });

      it("a local node without labels: canonical service falls back to the workload, revision to latest", async () => {
        const bare = { NAMESPACE: "ns1", WORKLOAD_NAME: "bare" };
        const host = await statsHost("stats_outbound", bare);
        const sample = { durationMs: 1, requestBytes: 1, responseBytes: 1 };
        exchange(host, sample);
        const set = labelSet({
          reporter: "source", source_workload: "bare", source_workload_namespace: "ns1", source_canonical_service: "bare",
          request_protocol: "http", response_code: "200", destination_service: "reviews:9080", destination_service_name: "reviews:9080",
        });
        expectFamilies(host, httpMetrics(new ExpectedMetrics(), set, [sample]).gauge(...BUILD("unknown")));
      });
    });

    describe("stats: gRPC", () => {
      const GRPC = { "content-type": "application/grpc", ":path": "/reviews.Reviews/Get" };

      it("inbound gRPC: status from trailers, message counters on the timer and at the end", async () => {
        const host = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ disable_host_header_fallback: true, tcp_reporting_duration: "5s" }));
        expect(host.tickPeriodMs).toBe(5000);
        const s = host.httpStream();
        s.stream.info.filterState.set("wasm.downstream_peer", flatNodeOf(PRODUCTPAGE));
        s.stream.info.filterState.set("wasm.downstream_peer_id", Buffer.from("sidecar~productpage"));
        for (const [k, v] of Object.entries(INBOUND_ATTRIBUTES)) s.setProperty(k, v);
        s.setProperty("request.duration", 9_000_000n);
        s.setProperty("request.total_size", 120n);
        s.setProperty("response.total_size", 80n);
        const grpcStats = (v: string) => s.stream.info.filterState.set("envoy.filters.http.grpc_stats", Buffer.from(v));
        s.callOnRequestHeaders({ ":method": "POST", ":authority": "reviews:9080", ...GRPC }, false);
        s.callOnResponseHeaders({ ":status": "200", "content-type": "application/grpc" }, false);
        grpcStats("3,2");
        host.advanceTime(5000);
        const peer = { ...INBOUND_LABELS, request_protocol: "grpc" };
        const msgs = (req: number, resp: number) => new ExpectedMetrics()
          .counter("istio_request_messages_total", peer, PEER_LABELS, req)
          .counter("istio_response_messages_total", peer, PEER_LABELS, resp);
        expectFamilies(host, msgs(3, 2).gauge(...BUILD("1.16.1")));
        grpcStats("7,2");
        host.advanceTime(5000);
        expectFamilies(host, msgs(7, 2).gauge(...BUILD("1.16.1")));
        grpcStats("8,5");
        s.callOnResponseTrailers({ "grpc-status": "14", "grpc-message": "unavailable" });
        s.complete();
        expectFamilies(host, httpMetrics(msgs(8, 5), { ...peer, grpc_response_status: "14" }, [{ durationMs: 9, requestBytes: 120, responseBytes: 80 }]).gauge(...BUILD("1.16.1")));
      });

      it("a gRPC response without status reports grpc_response_status 2; grpc+proto and grpc+json count as gRPC", async () => {
        const host = await statsHost("stats_outbound", PRODUCTPAGE, JSON.stringify({ disable_host_header_fallback: true }));
        const sample = { durationMs: 1, requestBytes: 1, responseBytes: 1 };
        exchange(host, { ...sample, request: { "content-type": "application/grpc+proto" } });
        exchange(host, { ...sample, request: { "content-type": "application/grpc+json" }, trailers: { "grpc-status": "0" } });
        exchange(host, { ...sample, request: { "content-type": "application/grpc-web" } });
        const base = labelSet({ reporter: "source", ...nodeLabels("source", PRODUCTPAGE), response_code: "200" });
        const e = new ExpectedMetrics();
        httpMetrics(e, { ...base, request_protocol: "grpc", grpc_response_status: "2" }, [sample]);
        httpMetrics(e, { ...base, request_protocol: "grpc", grpc_response_status: "0" }, [sample]);
        httpMetrics(e, { ...base, request_protocol: "http" }, [sample]);
        expectFamilies(host, e.gauge(...BUILD("1.16.1")));
      });
    });

    describe("stats: TCP (network filter)", () => {
      function tcpMetrics(set: Record<string, string>, v: { opened: number; closed: number; sent: number; received: number }): ExpectedMetrics {
        // The first report defines all four stats (Envoy shows a defined stat at 0 until it moves).
        return new ExpectedMetrics()
          .counter("istio_tcp_connections_opened_total", set, TCP_LABELS, v.opened)
          .counter("istio_tcp_connections_closed_total", set, TCP_LABELS, v.closed)
          .counter("istio_tcp_sent_bytes_total", set, TCP_LABELS, v.sent)
          .counter("istio_tcp_received_bytes_total", set, TCP_LABELS, v.received)
          .gauge(...BUILD("1.16.1"));
      }

      it("inbound: reports on the timer once the peer is known, deltas only, and at close", async () => {
        const host = await statsHost("stats_inbound", REVIEWS);
        const conn = host.tcpConnection({
          filterState: { "wasm.downstream_peer": flatNodeOf(PRODUCTPAGE), "wasm.downstream_peer_id": "sidecar~productpage" },
          extra: INBOUND_ATTRIBUTES,
        });
        conn.callOnDownstreamData("hello");
        conn.callOnUpstreamData("world!");
        const set = { ...INBOUND_LABELS, request_protocol: "tcp", response_code: "", grpc_response_status: "" };
        expectFamilies(host, new ExpectedMetrics().gauge(...BUILD("1.16.1")));
        host.advanceTime(15000);
        expectFamilies(host, tcpMetrics(set, { opened: 1, closed: 0, sent: 6, received: 5 }));
        host.advanceTime(15000); // nothing new: no change
        expectFamilies(host, tcpMetrics(set, { opened: 1, closed: 0, sent: 6, received: 5 }));
        conn.callOnDownstreamData("0123456789");
        conn.callOnUpstreamData("x".repeat(20));
        conn.closeDownstream();
        expectFamilies(host, tcpMetrics(set, { opened: 1, closed: 1, sent: 26, received: 15 }));
        // The closed connection is no longer reported on the timer.
        host.advanceTime(15000);
        expectFamilies(host, tcpMetrics(set, { opened: 1, closed: 1, sent: 26, received: 15 }));
      });

      it("outbound without metadata exchange: waits until close, then reports with the endpoint's istio.workload", async () => {
        const host = await statsHost("stats_outbound", PRODUCTPAGE, JSON.stringify({ tcp_reporting_duration: "1s" }));
        const conn = host.tcpConnection({ extra: { "upstream_host_metadata.filter_metadata.istio.workload": "mysql-v1;db;mysql;v8;Kubernetes" } });
        conn.callOnDownstreamData("query");
        conn.callOnUpstreamData("rows");
        host.advanceTime(3000);
        expectFamilies(host, new ExpectedMetrics().gauge(...BUILD("1.16.1")));
        conn.closeDownstream();
        const set = labelSet({
          reporter: "source", ...nodeLabels("source", PRODUCTPAGE), destination_workload: "mysql-v1", destination_workload_namespace: "db",
          destination_service_namespace: "db", destination_canonical_service: "mysql", destination_canonical_revision: "v8",
          destination_cluster: "Kubernetes", request_protocol: "tcp", response_code: "",
        });
        expectFamilies(host, tcpMetrics(set, { opened: 1, closed: 1, sent: 4, received: 5 }));
      });

      it("a connection that failed (response flags set) reports on the timer without a peer", async () => {
        const host = await statsHost("stats_outbound", PRODUCTPAGE, JSON.stringify({ tcp_reporting_duration: "2s" }));
        const conn = host.tcpConnection({ extra: { "response.flags": BigInt(0x20) } });
        conn.callOnDownstreamData("abc");
        host.advanceTime(2000);
        const set = labelSet({ reporter: "source", ...nodeLabels("source", PRODUCTPAGE), request_protocol: "tcp", response_flags: "UF", response_code: "" });
        expectFamilies(host, tcpMetrics(set, { opened: 1, closed: 0, sent: 0, received: 3 }));
      });
    });

    describe("stats: configuration", () => {
      const sample = { durationMs: 5, requestBytes: 50, responseBytes: 500 };

      it("metrics[]: dimensions (paths and CEL), tags_to_remove, drop; new tags appended in name order", async () => {
        const config = {
          metrics: [
            {
              name: "requests_total",
              dimensions: {
                user_kind: "request.headers['x-user'] == 'admin' ? 'admin' : 'other'",
                request_host: "request.host",
                destination_port: "string(destination.port)",
                source_app: "'overridden-' + request.method",
              },
              tags_to_remove: ["source_principal", "destination_principal", "no_such_tag"],
            },
            { name: "request_bytes", drop: true },
            { dimensions: { peer_app: "downstream_peer.labels['app'].value" } },
          ],
        };
        const host = await statsHost("stats_inbound", REVIEWS, JSON.stringify(config));
        host.host.tagExtractor = createIstioTagExtractor({ extraStatTags: ["destination_port", "request_host", "user_kind", "peer_app"] });
        exchange(host, { ...sample, request: { "x-user": "admin" }, properties: { ...INBOUND_ATTRIBUTES, "destination.port": 9080n }, filterState: { downstream_peer: flatNodeOf(PRODUCTPAGE) } });
        const set: Record<string, string> = {
          ...INBOUND_LABELS, source_app: "overridden-GET", destination_port: "9080", request_host: "reviews:9080", user_kind: "admin", peer_app: "productpage",
        };
        const reqNames = [...HTTP_LABELS.filter((l) => l !== "source_principal" && l !== "destination_principal"), "destination_port", "request_host", "user_kind", "peer_app"];
        const allNames = [...HTTP_LABELS, "peer_app"];
        // The other metrics keep source_app and gain only the unnamed override's tag.
        const others = { ...set, source_app: "productpage" };
        const e = new ExpectedMetrics()
          .counter("istio_requests_total", set, reqNames, 1)
          .histogram("istio_request_duration_milliseconds", others, allNames, [sample.durationMs])
          .histogram("istio_response_bytes", others, allNames, [sample.responseBytes])
          .gauge(...BUILD("1.16.1"));
        expectFamilies(host, e);
        expect(host.logs("warn")).toEqual([]);
      });

      it("definitions[]: custom metrics valued by an expression, tagged by metrics[] dimensions", async () => {
        const config = {
          definitions: [
            { name: "request_items_total", value: "int(request.headers['x-items'])" },
            { name: "last_items", value: "int(request.headers['x-items']) + 1", type: "GAUGE" },
          ],
          metrics: [{ name: "request_items_total", dimensions: { reporter: "'custom'", path: "request.url_path" } }],
        };
        const host = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ ...config, disable_host_header_fallback: true }));
        host.host.tagExtractor = createIstioTagExtractor({ extraStatTags: ["path"] });
        exchange(host, { ...sample, request: { "x-items": "4" }, properties: INBOUND_ATTRIBUTES });
        // An evaluation failure values the sample 0 (a counter then skips it), as in Istio.
        exchange(host, { ...sample, request: { "x-items": "not a number" }, properties: INBOUND_ATTRIBUTES });
        exchange(host, { ...sample, request: { "x-items": "2" }, properties: INBOUND_ATTRIBUTES });
        const text = host.prometheus();
        expect(text).toContain('istio_request_items_total{reporter="custom",path="/reviews/0"} 6');
        expect(text).toContain("istio_last_items{} 3");
        expect(host.logs("warn")).toEqual([]);
      });

      it("tcp_reporting_duration and separators are honoured; a malformed value keeps the default", async () => {
        const host = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ tcp_reporting_duration: "1m30s", field_separator: ";;", value_separator: "==" }));
        expect(host.tickPeriodMs).toBe(90000);
        exchange(host, sample);
        expect(host.host.metrics.all().some((m) => m.name.startsWith("reporter==destination;;source_workload==unknown;;"))).toBe(true);
        const bad = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ tcp_reporting_duration: "soon" }));
        expect(bad.tickPeriodMs).toBe(15000);
        expect(bad.logs("warn").join("\n")).toMatch(/tcp_reporting_duration must be a positive duration/);
      });

      it("expressions outside the supported CEL subset are refused with a clear log; the tag is dropped", async () => {
        const unsupported: Record<string, RegExp> = {
          a_size: /unsupported function 'size'/,
          b_method: /method calls \('\.startsWith\(\)'\) are not supported/,
          c_less: /unsupported operator '<'/,
          d_list: /list and map literals are not supported/,
          e_in: /unsupported operator 'in'/,
          f_minus: /unsupported operator '-'/,
          g_syntax: /unterminated string literal/,
        };
        const exprs: Record<string, string> = {
          a_size: "size(request.path)",
          b_method: "request.path.startsWith('/api')",
          c_less: "response.code < 500",
          d_list: "[1, 2]",
          e_in: "'a' in request.headers",
          f_minus: "response.code - 1",
          g_syntax: "'open",
        };
        const host = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ metrics: [{ name: "requests_total", dimensions: { ...exprs, response_code: "size(x)" } }] }));
        const warnings = host.logs("warn").join("\n");
        for (const [tag, re] of Object.entries(unsupported)) {
          expect(warnings).toMatch(new RegExp(`dimensions\\['${tag}'\\]: cannot use .*`));
          expect(warnings).toMatch(re);
        }
        exchange(host, sample);
        const requests = host.host.metrics.all().find((m) => m.name.endsWith("istio_requests_total"))!;
        // Rejected new tags are not added; a rejected override of a standard tag removes it.
        expect(requests.name).not.toMatch(/a_size|response_code/);
        expect(requests.name).toMatch(/;\.;grpc_response_status=\.=;\.;istio_requests_total$/);
      });

      it("expressions: operators, precedence, conversions, peers and failures", async () => {
        const dims: Record<string, string> = {
          e_and_or: "has(request.headers['x-user']) && !(request.method == 'POST') || false ? 'yes' : 'no'",
          e_concat: "request.method + ':' + request.url_path",
          e_int: "string(response.code + 1)",
          e_int_parse: "string(int('41') + 1)",
          e_bool: "string(connection.mtls)",
          e_ne: "request.headers['x-user'] != 'admin'",
          e_missing: "request.headers['x-absent']",
          e_type_error: "request.method + 1",
          e_peer: "downstream_peer.namespace + '/' + downstream_peer.labels['version']",
          e_has_peer: "has(upstream_peer.workload_name)",
          e_filter_state: "istio_operationId",
          e_node: "node.metadata['WORKLOAD_NAME']",
        };
        const host = await statsHost("stats_inbound", REVIEWS, JSON.stringify({ metrics: [{ name: "requests_total", dimensions: dims }] }));
        exchange(host, {
          ...sample, request: { "x-user": "bob" }, properties: { ...INBOUND_ATTRIBUTES, "connection.mtls": true },
          filterState: { downstream_peer: flatNodeOf(PRODUCTPAGE), istio_operationId: Buffer.from("GetReviews") },
        });
        expect(host.logs("warn")).toEqual([]);
        const name = host.host.metrics.all().find((m) => m.name.endsWith("istio_requests_total"))!.name;
        const got = Object.fromEntries([...name.matchAll(/(?<=^|;\.;)(e_\w+)=\.=(.*?);\.;/g)].map((m) => [m[1], m[2]]));
        expect(got).toEqual({
          e_and_or: "yes", e_bool: "true", e_concat: "GET:/reviews/0", e_filter_state: "GetReviews", e_has_peer: "false",
          e_int: "201", e_int_parse: "42", e_missing: "unknown", e_ne: "true", e_node: "reviews-v1", e_peer: "default/v1",
          e_type_error: "unknown",
        });
      });

      it("reporter SERVER_GATEWAY: reporter waypoint, source from the downstream peer, destination from the upstream peer", async () => {
        const host = await statsHost("stats_inbound", { NAMESPACE: "istio-system", WORKLOAD_NAME: "waypoint" }, JSON.stringify({ reporter: "SERVER_GATEWAY", disable_host_header_fallback: true }));
        // TLS whose certificates carry no URI SAN: the TLS version says the connection is TLS, so mtls is asked.
        exchange(host, { ...sample, properties: { "connection.mtls": true, "connection.tls_version": "TLSv1.3" }, filterState: { downstream_peer: flatNodeOf(PRODUCTPAGE), upstream_peer: flatNodeOf(REVIEWS) } });
        const [series] = host.prometheus().split("\n").filter((l) => l.startsWith("istio_requests_total{"));
        expect(series).toContain('reporter="waypoint",source_workload="productpage-v1",');
        expect(series).toContain('destination_workload="reviews-v1",destination_workload_namespace="default",');
        expect(series).toContain('connection_security_policy="mutual_tls"');
      });

      it("a configuration that is not JSON is logged and the defaults apply", async () => {
        const host = await statsHost("stats_inbound", REVIEWS, "{nope");
        expect(host.logs("warn").join("\n")).toMatch(/stats: configuration is not a JSON object/);
        exchange(host, sample);
        expect(host.prometheus()).toMatch(/^istio_requests_total\{reporter="destination",.*\} 1$/m);
      });

      it("label values never break the stat name encoding", async () => {
        const host = await statsHost("stats_outbound", PRODUCTPAGE);
        exchange(host, { ...sample, request: { ":authority": "evil;.;reporter=.=forged" } });
        const text = host.prometheus();
        expect(text).toMatch(/istio_requests_total\{reporter="source",.*destination_service="evil_reporter_forged",/);
        expect(text).not.toContain("forged;");
      });

      it("unknown root ids follow each stream's listener direction", async () => {
        const host = await createTestHost({ wasm, rootId: "my_stats", properties: { ...nodeProperties("sidecar~x", PRODUCTPAGE), listener_direction: 2 } });
        host.host.tagExtractor = istioTagExtractor;
        exchange(host, sample);
        expect(host.prometheus()).toMatch(/istio_requests_total\{reporter="source",source_workload="productpage-v1",/);
        expect(host.logs("info").join("\n")).toMatch(/root id 'my_stats' is neither stats_inbound nor stats_outbound; each stream reports as source on outbound listeners/);
      });
    });
  });
}
