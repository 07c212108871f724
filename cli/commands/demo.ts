// `pwasm demo`: the quick start's main job. Builds the sample plugins, starts a real upstream and
// the dev proxy on free loopback ports, sends real requests through each plugin, and prints what
// happened on the wire.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";
import type { Command } from "commander";
import { startDevProxy } from "../../host/proxy/dev_proxy.js";
import { compileProject } from "../build/compile.js";
import { PACKAGE_ROOT } from "../package_root.js";
import { formatBytes } from "./build.js";

/** A request the demo sends, and what to point out in its answer. */
interface DemoRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Response headers worth printing. */
  show: string[];
}

/** One sample plugin and the requests that show what it does. */
interface DemoScenario {
  example: string;
  what: string;
  rootId: string;
  configuration?: string;
  requests: DemoRequest[];
  /** Prometheus series worth printing (prefixes). */
  metrics: string[];
}

const SCENARIOS: DemoScenario[] = [
  {
    example: "add-header",
    what: "adds a configured response header and counts requests",
    rootId: "add_header",
    configuration: "x-hello: world",
    requests: [
      { method: "GET", path: "/", show: ["x-hello"] },
      { method: "POST", path: "/orders", body: '{"id":1}', headers: { "content-type": "application/json" }, show: ["x-hello"] },
    ],
    metrics: ["add_header_requests_total"],
  },
];

// A real upstream: answers every request with what it received.
async function startEchoUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "echo" }).end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

function send(url: string, r: DemoRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${r.path}`, { method: r.method, headers: r.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(r.body);
  });
}

/** Runs the demo, writing to `out`. Returns the number of requests that failed. */
export async function runDemo(out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const upstream = await startEchoUpstream();
  let failed = 0;
  try {
    out(`upstream: echo server on ${upstream.url}`);
    for (const s of SCENARIOS) {
      const dir = join(PACKAGE_ROOT, "examples", s.example);
      const built = await compileProject({ dir, target: "release" });
      out("");
      out(`== ${s.example}: ${s.what}`);
      out(`built ${relative(process.cwd(), built.outFile)}  ${formatBytes(built.bytes)}  ${built.ms} ms`);
      const logs: string[] = [];
      const proxy = await startDevProxy({
        plugins: [{ wasm: built.outFile, rootId: s.rootId, configuration: s.configuration }],
        port: 0, admin: { port: 0 }, upstream: upstream.url,
        onLog: (e) => logs.push(e.message),
      });
      try {
        out(`dev proxy: ${proxy.url} (admin ${proxy.adminUrl})${s.configuration ? `, configuration '${s.configuration}'` : ""}`);
        for (const r of s.requests) {
          const res = await send(proxy.url, r);
          const shown = r.show.map((h) => `${h}: ${res.headers[h] ?? "(absent)"}`).join(", ");
          out(`  ${r.method} ${r.path} → ${res.status}  ${shown}`);
          if (res.status >= 500 || r.show.some((h) => res.headers[h] === undefined)) failed++;
        }
        const prom = await (await fetch(`${proxy.adminUrl}/stats/prometheus`)).text();
        for (const line of prom.split("\n")) {
          if (s.metrics.some((m) => line.startsWith(m))) out(`  ${proxy.adminUrl}/stats/prometheus: ${line}`);
        }
        for (const l of logs) out(`  plugin log: ${l}`);
      } finally {
        await proxy.close();
      }
    }
  } finally {
    await upstream.close();
  }
  out("");
  out(failed === 0 ? "demo: every request went through its plugin as expected" : `demo: ${failed} request(s) did not behave as expected`);
  return failed;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("build the sample plugins and send real requests through them in the dev proxy")
    .action(async () => {
      const failed = await runDemo();
      if (failed > 0) process.exitCode = 1;
    });
}
