// Flow control of an HTTP stream through a plugin, beyond the conformance list: buffer limits,
// watermark buffering, what a plugin sees when it continues after StopAllIteration, dropped
// chunks, local replies raised outside callbacks, ABI 0.1.0 streams, filter chains.
import { describe, expect, it } from "vitest";
import { createTestHost, HeaderMap, ProxyWasmHost, WasmResult } from "../../host/index.js";
import { FilterChain } from "../../host/proxy/filter_chain.js";
import { OUT, proxyModule, slot } from "./helpers/proxy_wat.js";

const POST = { ":method": "POST", ":path": "/up", ":authority": "example.com" };
const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };

// Records each body callback's size (slots 1…) and end_of_stream (slots 11…); returns `action`.
const bodyRecorder = (side: "request" | "response", action: string, headers = "") => proxyModule(() => `
  ${headers}
  (func (export "proxy_on_${side}_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
    (call $inc (i32.const 0))
    (call $rec (call $slot (i32.const 0)) (local.get $size))
    (call $rec (i32.add (i32.const 10) (call $slot (i32.const 0))) (local.get $eos))
    ${action})`);

describe("buffer limits", () => {
  it("StopIterationAndBuffer over the limit answers 413 through the plugin's response callbacks", async () => {
    const wasm = bodyRecorder("request", "(i32.const 1)", `
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (call $inc (i32.const 30)) (i32.const 0))`);
    const host = await createTestHost({ wasm });
    // The default limit is Envoy's 1 MiB; this stream gets a small one.
    const small = host.plugin.newHttpStream({}, undefined, { bufferLimitBytes: 10 });
    small.decodeHeaders(new HeaderMap([":method", "POST", ":path", "/", ":authority", "a"]), false);
    small.decodeData(Buffer.from("123456"), false);
    small.decodeData(Buffer.from("789012"), false);
    expect(small.localReply).toMatchObject({ statusCode: 413, details: "request_payload_too_large" });
    expect(small.response.headers?.get(":status")).toBe("413");
    expect(small.response.headers?.get("content-length")).toBe("17");
    // The plugin saw one body callback, then the 413 passed its on_response_headers.
    expect(slot(host, 0)).toBe(1);
    expect(slot(host, 30)).toBe(1);
  });

  it("a response over the limit is a 500 sent straight to the client, or a reset once headers went out", async () => {
    // StopAllIterationAndBuffer (3) holds the headers and buffers under the limit.
    const held = await createTestHost({ wasm: bodyRecorder("response", "(i32.const 1)", `
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 3))`) });
    const a = held.plugin.newHttpStream({}, undefined, { bufferLimitBytes: 4 });
    a.decodeHeaders(new HeaderMap([":method", "GET", ":path", "/", ":authority", "a"]), true);
    a.encodeHeaders(new HeaderMap([":status", "200"]), false);
    a.encodeData(Buffer.from("toolarge"), false);
    expect(a.localReply).toMatchObject({ statusCode: 500, details: "response_payload_too_large" });
    expect(a.response.headers?.get(":status")).toBe("500");

    const streaming = await createTestHost({ wasm: bodyRecorder("response", "(i32.const 1)") });
    let reset = "";
    const b = streaming.plugin.newHttpStream({ reset: (d) => { reset = d; } }, undefined, { bufferLimitBytes: 4 });
    b.decodeHeaders(new HeaderMap([":method", "GET", ":path", "/", ":authority", "a"]), true);
    b.encodeHeaders(new HeaderMap([":status", "200"]), false);
    b.encodeData(Buffer.from("toolarge"), false);
    expect(reset).toBe("response_payload_too_large");
  });

  it("watermark buffering (StopIterationAndWatermark, or Pause from headers) never hits the limit", async () => {
    const host = await createTestHost({ wasm: bodyRecorder("request", "(i32.const 2)") });
    const s = host.plugin.newHttpStream({}, undefined, { bufferLimitBytes: 4 });
    s.decodeHeaders(new HeaderMap([":method", "POST", ":path", "/", ":authority", "a"]), false);
    s.decodeData(Buffer.from("abcdef"), false);
    s.decodeData(Buffer.from("ghij"), false);
    expect(s.localReply).toBeUndefined();
    // Watermark: the plugin sees each new chunk only (Envoy does not mark it as buffering).
    expect([slot(host, 1), slot(host, 2)]).toEqual([6, 4]);
  });
});

