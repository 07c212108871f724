// The demo behind `pwasm demo`, the quick start's main job. Builds the sample plugins, starts real
// services and the dev proxy on free loopback ports, sends real requests through the plugins (with
// the CLI's HTTP client), and prints what happened on the wire: a response header added, a request authorized by an HTTP callout, and
// Istio's telemetry from two sidecars that exchanged metadata.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { startDevProxy, type DevProxy, type DevProxyOptions } from "../../host/proxy/dev_proxy.js";
import { compileProject } from "../build/compile.js";
import { builtLine } from "../build/progress.js";
import { headerValue, httpGet, sendRequest, type HttpResponse } from "../http_client.js";
import { PACKAGE_ROOT } from "../package_root.js";

type Out = (line: string) => void;

interface Service {
  url: string;
  close(): Promise<void>;
}

// A real service on a free loopback port.
async function serve(handler: http.RequestListener): Promise<Service> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

// The application behind the proxies: answers with what it received.
const echo: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ method: req.method, path: req.url, body: Buffer.concat(chunks).toString() }));
  });
};

// One request through a proxy; a response that did not come is an error, as the demo cannot go on.
async function send(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<HttpResponse> {
  const r = await sendRequest(base, { method, path, headers, body });
  if (r.error) throw new Error(`${method} ${base}${path}: ${r.error}`);
  return r;
}

// A proxy's Prometheus page.
async function prometheus(proxy: DevProxy): Promise<string[]> {
  return (await httpGet(`${proxy.adminUrl}/stats/prometheus`, 5000)).body.split("\n");
}

async function build(project: string, out: Out): Promise<string> {
  const r = await compileProject({ dir: join(PACKAGE_ROOT, project), target: "release" });
  out(builtLine(r, false));
  return r.outFile;
}

async function proxy(options: Omit<DevProxyOptions, "port" | "admin">, logs: string[]): Promise<DevProxy> {
  return startDevProxy({ ...options, port: 0, admin: { port: 0 }, logLevel: "info", onLog: (e) => logs.push(e.message) });
}

/** One demo: prints what it did; returns the number of things that did not behave as expected. */
type Scenario = (out: Out, app: Service) => Promise<number>;

const addHeader: Scenario = async (out, app) => {
  out("== add-header: adds a configured response header and counts requests");
  const wasm = await build("examples/add-header", out);
  const logs: string[] = [];
  const p = await proxy({ plugins: [{ wasm, rootId: "add_header", configuration: "x-hello: world" }], upstream: app.url }, logs);
  let failed = 0;
  try {
    out(`dev proxy ${p.url} → upstream ${app.url}, configuration 'x-hello: world'`);
    for (const [method, path, body] of [["GET", "/"], ["POST", "/orders", '{"id":1}']] as const) {
      const r = await send(p.url, method, path, body ? { "content-type": "application/json" } : {}, body);
      const hello = headerValue(r.headers, "x-hello");
      out(`  ${method} ${path} → ${r.status}  x-hello: ${hello ?? "(absent)"}  body: ${r.body}`);
      if (r.status !== 200 || hello !== "world") failed++;
    }
    const line = (await prometheus(p)).find((l) => l.startsWith("add_header_requests_total"));
    out(`  /stats/prometheus: ${line ?? "(no add_header_requests_total)"}`);
    if (line !== "add_header_requests_total{} 2") failed++;
  } finally {
    await p.close();
  }
  return failed;
};

const authCallout: Scenario = async (out, app) => {
  out("== auth-callout: asks an authorization service (an HTTP callout) before letting a request through");
  const wasm = await build("examples/auth-callout", out);
  const auth = await serve((req, res) => {
    req.resume();
    res.writeHead(req.headers.authorization === "Bearer demo" ? 200 : 403).end();
  });
  const logs: string[] = [];
  const p = await proxy({ plugins: [{ wasm, rootId: "auth", configuration: "auth" }], upstream: app.url, clusters: { auth: auth.url } }, logs);
  let failed = 0;
  try {
    out(`dev proxy ${p.url} → upstream ${app.url}; cluster auth → ${auth.url} (allows "Bearer demo")`);
    const ok = await send(p.url, "GET", "/account", { authorization: "Bearer demo" });
    const hello = headerValue(ok.headers, "hello");
    out(`  GET /account (Bearer demo) → ${ok.status}  hello: ${hello ?? "(absent)"}`);
    const denied = await send(p.url, "GET", "/account", { authorization: "Bearer nope" });
    out(`  GET /account (Bearer nope) → ${denied.status}  (answered by the plugin; the upstream never saw it)`);
    if (ok.status !== 200 || hello !== "wasm!" || denied.status !== 401) failed++;
  } finally {
    await p.close();
    await auth.close();
  }
  return failed;
};

// Bookinfo's productpage calling reviews, each with an Istio sidecar running the two plugins.
const PRODUCTPAGE = {
  NAME: "productpage-v1-6b746f74dc-9stvs", NAMESPACE: "default", WORKLOAD_NAME: "productpage-v1", CLUSTER_ID: "Kubernetes",
  LABELS: { app: "productpage", version: "v1", "service.istio.io/canonical-name": "productpage", "service.istio.io/canonical-revision": "v1" },
};
const REVIEWS = {
  NAME: "reviews-v1-545db77b95-qd2hq", NAMESPACE: "default", WORKLOAD_NAME: "reviews-v1", CLUSTER_ID: "Kubernetes",
  LABELS: { app: "reviews", version: "v1", "service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v1" },
};

const istioTelemetry: Scenario = async (out, app) => {
  out("== Istio telemetry: metadata-exchange + stats in two sidecars (productpage → reviews)");
  const mx = await build("plugins/metadata-exchange", out);
  const stats = await build("plugins/stats", out);
  const logs: string[] = [];
  const server = await proxy({
    plugins: [{ wasm: mx }, { wasm: stats, rootId: "stats_inbound" }], upstream: app.url,
    node: { id: "sidecar~10.244.0.20~reviews-v1-545db77b95-qd2hq.default~default.svc.cluster.local", metadata: REVIEWS }, listenerDirection: "inbound",
  }, logs);
  const client = await proxy({
    plugins: [{ wasm: mx }, { wasm: stats, rootId: "stats_outbound" }], upstream: server.url,
    node: { id: "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local", metadata: PRODUCTPAGE }, listenerDirection: "outbound",
  }, logs);
  let failed = 0;
  try {
    out(`client sidecar ${client.url} → server sidecar ${server.url} → application ${app.url}`);
    for (let i = 0; i < 3; i++) {
      const r = await send(client.url, "GET", `/reviews/${i}`, { host: "reviews:9080" });
      if (r.status !== 200) failed++;
    }
    out("  3 × GET /reviews/N → 200; the sidecars exchanged x-envoy-peer-metadata and stripped it before the applications");
    for (const [who, p] of [["client", client], ["server", server]] as const) {
      const line = (await prometheus(p)).find((l) => l.startsWith("istio_requests_total{"));
      out(`  ${who} /stats/prometheus: ${line ?? "(no istio_requests_total)"}`);
      const want = who === "client" ? 'reporter="source"' : 'reporter="destination"';
      if (!line || !line.includes(want) || !line.includes('source_workload="productpage-v1"') || !line.includes('destination_workload="reviews-v1"') || !line.endsWith(" 3")) failed++;
    }
  } finally {
    await client.close();
    await server.close();
  }
  return failed;
};

/** Runs the demo, writing to `out`. Returns the number of things that did not behave as expected. */
export async function runDemo(out: Out = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const app = await serve(echo);
  let failed = 0;
  try {
    out(`application: echo server on ${app.url}`);
    for (const scenario of [addHeader, authCallout, istioTelemetry]) {
      out("");
      failed += await scenario(out, app);
    }
  } finally {
    await app.close();
  }
  out("");
  out(failed === 0 ? "demo: every request went through its plugins as expected" : `demo: ${failed} check(s) did not behave as expected`);
  return failed;
}
