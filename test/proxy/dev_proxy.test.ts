// The dev proxy for real: HTTP callouts and gRPC (HTTP/2) to configured clusters, real timers,
// N VMs per plugin sharing data, node and listener settings as `pwasm run` passes them.
import http from "node:http";
import http2 from "node:http2";
import { httpRequest, type HttpReply } from "../helpers/http.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { devProxyOptionsFromArgs, type PluginArgs as RunOptions } from "../../cli/plugin_args.js";
import { startDevProxy, type DevProxy } from "../../host/proxy/dev_proxy.js";
import { grpcFrame, GrpcFrameReader } from "../../host/proxy/grpc_transport.js";
import { OUT, ProxyWat } from "../host/helpers/proxy_wat.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function proxy(options: Parameters<typeof startDevProxy>[0]): Promise<DevProxy> {
  const p = await startDevProxy({ port: 0, admin: false, ...options });
  cleanups.push(() => p.close());
  return p;
}

function get(url: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return httpRequest(url, { headers, agent: http.globalAgent, timeoutMs: 5000 });
}

async function listen(server: http.Server | http2.Http2Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

// On request headers: one HTTP callout to `cluster`, paused until the answer, whose :status and
// body become response headers x-callout-status / x-callout-body.
function calloutPlugin(cluster: string): Uint8Array {
  const m = new ProxyWat();
  return m.build(`
    (global $stream (mut i32) (i32.const 0))
    (global $status (mut i64) (i64.const 0))
    (func (export "proxy_on_request_headers") (param $ctx i32) (param i32) (param i32) (result i32)
      (global.set $stream (local.get $ctx))
      (drop (call $proxy_http_call ${m.s(cluster)}
        ${m.pairs([[":method", "POST"], [":path", "/check?x=1"], [":authority", "auth.local"], ["x-key", "k"]])}
        ${m.s("payload")} ${m.pairs([["x-trailer", "t"]])} (i32.const 2000) (i32.const ${OUT})))
      (i32.const 1))
    (func (export "proxy_on_http_call_response") (param i32) (param i32) (param $h i32) (param $b i32) (param i32)
      (drop (call $proxy_get_header_map_value (i32.const 6) ${m.s(":status")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (i32.store (i32.const 0x300) (i32.load (i32.const ${OUT})))
      (i32.store (i32.const 0x304) (i32.load (i32.const ${OUT + 4})))
      (drop (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (local.get $b) (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (i32.store (i32.const 0x308) (i32.load (i32.const ${OUT})))
      (i32.store (i32.const 0x30c) (i32.load (i32.const ${OUT + 4})))
      (drop (call $proxy_set_effective_context (global.get $stream)))
      (drop (call $proxy_continue_stream (i32.const 0))))
    (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
      (drop (call $proxy_add_header_map_value (i32.const 2) ${m.s("x-callout-status")} (i32.load (i32.const 0x300)) (i32.load (i32.const 0x304))))
      (drop (call $proxy_add_header_map_value (i32.const 2) ${m.s("x-callout-body")} (i32.load (i32.const 0x308)) (i32.load (i32.const 0x30c))))
      (i32.const 0))`);
}

describe("dev proxy callouts", () => {
  it("sends HTTP callouts for real to the cluster's URL, with the body; trailers are dropped as Envoy's HTTP/1 codec drops them", async () => {
    let seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string; trailers?: NodeJS.Dict<string> } = {};
    const auth = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString(), trailers: req.trailers };
        res.writeHead(202, { "content-type": "text/plain" }).end("allowed");
      });
    });
    const authUrl = await listen(auth);
    const p = await proxy({ plugins: [{ wasm: calloutPlugin("auth") }], clusters: { auth: authUrl } });
    const r = await get(`${p.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers["x-callout-status"]).toBe("202");
    expect(r.headers["x-callout-body"]).toBe("allowed");
    expect(seen).toMatchObject({ method: "POST", url: "/check?x=1", body: "payload", trailers: {} });
    expect(seen.headers).toMatchObject({ host: "auth.local", "x-key": "k", "content-length": "7", "x-envoy-internal": "true", "x-envoy-expected-rq-timeout-ms": "2000" });
    expect(seen.headers?.connection).toBeUndefined();
  });

  it("a connection failure comes back as Envoy's generated 503", async () => {
    const dead = http.createServer();
    const deadUrl = await listen(dead);
    await new Promise<void>((r) => dead.close(() => r()));
    const p = await proxy({ plugins: [{ wasm: calloutPlugin("auth") }], clusters: { auth: deadUrl } });
    const r = await get(`${p.url}/`);
    expect(r.headers["x-callout-status"]).toBe("503");
    expect(r.headers["x-callout-body"]).toMatch(/^upstream connect error or disconnect\/reset before headers/);
  });
});

describe("dev proxy gRPC over HTTP/2", () => {
  // An h2c server: /test.Echo/Unary answers "echo:<msg>"; /test.Echo/Fail fails with 7;
  // /test.Echo/Chat sends initial metadata, echoes each message, then trailers.
  async function grpcServer(): Promise<{ url: string; seen: Array<{ path: string; metadata: string | undefined; timeout: string | undefined }> }> {
    const seen: Array<{ path: string; metadata: string | undefined; timeout: string | undefined }> = [];
    const server = http2.createServer();
    server.on("stream", (stream, headers) => {
      const path = String(headers[":path"]);
      seen.push({ path, metadata: headers["x-md"] as string | undefined, timeout: headers["grpc-timeout"] as string | undefined });
      const reader = new GrpcFrameReader();
      if (path === "/test.Echo/Fail") {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "7", "grpc-message": "no%20way" }, { endStream: true });
        return;
      }
      if (path === "/test.Echo/Chat") {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "x-init": "i" }, { waitForTrailers: true });
        stream.on("data", (c: Buffer) => {
          for (const m of reader.push(c) as Buffer[]) stream.write(grpcFrame(Buffer.from(`re:${m.toString()}`)));
        });
        stream.on("end", () => stream.end());
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "x-trail": "z" }));
        return;
      }
      const msgs: Buffer[] = [];
      stream.on("data", (c: Buffer) => msgs.push(...(reader.push(c) as Buffer[])));
      stream.on("end", () => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(grpcFrame(Buffer.from(`echo:${msgs.map((m) => m.toString()).join("|")}`)));
      });
    });
    return { url: await listen(server), seen };
  }

  // A root that makes gRPC calls from on_vm_start and logs every event as text.
  function grpcPlugin(): Uint8Array {
    const m = new ProxyWat();
    const meta = m.pairs([["x-md", "v"]]);
    return m.build(`
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_grpc_call ${m.s("echo")} ${m.s("test.Echo")} ${m.s("Unary")} ${meta} ${m.s("ping")} (i32.const 3000) (i32.const ${OUT})))
        (drop (call $proxy_grpc_call ${m.s("echo")} ${m.s("test.Echo")} ${m.s("Fail")} ${meta} ${m.s("x")} (i32.const 0) (i32.const ${OUT})))
        (drop (call $proxy_grpc_stream ${m.s("echo")} ${m.s("test.Echo")} ${m.s("Chat")} ${meta} (i32.const ${OUT})))
        (drop (call $proxy_grpc_send (i32.load (i32.const ${OUT})) ${m.s("a")} (i32.const 0)))
        (drop (call $proxy_grpc_send (i32.load (i32.const ${OUT})) ${m.s("b")} (i32.const 1)))
        (i32.const 1))
      (func (export "proxy_on_grpc_receive_initial_metadata") (param i32) (param $t i32) (param $n i32)
        (drop (call $proxy_get_header_map_value (i32.const 4) ${m.s("x-init")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out))
      (func (export "proxy_on_grpc_receive") (param i32) (param $t i32) (param $size i32)
        (drop (call $proxy_get_buffer_bytes (i32.const 5) (i32.const 0) (local.get $size) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out))
      (func (export "proxy_on_grpc_receive_trailing_metadata") (param i32) (param $t i32) (param $n i32)
        (drop (call $proxy_get_header_map_value (i32.const 5) ${m.s("x-trail")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out))
      (func (export "proxy_on_grpc_close") (param i32) (param $t i32) (param $status i32)
        (drop (call $proxy_get_status (i32.const 0x300) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out)
        ;; The status as one digit, at warn.
        (i32.store8 (i32.const 0x310) (i32.add (i32.const 48) (local.get $status)))
        (drop (call $proxy_log (i32.const 3) (i32.const 0x310) (i32.const 1))))`);
  }

  it("unary calls, failures and a stream reach the server and come back as callbacks", async () => {
    const server = await grpcServer();
    const logs: Array<[number, string]> = [];
    await proxy({ plugins: [{ wasm: grpcPlugin() }], clusters: { echo: server.url }, logLevel: "trace", onLog: (e) => logs.push([e.level, e.message]) });
    // on_configure runs in the main-thread VM and in the worker's (the canary's calls never start;
    // docs/envoy/lifecycle.md), so every call is made twice.
    await until(() => logs.filter(([l]) => l === 3).length >= 4);
    const info = logs.filter(([l]) => l === 2).map(([, m]) => m);
    expect(info.filter((m) => m === "echo:ping")).toHaveLength(2);
    expect(info.filter((m) => m === "no way")).toHaveLength(2);
    // Each stream, in order: initial metadata, the two echoes, trailing metadata, then the close.
    const chat = info.filter((m) => ["i", "re:a", "re:b", "z"].includes(m));
    expect([...chat].sort()).toEqual(["i", "i", "re:a", "re:a", "re:b", "re:b", "z", "z"]);
    const firsts = ["i", "re:a", "re:b", "z"].map((m) => chat.indexOf(m));
    const lasts = ["i", "re:a", "re:b", "z"].map((m) => chat.lastIndexOf(m));
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    expect(lasts).toEqual([...lasts].sort((a, b) => a - b));
    expect(logs.filter(([l]) => l === 3).map(([, m]) => m).sort()).toEqual(["0", "0", "7", "7"]);
    expect(server.seen.map((s) => s.path).sort()).toEqual(["/test.Echo/Chat", "/test.Echo/Chat", "/test.Echo/Fail", "/test.Echo/Fail", "/test.Echo/Unary", "/test.Echo/Unary"]);
    expect(server.seen.find((s) => s.path === "/test.Echo/Unary")).toMatchObject({ metadata: "v", timeout: "3000m" });
  });
});

describe("dev proxy VMs, timers and settings", () => {
  it("--concurrency N runs N VMs that share data; real timers tick", async () => {
    const m = new ProxyWat();
    // Each request adds one to the u32 in shared data "n", retrying on CAS_MISMATCH.
    const wasm = m.build(`
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_set_tick_period_milliseconds (i32.const 20))) (i32.const 1))
      (func (export "proxy_on_tick") (param i32) (call $inc (i32.const 1)))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (local $v i32) (local $cas i32)
        (call $inc (i32.const 0))
        (loop $retry
          (local.set $v (i32.const 0)) (local.set $cas (i32.const 0))
          (if (i32.eqz (call $proxy_get_shared_data ${m.s("n")} (i32.const ${OUT}) (i32.const ${OUT + 4}) (i32.const ${OUT + 8})))
            (then (local.set $v (i32.load (i32.load (i32.const ${OUT})))) (local.set $cas (i32.load (i32.const ${OUT + 8})))))
          (i32.store (i32.const 0x300) (i32.add (local.get $v) (i32.const 1)))
          (br_if $retry (i32.eq (call $proxy_set_shared_data ${m.s("n")} (i32.const 0x300) (i32.const 4) (local.get $cas)) (i32.const 8))))
        (i32.const 0))`);
    const p = await proxy({ plugins: [{ wasm, concurrency: 2 }] });
    for (let i = 0; i < 4; i++) expect((await get(`${p.url}/`)).status).toBe(200);
    expect(p.host.sharedData.get("", "n")?.value.readUInt32LE(0)).toBe(4);
    const vms = p.plugins[0]!.currentVms();
    const slot = (vm: (typeof vms)[number], i: number) => vm.mem.bytes.readInt32LE(0x800 + 4 * i);
    expect(vms.map((vm) => slot(vm, 0))).toEqual([2, 2]);
    await until(() => vms.every((vm) => slot(vm, 1) >= 2));
  });

  it("pwasm run's node, listener and plugin settings reach the plugin", async () => {
    const m = new ProxyWat();
    const read = (path: string) => `
      (drop (call $proxy_get_property ${m.s(path)} (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (call $log_out)`;
    const wasm = m.build(`(func (export "proxy_on_configure") (param i32 i32) (result i32)
      ${read("xds\0node\0metadata\0NAME")} ${read("xds\0node\0id")} ${read("plugin_root_id")} ${read("plugin_vm_id")} (i32.const 1))`);
    const o = {
      listen: { host: "127.0.0.1", port: 0 }, admin: false, directResponse: "200", concurrency: 1, logLevel: "info",
      nodeMetadata: JSON.stringify({ NAME: "productpage-v1", LABELS: { app: "productpage" } }), nodeId: "sidecar~1",
      rootId: ["r"], vmId: ["v"], listenerDirection: "outbound", reloadBackoff: 50, cluster: ["auth=http://127.0.0.1:1"],
    } as unknown as RunOptions;
    const dir = mkdtempSync(`${tmpdir()}/pwasm-run-`);
    writeFileSync(`${dir}/p.wasm`, wasm);
    const options = await devProxyOptionsFromArgs([`${dir}/p.wasm`], o);
    expect(options.node).toEqual({ id: "sidecar~1", metadata: { NAME: "productpage-v1", LABELS: { app: "productpage" } } });
    expect(options.listenerDirection).toBe("outbound");
    expect(options.plugins[0]).toMatchObject({ rootId: "r", vmId: "v", reloadBackoffMs: 50 });
    const lines: string[] = [];
    await proxy({ ...options, port: 0, admin: false, onLog: (e) => lines.push(e.message) });
    // on_configure runs in the canary, the main-thread VM and the worker's VM (docs/envoy/lifecycle.md).
    expect(lines).toEqual(Array.from({ length: 3 }, () => ["productpage-v1", "sidecar~1", "r", "v"]).flat());
    await expect(devProxyOptionsFromArgs([`${dir}/p.wasm`], { ...o, cluster: ["auth=ftp://x"] })).rejects.toThrow("--cluster auth must be an http:// or https:// URL, got ftp://x");
    await expect(devProxyOptionsFromArgs([`${dir}/p.wasm`], { ...o, nodeMetadata: "[1]" })).rejects.toThrow("--node-metadata must be a JSON object");
  });
});

