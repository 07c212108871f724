// Property scenarios: the probe plugin (test/differential/fixtures/probe) reads every attribute of
// Envoy's list at on_configure, on_request_headers, on_response_headers and on_log and logs each
// answer, so the embedded host and Envoy are compared attribute by attribute: with an Istio-shaped
// node inbound and outbound, listener metadata, an upstream and a direct response, bodies whole and
// chunked, a local reply, after plugins that changed headers and bodies, and as a network filter.
import { join } from "node:path";
import type { EnvoyPlugin } from "../../../cli/envoy/bootstrap.js";
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { built, ROOT } from "../../helpers/paths.js";
import { CHECKS_PROJECT } from "./examples.js";
import { actions, doing, HTTP_NORMALIZE } from "./http_fixture.js";

/** The probe's project directory (built by buildScenarioFixtures). */
export const PROBE_PROJECT = join(ROOT, "test", "differential", "fixtures", "probe");
const probeWasm = join(PROBE_PROJECT, "build", "release.wasm");
const checks = join(CHECKS_PROJECT, "build", "release.wasm");

/** The probe as one plugin: named, with its own VM id, writing filter state `probe_state`. */
function probe(configuration = "", more: Partial<EnvoyPlugin> = {}): EnvoyPlugin {
  return { wasm: probeWasm, name: "probe_plugin", rootId: "probe", vmId: "probe_vm", configuration: `set probe_state unicorns\n${configuration}`, ...more };
}

