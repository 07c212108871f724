// Two sidecars in a row, as in a mesh: client → client proxy (outbound) → wire → server proxy
// (inbound) → application. Both proxies are dev proxies (what `pwasm run` starts) on 127.0.0.1
// with port 0. Shows the exchange headers on the wire, stripped before either application, the
// peer known on both sides, and the stats of both sides agreeing on every workload label.
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { isStale } from "../../cli/build/stale.js";
import { decodePeerMetadata } from "../../host/istio/peer_metadata.js";
import { startDevProxy, type DevProxy, type DevProxyPlugin } from "../../host/proxy/dev_proxy.js";
import { built } from "../helpers/paths.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";
import { PRODUCTPAGE, REVIEWS, nodeProperties, type NodeMetadata } from "./helpers/mx.js";
import { get, seriesOf, startRelay, type Relay } from "./helpers/relay.js";

const mx = built("plugins/metadata-exchange");
const stats = built("plugins/stats");
const istio = built("plugins/istio");
let probe = "";
const PRODUCTPAGE_ID = "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local";
const REVIEWS_ID = "sidecar~10.244.0.20~reviews-v1-545db77b95-qd2hq.default~default.svc.cluster.local";

beforeAll(async () => {
  const dir = join(import.meta.dirname, "fixtures", "peer-probe");
  probe = join(dir, "build", "release.wasm");
  if (isStale(dir, probe)) await compileProject({ dir });
});

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function proxy(plugins: DevProxyPlugin[], id: string, md: NodeMetadata, direction: 1 | 2, upstream: string): Promise<DevProxy> {
  const p = await startDevProxy({
    plugins, port: 0, admin: { port: 0 }, upstream, properties: nodeProperties(id, md, direction), logLevel: "warn",
  });
  open.push(p);
  return p;
}

/** application ← server proxy ← relay ← client proxy; returns the pieces. */
async function mesh(clientPlugins: DevProxyPlugin[], serverPlugins: DevProxyPlugin[]): Promise<{ app: Upstream; relay: Relay; client: DevProxy; server: DevProxy }> {
  const app = await startUpstream();
  open.push(app);
  const server = await proxy(serverPlugins, REVIEWS_ID, REVIEWS, 1, app.url);
  const relay = await startRelay(server.url);
  open.push(relay);
  const client = await proxy(clientPlugins, PRODUCTPAGE_ID, PRODUCTPAGE, 2, relay.url);
  return { app, relay, client, server };
}

