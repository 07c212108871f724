// Per-request cost of plugins/stats (and metadata-exchange) as a ratio to examples/add-header,
// measured side by side in one run: the targets take turns in short rounds, so machine noise hits
// them alike, and each figure is the median over rounds. Every request is a full inbound cycle in
// the embedded host (request headers, response headers, log/done/delete), with the attributes a
// sidecar has: node metadata, a peer from metadata exchange, mTLS and cluster metadata.
//   npm run bench:stats [-- <requests per round> <rounds>]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ProxyWasmHost } from "../host/host.js";
import { encodePeerMetadata } from "../host/istio/peer_metadata.js";
import type { Plugin, PluginOptions } from "../host/plugin/plugin.js";
import { FilterChain, type ChainEnds } from "../host/proxy/filter_chain.js";
import { HeaderMap } from "../host/values/header_map.js";
import type { PropertyLiteral } from "../host/values/property_values.js";
import type { StreamInfoInit } from "../host/values/stream_info.js";

const ROOT = join(import.meta.dirname, "..", "..");

const wasm = (project: string) => join(ROOT, project, "build", "release.wasm");

// The server side of productpage → reviews, as in Istio's Bookinfo.
const REVIEWS_LABELS: Array<[string, string]> = [
  ["app", "reviews"], ["version", "v1"],
  ["service.istio.io/canonical-name", "reviews"], ["service.istio.io/canonical-revision", "v1"],
];
const NODE: Record<string, PropertyLiteral> = {
  "node.id": "sidecar~10.244.0.20~reviews-v1-545db77b95-qd2hq.default~default.svc.cluster.local",
  "node.metadata.NAME": "reviews-v1-545db77b95-qd2hq",
  "node.metadata.NAMESPACE": "default",
  "node.metadata.WORKLOAD_NAME": "reviews-v1",
  "node.metadata.CLUSTER_ID": "Kubernetes",
  "node.metadata.ISTIO_VERSION": "1.16.1",
  "node.metadata.LABELS": REVIEWS_LABELS,
  listener_direction: 1,
};
const PEER_HEADER = encodePeerMetadata({
  NAME: "productpage-v1-6b746f74dc-9stvs", NAMESPACE: "default", WORKLOAD_NAME: "productpage-v1", CLUSTER_ID: "Kubernetes",
  ISTIO_VERSION: "1.16.1", LABELS: { app: "productpage", version: "v1", "service.istio.io/canonical-name": "productpage", "service.istio.io/canonical-revision": "v1" },
});
const PEER_ID = "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local";

const REQUEST: string[] = [
  ":method", "GET", ":path", "/reviews/0", ":authority", "reviews:9080", ":scheme", "http",
  "user-agent", "python-requests/2.31", "accept", "*/*", "x-request-id", "4f9b1c1e-8d0a-4a7e-9d6e-0b2b0d6c9f00",
];
const RESPONSE: string[] = [":status", "200", "content-type", "application/json", "content-length", "295", "server", "istio-envoy"];

/** A plugin chain to measure, and what each request brings with it. */
interface Target {
  name: string;
  plugins: Plugin[];
  bytes: number;
  /** Extra request headers (the peer's exchange headers). */
  requestHeaders: string[];
  /** Filter state present before the chain runs (a peer stored by an earlier filter). */
  filterState: Record<string, Uint8Array>;
  samples: number[];
}

async function load(host: ProxyWasmHost, project: string, options: PluginOptions): Promise<{ plugin: Plugin; bytes: number }> {
  const bytes = readFileSync(wasm(project));
  return { plugin: await host.loadPlugin(bytes, options), bytes: bytes.length };
}

const ends: ChainEnds = { upstream: {}, downstream: {}, reset: (d) => { throw new Error(`stream reset: ${d}`); } };

