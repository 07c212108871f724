// pwasm builds export only the Proxy-Wasm callbacks a plugin's classes override (and what the SDK
// needs: context creation and deletion, callout answers when the plugin makes callouts), so Envoy
// does not call the others on every request. What must still hold: an overridden callback is
// exported and called; contexts are still forgotten, so memory does not grow, in the embedded host
// and in Envoy.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLoadClient } from "../../cli/bench/load.js";
import { compileProject } from "../../cli/build/compile.js";
import { startLocalEnvoy } from "../../cli/envoy/local_envoy.js";
import { createTestHost } from "../../host/index.js";
import { testEnvoy } from "../helpers/envoy.js";
import { ROOT } from "../helpers/paths.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };
const ALWAYS = ["proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "malloc", "proxy_on_context_create", "proxy_on_delete", "memory", "_initialize"];

let out: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "pwasm-export-callbacks-"));
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function build(dir: string, name: string, keepAllCallbacks = false): Promise<{ wasm: string; exports: string[]; leftOut: string[] }> {
  const r = await compileProject({ dir, outFile: join(out, `${name}.wasm`), keepAllCallbacks });
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(r.outFile))).map((e) => e.name);
  return { wasm: r.outFile, exports, leftOut: r.callbacksLeftOut };
}

describe("callback exports of a pwasm build", () => {
  it("a plugin that overrides onLog exports proxy_on_log, and the host calls it for every stream", async () => {
    const b = await build(join(FIXTURES, "on-log"), "on-log");
    expect(b.exports.sort()).toEqual([...ALWAYS, "proxy_on_configure", "proxy_on_request_headers", "proxy_on_log"].sort());
    const t = await createTestHost({ wasm: b.wasm, rootId: "on_log" });
    for (let i = 0; i < 3; i++) {
      const s = t.httpStream();
      s.callOnRequestHeaders(GET, true);
      s.callOnResponseHeaders({ ":status": "200" }, true);
      s.complete();
    }
    expect(t.metric("on_log.logged")).toBe(3);
  });

  it("add-header exports only the callbacks it overrides; keepAllCallbacks builds export every one, as before", async () => {
    const trimmed = await build(join(ROOT, "examples", "add-header"), "add-header");
    expect(trimmed.exports.sort()).toEqual([...ALWAYS, "proxy_on_configure", "proxy_on_request_headers", "proxy_on_response_headers"].sort());
    expect(trimmed.leftOut).toContain("proxy_on_log");
    expect(trimmed.leftOut).toContain("proxy_on_done");
    const all = await build(join(ROOT, "examples", "add-header"), "add-header-all", true);
    expect(all.leftOut).toEqual([]);
    for (const name of ["proxy_on_log", "proxy_on_done", "proxy_on_vm_start", "proxy_on_request_body", "proxy_on_response_body", "proxy_on_tick"]) {
      expect(all.exports, name).toContain(name);
      expect(trimmed.exports, name).not.toContain(name);
    }
    // The trimmed module behaves the same: the header is added, the request counted.
    const t = await createTestHost({ wasm: trimmed.wasm, rootId: "add_header", configuration: "x-hello: world" });
    const s = t.httpStream();
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders({ ":status": "200" }, true);
    s.complete();
    expect(s.downstream.headers?.get("x-hello")).toBe("world");
    expect(t.metric("add_header.requests_total")).toBe(1);
  });

  it("keeps the callout answer callback of a plugin that makes callouts, even when no class overrides it", async () => {
    const b = await build(join(FIXTURES, "callout-only"), "callout-only");
    expect(b.exports).toContain("proxy_on_http_call_response");
    expect(b.exports).not.toContain("proxy_on_grpc_receive");
    const t = await createTestHost({ wasm: b.wasm, rootId: "callout_only", clusters: ["auth"] });
    const s = t.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect(t.httpCalls).toHaveLength(1);
    t.respondToHttpCall({ status: 200 });
    expect(t.failures).toEqual([]);
  });

  it("leaves modules built without the pwasm SDK alone", async () => {
    const b = await build(join(ROOT, "bench", "peers", "gcore-add-header"), "gcore");
    expect(b.leftOut).toEqual([]);
    expect(b.exports).toContain("proxy_on_log");
  });

  it("contexts are still freed: guest memory does not grow over 20,000 streams in the embedded host", async () => {
    const b = await build(join(FIXTURES, "stream-memory"), "stream-memory");
    expect(b.exports).not.toContain("proxy_on_log");
    expect(b.exports).not.toContain("proxy_on_done");
    const t = await createTestHost({ wasm: b.wasm, rootId: "stream_memory" });
    const pages = () => {
      const s = t.httpStream();
      s.callOnRequestHeaders(GET, true);
      s.callOnResponseHeaders({ ":status": "200" }, true);
      s.complete();
      return Number(s.downstream.headers?.get("x-memory-pages"));
    };
    for (let i = 0; i < 2_000; i++) pages();
    const warm = pages();
    for (let i = 0; i < 20_000; i++) pages();
    // A context kept per stream would hold 1 KiB each: 20 MiB, over 300 pages.
    expect(pages()).toBeLessThanOrEqual(warm + 1);
    expect(t.failures).toEqual([]);
  });
});

const local = await testEnvoy();

describe("callback exports in Envoy", () => {
  it.skipIf(!local.envoy)(`contexts are still freed: the VM's memory does not grow over 20,000 requests${local.skip ? ` — skipped: ${local.skip}` : ""}`, async () => {
    const b = await build(join(FIXTURES, "stream-memory"), "stream-memory-envoy");
    const envoy = await startLocalEnvoy({
      envoy: local.envoy!,
      proxy: { plugins: [{ wasm: b.wasm, rootId: "stream_memory" }], port: 0, admin: { port: 0 } },
      logLevel: "warn",
    });
    try {
      const client = await openLoadClient({ url: `${envoy.url}/`, connections: 4 });
      try {
        const pages = async () => Number((await client.run(1)).first!.headers["x-memory-pages"]);
        await client.run(2_000);
        const warm = await pages();
        expect(warm).toBeGreaterThan(0);
        await client.run(20_000);
        expect(await pages()).toBeLessThanOrEqual(warm + 1);
      } finally {
        client.close();
      }
    } finally {
      await envoy.stop();
    }
  }, 120_000);
});
