// Review findings on the dev proxy: what a plugin writes into headers, and what clients and
// upstreams do at awkward moments, must never throw out of the proxy into Node's event loop (which
// would crash `pwasm run` for every client). Each case is followed by a normal request the proxy
// must still serve.
import http from "node:http";
import { httpRequest, type HttpReply } from "../helpers/http.js";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startDevProxy, type DevProxy } from "../../host/proxy/dev_proxy.js";
import { OUT, ProxyWat } from "../host/helpers/proxy_wat.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

// Errors that escaped into the event loop while a test ran.
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);
process.prependListener("uncaughtException", onEscape);
afterEach(() => {
  escaped.length = 0;
});

async function proxy(options: Parameters<typeof startDevProxy>[0]): Promise<DevProxy> {
  const p = await startDevProxy({ port: 0, admin: false, ...options });
  cleanups.push(() => p.close());
  return p;
}

// A GET that resolves with the reply, or with status 0 when the connection was reset.
function get(url: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return httpRequest(url, { headers, timeoutMs: 5000, resetAsStatus0: true });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Response headers first, the body a little later: the proxy sends the client's headers on their own.
const okUpstream = () => listen(http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain" }).flushHeaders();
    setTimeout(() => res.end("upstream body"), 20);
  });
}));

// When the request carries `x-fault`, the plugin sets `key: value` in map `mapType` (0 request
// headers, 2 response headers) from the matching headers callback.
function faultPlugin(mapType: 0 | 2, key: string, value: string): Uint8Array {
  const m = new ProxyWat();
  const set = `(drop (call $proxy_replace_header_map_value (i32.const ${mapType}) ${m.s(key)} ${m.s(value)}))`;
  const fault = m.s("x-fault");
  return m.build(`
    (global $fault (mut i32) (i32.const 0))
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
      (global.set $fault (i32.eqz (call $proxy_get_header_map_value (i32.const 0) ${fault} (i32.const ${OUT}) (i32.const ${OUT + 4}))))
      ${mapType === 0 ? `(if (global.get $fault) (then ${set}))` : ""}
      (i32.const 0))
    (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
      ${mapType === 2 ? `(if (global.get $fault) (then ${set}))` : ""}
      (i32.const 0))`);
}

describe("dev proxy: headers Node refuses to send", () => {
  const cases: Array<[string, 0 | 2, string, string]> = [
    ["a request :path with a space", 0, ":path", "/a b"],
    ["a request :method that is no token", 0, ":method", "GE T"],
    ["a request header value with a line break", 0, "x-injected", "a\r\nx-evil: 1"],
    ["a response header value with a line break", 2, "x-injected", "a\r\nx-evil: 1"],
    ["a response :status that is no status code", 2, ":status", "abc"],
    ["a response :status out of range", 2, ":status", "1000"],
  ];
  for (const [name, mapType, key, value] of cases) {
    it(`${name}: the client gets an error, the proxy keeps serving`, async () => {
      const upstream = await okUpstream();
      const p = await proxy({ plugins: [{ wasm: faultPlugin(mapType, key, value) }], upstream });
      const bad = await get(`${p.url}/`, { "x-fault": "1" });
      expect(bad.status === 0 || bad.status >= 500).toBe(true);
      expect(bad.headers["x-evil"]).toBeUndefined();
      const good = await get(`${p.url}/`);
      expect(good).toMatchObject({ status: 200, body: "upstream body" });
      await until(() => p.inFlight === 0);
      expect(escaped).toEqual([]);
      expect(p.plugins[0]!.failures).toEqual([]);
    });
  }
});

// Counts response-side callbacks in slot 0 and traps for a context already deleted.
function strictPlugin(): Uint8Array {
  return new ProxyWat().build(`
    (global $deleted (mut i32) (i32.const 0))
    (func $check (param $ctx i32)
      (if (i32.eq (local.get $ctx) (global.get $deleted)) (then unreachable))
      (call $inc (i32.const 0)))
    (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32) (call $check (local.get $c)) (i32.const 0))
    (func (export "proxy_on_response_body") (param $c i32) (param i32 i32) (result i32) (call $check (local.get $c)) (i32.const 0))
    (func (export "proxy_on_delete") (param $c i32) (global.set $deleted (local.get $c)))`);
}