describe("two hops through two dev proxies", () => {
  it("metadata exchange: headers on the wire, stripped before both applications, peer known on both sides", async () => {
    const { app, relay, client } = await mesh([{ wasm: probe }, { wasm: mx }], [{ wasm: probe }, { wasm: mx }]);
    const r = await get(client.url, "/reviews/0", { host: "reviews:9080" });
    expect(r.status).toBe(200);

    // On the wire: the client's identity on the request, the server's on the response.
    expect(relay.seen).toHaveLength(1);
    const wire = relay.seen[0]!;
    expect(wire.requestHeaders["x-envoy-peer-metadata-id"]).toBe(PRODUCTPAGE_ID);
    expect(decodePeerMetadata(wire.requestHeaders["x-envoy-peer-metadata"] as string)).toEqual(PRODUCTPAGE);
    expect(wire.responseHeaders["x-envoy-peer-metadata-id"]).toBe(REVIEWS_ID);
    expect(decodePeerMetadata(wire.responseHeaders["x-envoy-peer-metadata"] as string)).toEqual(REVIEWS);

    // Neither application sees them.
    expect(app.seen).toHaveLength(1);
    expect(Object.keys(app.seen[0]!.headers).filter((h) => h.startsWith("x-envoy-peer"))).toEqual([]);
    expect(Object.keys(r.headers).filter((h) => h.startsWith("x-envoy-peer"))).toEqual([]);

    // Each side knows the other: the server's probe saw the client as its downstream peer (its
    // header crossed the wire back), the client's probe sees the server as its upstream peer.
    expect(wire.responseHeaders["x-probe-downstream-peer"]).toBe("productpage-v1");
    expect(wire.responseHeaders["x-probe-upstream-peer"]).toBe("none");
    expect(r.headers["x-probe-upstream-peer"]).toBe("reviews-v1");
    expect(r.headers["x-probe-downstream-peer"]).toBe("none");
  });

  it("a client outside the mesh gets no exchange headers back, and the server's peer stays unknown", async () => {
    const app = await startUpstream();
    open.push(app);
    const server = await proxy([{ wasm: probe }, { wasm: mx }], REVIEWS_ID, REVIEWS, 1, app.url);
    const r = await get(server.url, "/reviews/0");
    expect(r.status).toBe(200);
    expect(Object.keys(r.headers).filter((h) => h.startsWith("x-envoy-peer"))).toEqual([]);
    expect(r.headers["x-probe-downstream-peer"]).toBe("none");
  });

  // The two plugins as two modules, and plugins/istio's one module serving both filters from one VM
  // (the same vm_id; the root id picks metadata-exchange or stats).
  const chains: Array<[string, (side: "stats_outbound" | "stats_inbound") => DevProxyPlugin[]]> = [
    ["two modules", (side) => [{ wasm: mx }, { wasm: stats, rootId: side }]],
    ["plugins/istio, one VM", (side) => [{ wasm: istio, rootId: "metadata_exchange", vmId: "istio" }, { wasm: istio, rootId: side, vmId: "istio" }]],
  ];
  it.each(chains)("stats on both sides (%s): reporter=source and reporter=destination agree on every workload label", async (_, chain) => {
    const { client, server } = await mesh(chain("stats_outbound"), chain("stats_inbound"));
    const n = 5;
    for (let i = 0; i < n; i++) expect((await get(client.url, `/reviews/${i}`, { host: "reviews:9080" })).status).toBe(200);

    // Streams complete (and report) when their response closes: poll briefly.
    const scrape = async (p: DevProxy) => (await get(p.adminUrl!, "/stats/prometheus")).body;
    let source: Record<string, string> | undefined;
    let destination: Record<string, string> | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      const s = seriesOf(await scrape(client), "istio_requests_total");
      const d = seriesOf(await scrape(server), "istio_requests_total");
      if (s.length === 1 && s[0]!.value === n && d.length === 1 && d[0]!.value === n) {
        source = s[0]!.labels;
        destination = d[0]!.labels;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(source, "client proxy reported istio_requests_total").toBeDefined();
    expect(destination, "server proxy reported istio_requests_total").toBeDefined();
    expect(source!.reporter).toBe("source");
    expect(destination!.reporter).toBe("destination");

    const workloadLabels = [
      "source_workload", "source_workload_namespace", "source_app", "source_version", "source_canonical_service",
      "source_canonical_revision", "source_cluster", "destination_workload", "destination_workload_namespace",
      "destination_app", "destination_version", "destination_canonical_service", "destination_canonical_revision",
      "destination_cluster", "destination_service_namespace",
    ];
    const pick = (l: Record<string, string>) => Object.fromEntries(workloadLabels.map((k) => [k, l[k]]));
    expect(pick(source!)).toEqual(pick(destination!));
    expect(pick(source!)).toEqual({
      source_workload: "productpage-v1", source_workload_namespace: "default", source_app: "productpage", source_version: "v1",
      source_canonical_service: "productpage", source_canonical_revision: "v1", source_cluster: "Kubernetes",
      destination_workload: "reviews-v1", destination_workload_namespace: "default", destination_app: "reviews",
      destination_version: "v1", destination_canonical_service: "reviews", destination_canonical_revision: "v1",
      destination_cluster: "Kubernetes", destination_service_namespace: "default",
    });
    // The same request seen from both ends.
    for (const k of ["request_protocol", "response_code", "response_flags", "destination_service"]) expect(source![k], k).toBe(destination![k]);
    expect(Object.keys(source!)).toHaveLength(25);
    // Both sidecars publish their build.
    expect(await scrape(client)).toContain('istio_build{component="proxy",tag="1.16.1"} 1');
  });
});