describe("continuing after StopAllIteration", () => {
  it("the plugin first sees the body and trailers that arrived while its headers were stopped", async () => {
    const wasm = proxyModule(() => `
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param $ctx i32) (param i32) (param i32) (result i32)
        (global.set $stream (local.get $ctx)) (i32.const 1))
      (func (export "proxy_on_request_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (call $inc (i32.const 0)) (call $rec (i32.const 1) (local.get $size)) (call $rec (i32.const 2) (local.get $eos))
        (drop (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
        (i32.const 0))
      (func (export "proxy_on_request_trailers") (param i32) (param $n i32) (result i32)
        (call $inc (i32.const 3)) (call $rec (i32.const 4) (local.get $n)) (i32.const 0))
      (func (export "proxy_on_tick") (param i32)
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (drop (call $proxy_continue_stream (i32.const 0))))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_set_tick_period_milliseconds (i32.const 5))) (i32.const 1))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(POST);
    s.callOnRequestBody("abc");
    s.callOnRequestBody("defg");
    s.callOnRequestTrailers({ "x-t": "1", "x-u": "2" });
    expect(slot(host, 0)).toBe(0);
    host.advanceTime(5);
    // One body callback with everything buffered, end_of_stream false (trailers follow), then trailers.
    expect([0, 1, 2, 3, 4].map((i) => slot(host, i))).toEqual([1, 7, 0, 1, 2]);
    expect(s.requestBody).toBe("abcdefg");
    expect(s.upstream.trailers?.get("x-u")).toBe("2");
    expect(s.upstream.ended).toBe(true);
  });

  it("StopIterationNoBuffer drops the chunk; continuing then ends the stream with an empty frame", async () => {
    const host = await createTestHost({ wasm: bodyRecorder("request", "(i32.const 3)") });
    const s = host.httpStream();
    s.callOnRequestHeaders(POST);
    expect(s.callOnRequestBody("dropped", true)).toBe(3);
    expect(s.upstream.ended).toBe(false);
    s.stream.continueStream(0);
    expect(s.upstream.ended).toBe(true);
    expect(s.requestBody).toBe("");
  });

  it("a continue when nothing is paused is OK and changes nothing", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_continue_stream (i32.const 0))) (i32.const 0))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect(slot(host, 0)).toBe(0);
    expect(s.upstream.ended).toBe(true);
  });

  it("a local reply sent from a tick (effective context) passes the plugin's response callbacks", async () => {
    const wasm = proxyModule((m) => `
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param $ctx i32) (param i32) (param i32) (result i32)
        (global.set $stream (local.get $ctx)) (i32.const 1))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (call $inc (i32.const 0)) (i32.const 0))
      (func (export "proxy_on_tick") (param i32)
        (call $rec (i32.const 1) (call $proxy_send_local_response (i32.const 429) ${m.s("rate limited")} ${m.s("slow down")} (i32.const 0) (i32.const 0) (i32.const -1)))
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (call $rec (i32.const 2) (call $proxy_send_local_response (i32.const 429) ${m.s("rate limited")} ${m.s("slow down")} (i32.const 0) (i32.const 0) (i32.const -1))))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_set_tick_period_milliseconds (i32.const 5))) (i32.const 1))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    host.advanceTime(5);
    // From the root context it is a no-op (OK); from the stream it answers.
    expect([slot(host, 1), slot(host, 2)]).toEqual([0, 0]);
    expect(s.localResponse).toMatchObject({ status: 429, details: "rate_limited", body: "slow down" });
    expect(slot(host, 0)).toBe(1);
    expect(s.upstream.headers).toBeUndefined();
  });
});