describe("dev proxy: clients and upstreams that go away", () => {
  it("a client that disconnects while the upstream has not answered: no callback for the deleted context", async () => {
    let upstreamSaw = 0;
    const upstream = await listen(http.createServer(() => { upstreamSaw++; /* never answers */ }));
    const p = await proxy({ plugins: [{ wasm: strictPlugin() }], upstream });
    const req = http.get(`${p.url}/slow`, { agent: false });
    req.on("error", () => {});
    await until(() => upstreamSaw === 1);
    req.destroy();
    await until(() => p.inFlight === 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(p.plugins[0]!.failures).toEqual([]);
    expect(escaped).toEqual([]);
  });

  it("a stream paused on a callout whose client goes away: the late answer is harmless", async () => {
    let answer: (() => void) | undefined;
    const auth = await listen(http.createServer((req, res) => {
      req.resume();
      answer = () => res.end("ok");
    }));
    // Pauses request headers on a callout; the answer resumes the stream that made it (set_effective_context).
    const m = new ProxyWat();
    const wasm = m.build(`
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param $ctx i32) (param i32 i32) (result i32)
        (global.set $stream (local.get $ctx))
        (drop (call $proxy_http_call ${m.s("auth")} ${m.pairs([[":method", "GET"], [":path", "/"], [":authority", "auth"]])}
          (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const ${OUT})))
        (i32.const 1))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (call $rec (i32.const 1) (call $proxy_set_effective_context (global.get $stream)))
        (call $rec (i32.const 2) (call $proxy_continue_stream (i32.const 0))))`);
    const p = await proxy({ plugins: [{ wasm }], clusters: { auth } });
    const req = http.get(`${p.url}/`, { agent: false });
    req.on("error", () => {});
    await until(() => answer !== undefined);
    req.destroy();
    await until(() => p.inFlight === 0);
    answer!();
    const vm = p.plugins[0]!.currentVms()[0]!;
    await until(() => vm.mem.bytes.readInt32LE(0x804) !== 0);
    // The stream's context is gone: BAD_ARGUMENT, then the continue acts on the root (NOT_FOUND).
    expect([vm.mem.bytes.readInt32LE(0x804), vm.mem.bytes.readInt32LE(0x808)]).toEqual([2, 1]);
    expect(p.plugins[0]!.failures).toEqual([]);
    expect(escaped).toEqual([]);
  });

  it("an upstream that resets after its response headers: the client is reset, the proxy keeps serving", async () => {
    const upstream = await listen(http.createServer((req, res) => {
      if (req.url === "/reset") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("partial");
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      res.writeHead(200).end("fine");
    }));
    const p = await proxy({ plugins: [{ wasm: strictPlugin() }], upstream });
    const r = await get(`${p.url}/reset`);
    expect(r.status === 0 || r.body === "partial").toBe(true);
    expect(await get(`${p.url}/`)).toMatchObject({ status: 200, body: "fine" });
    await until(() => p.inFlight === 0);
    expect(p.plugins[0]!.failures).toEqual([]);
    expect(escaped).toEqual([]);
  });
});

describe("dev proxy: HTTP callouts Node refuses to send", () => {
  // On request headers: one callout with the given headers and trailers; its status goes to slot 0.
  function calloutPlugin(headers: Array<[string, string]>, trailers: Array<[string, string]>): Uint8Array {
    const m = new ProxyWat();
    return m.build(`
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_http_call ${m.s("auth")} ${m.pairs(headers)} ${m.s("x")} ${m.pairs(trailers)} (i32.const 1000) (i32.const ${OUT})))
        (i32.const 0))`);
  }
  const base: Array<[string, string]> = [[":method", "POST"], [":path", "/"], [":authority", "auth.local"]];

  // Envoy 1.40 sends no callout for the first and sends the second without its trailers (its
  // HTTP/1 codec drops trailers: docs/envoy/http-stream.md).
  for (const [name, headers, trailers, status, sent] of [
    ["a header value with a line break: proxy_http_call answers INTERNAL_FAILURE", [...base, ["x-h", "a\r\nb"]], [["x-t", "1"]], 10, 0],
    ["a trailer value with a line break: the callout goes without its trailers", base, [["x-t", "a\r\nb"]], 0, 1],
  ] as Array<[string, Array<[string, string]>, Array<[string, string]>, number, number]>) {
    it(`${name}, the VM lives on`, async () => {
      let calls = 0;
      const auth = await listen(http.createServer((req, res) => { calls++; req.resume(); res.end("ok"); }));
      const upstream = await okUpstream();
      const p = await proxy({ plugins: [{ wasm: calloutPlugin(headers, trailers) }], clusters: { auth }, upstream });
      expect(await get(`${p.url}/`)).toMatchObject({ status: 200, body: "upstream body" });
      const vm = p.plugins[0]!.currentVms()[0]!;
      expect(vm.mem.bytes.readInt32LE(0x800)).toBe(status);
      expect(p.plugins[0]!.failures).toEqual([]);
      await until(() => calls >= sent);
      await new Promise((r) => setTimeout(r, 50));
      expect(calls).toBe(sent);
      expect(escaped).toEqual([]);
    });
  }
});

describe("dev proxy: shutting down", () => {
  it("close() settles even while a plugin holds a stream forever: after the drain time the stream ends", async () => {
    // Pauses every request and never resumes it; counts on_log in slot 0.
    const wasm = new ProxyWat().build(`
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_log") (param i32) (call $inc (i32.const 0)))`);
    const p = await startDevProxy({ port: 0, admin: false, plugins: [{ wasm }], drainTimeoutMs: 200 });
    const vm = p.plugins[0]!.currentVms()[0]!;
    const req = http.get(`${p.url}/`, { agent: false });
    const outcome = new Promise<string>((resolve) => {
      req.on("response", () => resolve("response"));
      req.on("error", () => resolve("reset"));
    });
    await until(() => p.inFlight === 1);
    const started = Date.now();
    const closed = await Promise.race([p.close().then(() => "closed"), new Promise((r) => setTimeout(() => r("hung"), 3000))]);
    expect(closed).toBe("closed");
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(await outcome).toBe("reset");
    expect(p.inFlight).toBe(0);
    expect(vm.mem.bytes.readInt32LE(0x800)).toBe(1);
    expect(escaped).toEqual([]);
  });

  it("close() does not wait for the drain time when nothing is in flight", async () => {
    const upstream = await okUpstream();
    const p = await startDevProxy({ port: 0, admin: false, plugins: [], upstream, drainTimeoutMs: 10_000 });
    expect(await get(`${p.url}/`)).toMatchObject({ status: 200 });
    const started = Date.now();
    await p.close();
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("dev proxy: failing to start", () => {
  it("an admin port in use rejects the start and leaves no listener or ticking plugin behind", async () => {
    const busy = http.createServer();
    await listen(busy);
    const port = (busy.address() as AddressInfo).port;
    const servers = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;
    const before = servers();
    // Ticks every 5 ms from on_vm_start, logging each tick.
    const m = new ProxyWat();
    const wasm = m.build(`
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_set_tick_period_milliseconds (i32.const 5))) (i32.const 1))
      (func (export "proxy_on_tick") (param i32) (drop (call $proxy_log (i32.const 2) ${m.s("tick")})))`);
    const lines: string[] = [];
    await expect(startDevProxy({ port: 0, admin: { port }, plugins: [{ wasm }], onLog: (e) => lines.push(e.message) })).rejects.toThrow(/EADDRINUSE/);
    await until(() => servers() === before, 1000);
    await new Promise((r) => setTimeout(r, 30));
    const ticks = lines.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(lines.length).toBe(ticks);
  });
});