// Values the probe shows that differ by run: request ids, dates, the router's service time.
const NORMALIZE: Array<[RegExp, string]> = [
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>"],
  [/[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT/g, "<date>"],
  [/"x-envoy-upstream-service-time"="\d+"/g, "\"x-envoy-upstream-service-time\"=\"<ms>\""],
];

/** An Istio sidecar's node (productpage-v1 in bookinfo). */
const PRODUCTPAGE_NODE = {
  id: "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local",
  cluster: "productpage.default",
  metadata: {
    NAME: "productpage-v1-6b746f74dc-9stvs", NAMESPACE: "default", WORKLOAD_NAME: "productpage-v1", CLUSTER_ID: "Kubernetes",
    ISTIO_VERSION: "1.24.0", MESH_ID: "cluster.local", REPLICAS: 3, MESH: true,
    LABELS: { app: "productpage", version: "v1", "service.istio.io/canonical-name": "productpage" },
  },
};

const REVIEWS_NODE = {
  id: "sidecar~10.244.0.20~reviews-v1-545db77b95-qd2hq.default~default.svc.cluster.local",
  cluster: "reviews.default",
  metadata: { NAME: "reviews-v1-545db77b95-qd2hq", NAMESPACE: "default", WORKLOAD_NAME: "reviews-v1", LABELS: { app: "reviews", version: "v1" } },
};

// Paths the scenarios read besides the built-in list.
const NODE_PATHS = [
  "path s xds node metadata WORKLOAD_NAME", "path s xds node metadata LABELS app", "path h xds node metadata NO_SUCH_KEY",
  "path s xds node metadata LABELS service.istio.io/canonical-name",
  "path s xds listener_metadata filter_metadata istio kind", "path M xds listener_metadata filter_metadata",
].join("\n");

export const PROPERTY_SCENARIOS: Scenario[] = [
  {
    name: "properties: the probe with an Istio node, inbound, listener metadata, bodies whole and chunked",
    proxies: [{
      plugins: [probe(NODE_PATHS)],
      settings: { node: PRODUCTPAGE_NODE, listenerDirection: "inbound", listenerMetadata: { istio: { kind: "inbound", port: 9080 } } },
    }],
    normalize: NORMALIZE,
    steps: [
      {
        name: "GET with a query, a referer, a repeated header",
        request: { path: "/api/v1/products?id=1&x=2", headers: [["user-agent", "probe-client"], ["referer", "http://ref.example/"], ["x-probe-multi", "a"], ["x-probe-multi", "b"]] },
        expect: { status: 200 },
      },
      {
        name: "POST with a content-length body; the upstream answers in chunks with trailers",
        request: { method: "POST", path: "/orders", headers: { "content-type": "application/json", "x-echo-chunks": "3", "x-echo-trailers": "x-checksum=abc" }, body: '{"id":42,"items":[1,2,3]}' },
        expect: { status: 200 },
      },
      {
        name: "PUT with a chunked body (no content-length)",
        request: { method: "PUT", path: "/upload", chunks: ["first,", "second,", "third"], chunkDelayMs: 20 },
        expect: { status: 200 },
      },
      {
        name: "a 503 from the upstream with a gRPC status",
        request: { path: "/fail", headers: { "x-echo-status": "503", "x-echo-header": "grpc-status=14" } },
        expect: { status: 503 },
      },
    ],
  },
  {
    name: "properties: the probe outbound, node metadata from --property, no listener metadata",
    proxies: [{
      plugins: [probe(NODE_PATHS + "\npath s xds node metadata PINNED\npath d xds node metadata PINNED_NUMBER\nonly xds\nonly plugin_\nonly node\nonly listener")],
      settings: {
        node: REVIEWS_NODE, listenerDirection: "outbound",
        properties: { "node.metadata.PINNED": "from-a-property", "xds.node.metadata.PINNED_NUMBER": 7n },
      },
    }],
    normalize: NORMALIZE,
    steps: [{ name: "GET", request: { path: "/reviews/0" }, expect: { status: 200 } }],
  },
  {
    name: "properties: the probe on a direct response (no cluster, no upstream)",
    proxies: [{ plugins: [probe()], settings: { node: { id: "router~10.0.0.1~gateway.istio-system~istio-system.svc.cluster.local" } } }],
    upstream: false,
    directResponse: { status: 202, body: "accepted by the route\n" },
    normalize: NORMALIZE,
    steps: [
      { name: "GET answered by the route", request: { path: "/direct" }, expect: { status: 202 } },
      { name: "POST answered by the route", request: { method: "POST", path: "/direct", body: "ignored body" }, expect: { status: 202 } },
    ],
  },
  {
    name: "properties: the probe first, then a plugin that answers locally",
    proxies: [{ plugins: [probe("only request\nonly response\nonly upstream\nonly xds.cluster\nonly xds.route\nonly xds.upstream"), { wasm: checks, rootId: "e2e_checks" }] }],
    normalize: NORMALIZE,
    steps: [
      { name: "blocked before the body: a local 403", request: { path: "/admin", headers: { "x-block": "1" } }, expect: { status: 403, reachedUpstream: false } },
      { name: "blocked with a body", request: { method: "POST", path: "/admin", headers: { "x-block": "1" }, body: "some body" }, expect: { status: 403, reachedUpstream: false } },
    ],
  },
  {
    name: "properties: the probe after plugins that changed headers and the body",
    proxies: [{
      plugins: [
        { wasm: built("examples/add-header"), rootId: "add_header", configuration: "x-hello: world" },
        { wasm: checks, rootId: "e2e_checks", configuration: "bonjour" },
        actions("actions"),
        probe("only request\nonly response"),
      ],
    }],
    // The actions fixture logs what it sees, with values of its own that differ by run.
    normalize: [...NORMALIZE, ...HTTP_NORMALIZE],
    steps: [
      {
        name: "request headers added and removed before the probe; response headers after it",
        request: { path: "/changed", headers: [["x-secret", "s3cret-value"], ...doing("req-add:x-added=by-actions", "resp-add:x-resp-added=yes")] },
        expect: { status: 200, headers: { "x-greeting": "bonjour", "x-hello": "world" } },
      },
      {
        name: "the response body replaced before the probe sees the response",
        request: { method: "POST", path: "/replaced", body: "twelve bytes", headers: doing("resp-buffer", "resp-replace:a much longer replacement body") },
        expect: { status: 200 },
      },
    ],
  },
  {
    name: "properties: the probe as a network filter",
    proxies: [{ plugins: [probe("tcp\nonly connection\nonly source\nonly destination\nonly upstream\nonly xds\nonly plugin_\nonly filter_state\nonly metadata\nonly request\nonly response\nonly probe_state", { type: "network" })], settings: { node: REVIEWS_NODE, listenerDirection: "inbound" } }],
    upstream: "tcp-echo",
    normalize: NORMALIZE,
    steps: [{ kind: "tcp", name: "one exchange", send: ["hello"], waitMs: 1500 }],
  },
];