describe("ABI 0.1.0 streams", () => {
  it("2-param header callbacks, OK with an empty value for a missing header, continue_request, get_configuration", async () => {
    const wasm = proxyModule((m) => `
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_get_configuration (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out) (i32.const 1))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_get_configuration (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out)
        (drop (call $proxy_set_tick_period_milliseconds (i32.const 5))) (i32.const 1))
      (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (result i32)
        (global.set $stream (local.get $ctx))
        (call $rec (i32.const 1) (local.get $n))
        (call $rec (i32.const 2) (call $proxy_get_header_map_value (i32.const 0) ${m.s("x-missing")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $rec (i32.const 3) (i32.load (i32.const ${OUT + 4})))
        (call $rec (i32.const 5) (call $proxy_clear_route_cache))
        (i32.const 1))
      (func (export "proxy_on_tick") (param i32)
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (call $rec (i32.const 4) (call $proxy_continue_request)))`, { abi: "0.1.0" });
    const host = await createTestHost({ wasm, configuration: "plugin-config", vmConfiguration: "vm-config" });
    expect(host.logs("info")).toEqual(["vm-config", "plugin-config"]);
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect([1, 2, 3, 5].map((i) => slot(host, i))).toEqual([3, 0, 0, 0]);
    expect(s.stream.routeCacheClears).toBe(1);
    host.advanceTime(5);
    expect(slot(host, 4)).toBe(WasmResult.Ok);
    expect(s.upstream.ended).toBe(true);
  });
});

describe("filter chains", () => {
  it("a local reply from the second plugin goes back through the first one only; both log", async () => {
    const host = new ProxyWasmHost();
    const replier = await host.loadPlugin(proxyModule((m) => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_send_local_response (i32.const 401) ${m.s("no")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
        (i32.const 0))
      (func (export "proxy_on_log") (param i32) (call $inc (i32.const 0)))`));
    const first = await host.loadPlugin(proxyModule((m) => `
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_add_header_map_value (i32.const 2) ${m.s("x-first")} ${m.s("saw it")})) (i32.const 0))
      (func (export "proxy_on_log") (param i32) (call $inc (i32.const 0)))`));
    const never = await host.loadPlugin(proxyModule(() => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $inc (i32.const 1)) (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (call $inc (i32.const 2)) (i32.const 0))
      (func (export "proxy_on_log") (param i32) (call $inc (i32.const 0)))`));
    const out: { status?: string; header?: string; upstream: boolean } = { upstream: false };
    const chain = new FilterChain([first, replier, never], {
      upstream: { requestHeaders: () => { out.upstream = true; } },
      downstream: { responseHeaders: (h) => { out.status = h.get(":status"); out.header = h.get("x-first"); } },
      reset: () => undefined,
    });
    chain.decodeHeaders(new HeaderMap([":method", "GET", ":path", "/", ":authority", "a"]), true);
    chain.complete();
    expect(out).toEqual({ status: "401", header: "saw it", upstream: false });
    const vmSlot = (p: typeof first, i: number) => p.currentVms()[0]!.mem.bytes.readInt32LE(0x800 + 4 * i);
    expect([vmSlot(first, 0), vmSlot(replier, 0), vmSlot(never, 0)]).toEqual([1, 1, 1]);
    expect([vmSlot(never, 1), vmSlot(never, 2)]).toEqual([0, 0]);
    expect(chain.info.responseCode).toBe(401);
  });
});

describe("a plugin that never saw the request", () => {
  it("is skipped for response events (Envoy calls no callback on a context that was never created)", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (call $inc (i32.const 0)) (i32.const 1))
      (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) (call $inc (i32.const 0)) (i32.const 1))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnResponseHeaders({ ":status": "200" });
    s.callOnResponseBody("body", true);
    expect(slot(host, 0)).toBe(0);
    expect(s.downstream.headers?.get(":status")).toBe("200");
    expect(s.responseBody).toBe("body");
    expect(s.downstream.ended).toBe(true);
  });
});
