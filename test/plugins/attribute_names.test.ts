// The Istio plugins read xDS attributes under the names the host answers: `xds.node`,
// `xds.listener_direction`, `xds.cluster_name`, … on Envoy ≥ 1.33 (and pwasm), the old top-level
// names (`node`, `listener_direction`, `cluster_name`, …) on older hosts, deciding which once per
// VM — never per request — and they read the listener direction per stream (Envoy 1.40 answers it
// NOT_FOUND at on_configure). An older host is emulated by wrapping the host's attribute lookup:
// it answers every `xds.*` NOT_FOUND and the old names with what `xds.*` would answer.
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestHost, type TestHost } from "../../host/index.js";
import { decodePeerMetadata } from "../../host/istio/peer_metadata.js";
import { createIstioTagExtractor, istioTagExtractor } from "../../host/istio/tag_extractor.js";
import { ROOT } from "../helpers/paths.js";
import { AS_028_MINIMAL, buildVariant } from "../sdk/variants.js";
import { GET, PRODUCTPAGE, REVIEWS, flatNodeOf, nodeProperties } from "./helpers/mx.js";

const OLD_NAMES = new Set(["node", "cluster_name", "cluster_metadata", "route_name", "route_metadata", "listener_direction", "listener_metadata", "upstream_host_metadata"]);

/** How the wrapped lookup behaves, and every path it was asked (segments joined with "."). */
const emulation = vi.hoisted(() => ({ oldHost: false, directionAtConfigure: true, asked: [] as string[] }));

vi.mock("../../host/services/properties.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../host/services/properties.js")>();
  const NOT_FOUND = 1;
  return {
    ...real,
    getProperty: (ctx: Parameters<typeof real.getProperty>[0], rawPath: string) => {
      const segments = rawPath.split("\0");
      emulation.asked.push(segments.join("."));
      const isRoot = ctx.root === ctx;
      const direction = (s: string[]) => s[s.length - 1] === "listener_direction";
      if (emulation.oldHost) {
        if (segments[0] === "xds") return NOT_FOUND;
        if (OLD_NAMES.has(segments[0]!)) {
          if (isRoot && !emulation.directionAtConfigure && direction(segments)) return NOT_FOUND;
          return real.getProperty(ctx, `xds\0${rawPath}`);
        }
      } else if (isRoot && !emulation.directionAtConfigure && segments[0] === "xds" && direction(segments)) {
        return NOT_FOUND;
      }
      return real.getProperty(ctx, rawPath);
    },
  };
});

let mx = "";
let stats = "";
const MD = "x-envoy-peer-metadata";
const ID = "x-envoy-peer-metadata-id";
const PRODUCTPAGE_ID = "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local";

beforeAll(async () => {
  mx = await buildVariant(join(ROOT, "plugins", "metadata-exchange"), AS_028_MINIMAL);
  stats = await buildVariant(join(ROOT, "plugins", "stats"), AS_028_MINIMAL);
}, 120_000);

beforeEach(() => {
  emulation.oldHost = false;
  emulation.directionAtConfigure = true;
  emulation.asked.length = 0;
});

const xdsAsked = () => emulation.asked.filter((p) => p.startsWith("xds."));
const oldAsked = () => emulation.asked.filter((p) => OLD_NAMES.has(p.split(".")[0]!));

/** Three outbound requests through metadata-exchange on a productpage sidecar; the headers sent upstream. */
async function outboundRequests(): Promise<{ host: TestHost; sent: Array<Map<string, string> | undefined> }> {
  const host = await createTestHost({ wasm: mx, properties: nodeProperties(PRODUCTPAGE_ID, PRODUCTPAGE, 2) });
  const sent = [];
  for (let i = 0; i < 3; i++) {
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    sent.push(s.upstream.headers ? new Map([MD, ID].map((k) => [k, s.upstream.headers!.get(k)!])) : undefined);
    s.callOnResponseHeaders({ ":status": "200" }, true);
    s.complete();
  }
  expect(host.failures).toEqual([]);
  return { host, sent };
}