// What Envoy knows about an inbound mTLS request to reviews (the connection's TLS, the inbound
// cluster and its Istio metadata).
const STREAM: StreamInfoInit = {
  mtls: true,
  tls: {
    version: "TLSv1.3",
    uriSanPeerCertificate: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
    uriSanLocalCertificate: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews",
  },
  clusterName: "inbound|9080||",
  clusterMetadata: { istio: { services: [{ host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" }] } },
};

function cycle(t: Target): void {
  const chain = new FilterChain(t.plugins, ends, { ...STREAM, filterState: t.filterState });
  chain.decodeHeaders(new HeaderMap(t.requestHeaders.length ? [...REQUEST, ...t.requestHeaders] : REQUEST.slice()), true);
  chain.encodeHeaders(new HeaderMap(RESPONSE.slice()), true);
  chain.complete();
}

function round(t: Target, n: number): void {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) cycle(t);
  t.samples.push(Number(process.hrtime.bigint() - t0) / n);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One measured chain: its median per-request time, its ratio to add-header, its size. */
export interface StatsBenchRow {
  name: string;
  medianUs: number;
  ratioToAddHeader: number;
  bytes: number;
}

/** Measures stats, metadata-exchange and their chain against add-header, interleaved. */
export async function runStatsBench(perRound = 2000, rounds = 15): Promise<StatsBenchRow[]> {
  const host = new ProxyWasmHost({ mode: "manual", keepLogs: false, logLevel: "warn", properties: NODE });
  const addHeader = await load(host, "examples/add-header", { rootId: "add_header", configuration: "x-hello: world" });
  const stats = await load(host, "plugins/stats", { rootId: "stats_inbound", configuration: JSON.stringify({ disable_host_header_fallback: true }) });
  const mx = await load(host, "plugins/metadata-exchange", {});

  // The peer as metadata-exchange stores it, for running stats on its own.
  const probe: Target = { name: "", plugins: [mx.plugin], bytes: 0, requestHeaders: ["x-envoy-peer-metadata", PEER_HEADER, "x-envoy-peer-metadata-id", PEER_ID], filterState: {}, samples: [] };
  const info = new FilterChain(probe.plugins, ends, {});
  info.decodeHeaders(new HeaderMap([...REQUEST, ...probe.requestHeaders]), true);
  const storedPeer = info.info.filterState.get("wasm.downstream_peer");
  if (!storedPeer) throw new Error("metadata-exchange stored no peer");

  const targets: Target[] = [
    { name: "examples/add-header", plugins: [addHeader.plugin], bytes: addHeader.bytes, requestHeaders: [], filterState: {}, samples: [] },
    {
      name: "plugins/stats (peer known)", plugins: [stats.plugin], bytes: stats.bytes, requestHeaders: [],
      filterState: { "wasm.downstream_peer": storedPeer, "wasm.downstream_peer_id": Buffer.from(PEER_ID) }, samples: [],
    },
    { name: "plugins/metadata-exchange (inbound, peer cached)", plugins: [mx.plugin], bytes: mx.bytes, requestHeaders: probe.requestHeaders, filterState: {}, samples: [] },
    { name: "metadata-exchange + stats chain", plugins: [mx.plugin, stats.plugin], bytes: mx.bytes + stats.bytes, requestHeaders: probe.requestHeaders, filterState: {}, samples: [] },
  ];

  // Warm-up (JIT, VM caches, the stats plugin's label cache), then interleaved rounds.
  for (const t of targets) round(t, perRound);
  for (const t of targets) t.samples.length = 0;
  for (let r = 0; r < rounds; r++) for (const t of targets) round(t, perRound);

  const failures = [addHeader, stats, mx].reduce((n, p) => n + p.plugin.failures.length, 0);
  if (failures > 0) throw new Error(`${failures} VM failure(s) during the run`);
  // The measured path is the realistic one: the peer, mTLS and the cluster's service were all seen.
  const requests = host.metrics.all().find((m) => m.name.endsWith("istio_requests_total") && m.name.includes("source_workload=.=productpage-v1;.;") &&
    m.name.includes("destination_service=.=reviews.default.svc.cluster.local;.;") && m.name.includes("connection_security_policy=.=mutual_tls;.;"));
  if (!requests || requests.value < rounds * perRound) throw new Error("plugins/stats did not count every request with the expected labels");

  const base = median(targets[0]!.samples);
  return targets.map((t) => ({ name: t.name, medianUs: median(t.samples) / 1000, ratioToAddHeader: median(t.samples) / base, bytes: t.bytes }));
}

// Run directly: print the table.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const perRound = Number(process.argv[2] ?? 2000);
  const rounds = Number(process.argv[3] ?? 15);
  const rows = await runStatsBench(perRound, rounds);
  console.log(`Per-request cost, ${rounds} interleaved rounds × ${perRound} inbound requests (median of round means)`);
  for (const r of rows) {
    console.log(`  ${r.name.padEnd(50)} ${r.medianUs.toFixed(2).padStart(7)} µs   ${r.ratioToAddHeader.toFixed(2).padStart(5)}× add-header   ${(r.bytes / 1024).toFixed(1)} KiB`);
  }
}