describe("xDS attribute names", () => {
  it("Envoy ≥ 1.33 names: the node and direction are read under xds.*, the old names never", async () => {
    const { sent } = await outboundRequests();
    for (const h of sent) {
      expect(h?.get(ID)).toBe(PRODUCTPAGE_ID);
      expect(decodePeerMetadata(h!.get(MD)!)).toEqual(PRODUCTPAGE);
    }
    expect(oldAsked()).toEqual([]);
    expect(xdsAsked()).toContain("xds.node.metadata.WORKLOAD_NAME");
  });

  it("an older host (old names only): metadata-exchange falls back once, and asks no xds.* per request", async () => {
    emulation.oldHost = true;
    const { host, sent } = await outboundRequests();
    for (const h of sent) {
      expect(h?.get(ID)).toBe(PRODUCTPAGE_ID);
      expect(decodePeerMetadata(h!.get(MD)!)).toEqual(PRODUCTPAGE);
    }
    // The one probe that decided: xds.node.id, NOT_FOUND (then node.id answered).
    expect(xdsAsked()).toEqual(["xds.node.id"]);
    expect(oldAsked()).toContain("node.id");
    expect(oldAsked().filter((p) => p === "listener_direction")).toHaveLength(3);
    expect(host.failures).toEqual([]);
  });

  it("an older host: stats labels come from node, cluster_metadata and listener_direction under their old names", async () => {
    emulation.oldHost = true;
    const host = await createTestHost({ wasm: stats, rootId: "custom_stats", properties: nodeProperties("sidecar~reviews", REVIEWS, 1), configuration: JSON.stringify({
      metrics: [{ name: "requests_total", dimensions: { xds_cluster: "xds.cluster_name", node_cluster_id: "node.metadata['CLUSTER_ID']" } }],
    }) });
    host.host.tagExtractor = createIstioTagExtractor({ extraStatTags: ["xds_cluster", "node_cluster_id"] });
    const s = host.httpStream();
    s.stream.info.filterState.set("wasm.downstream_peer", flatNodeOf(PRODUCTPAGE));
    s.setProperty("cluster_name", "inbound|9080||");
    s.setProperty("cluster_metadata.filter_metadata.istio.services.0.host", "reviews.default.svc.cluster.local");
    s.setProperty("cluster_metadata.filter_metadata.istio.services.0.name", "reviews");
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders({ ":status": "200" }, true);
    s.complete();
    const line = host.prometheus().split("\n").find((l) => l.startsWith("istio_requests_total{"));
    expect(line).toContain('reporter="destination",source_workload="productpage-v1"');
    expect(line).toContain('destination_workload="reviews-v1"');
    expect(line).toContain('destination_service="reviews.default.svc.cluster.local",destination_service_name="reviews"');
    // A dimension written with its xds. name reads the old name on an older host, and the reverse.
    expect(line).toContain('xds_cluster="inbound|9080||",node_cluster_id="Kubernetes"');
    expect(xdsAsked()).toEqual(["xds.node.id"]);
    expect(host.failures).toEqual([]);
  });

  it("the listener direction is read per stream: unknown at on_configure (as in Envoy 1.40), outbound per request", async () => {
    emulation.directionAtConfigure = false;
    const { sent } = await outboundRequests();
    for (const h of sent) expect(h?.get(ID)).toBe(PRODUCTPAGE_ID);
  });

  it("per stream, stats reports a non-standard root id as source on an outbound listener even when on_configure saw no direction", async () => {
    emulation.directionAtConfigure = false;
    const host = await createTestHost({ wasm: stats, rootId: "custom_stats", properties: nodeProperties("sidecar~productpage", PRODUCTPAGE, 2) });
    host.host.tagExtractor = istioTagExtractor;
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders({ ":status": "200" }, true);
    s.complete();
    expect(host.prometheus()).toMatch(/istio_requests_total\{reporter="source",source_workload="productpage-v1",/);
  });
});
