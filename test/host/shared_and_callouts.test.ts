// Conformance (docs/abi.md, "Conformance items"): shared data, shared queues, HTTP callouts, the pairs codec.
import { describe, expect, it } from "vitest";
import { createTestHost, decodePairs, encodePairs, WasmResult } from "../../host/index.js";
import { OUT, proxyModule, slot } from "./helpers/proxy_wat.js";

const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };

describe("shared data and queues", () => {
  it("13.12 shared data: set with cas 0 twice is OK; a wrong cas is CAS_MISMATCH; get returns increasing cas; missing key NOT_FOUND", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_get_shared_data ${m.s("k")} (i32.const ${OUT}) (i32.const ${OUT + 4}) (i32.const ${OUT + 8})))
        (call $rec (i32.const 1) (call $proxy_set_shared_data ${m.s("k")} ${m.s("v1")} (i32.const 0)))
        (call $rec (i32.const 2) (call $proxy_set_shared_data ${m.s("k")} ${m.s("v2")} (i32.const 0)))
        (call $rec (i32.const 3) (call $proxy_get_shared_data ${m.s("k")} (i32.const ${OUT}) (i32.const ${OUT + 4}) (i32.const ${OUT + 8})))
        (call $rec (i32.const 4) (i32.load (i32.const ${OUT + 8})))
        (call $log_out)
        (call $rec (i32.const 5) (call $proxy_set_shared_data ${m.s("k")} ${m.s("v3")} (i32.add (call $slot (i32.const 4)) (i32.const 7))))
        (call $rec (i32.const 6) (call $proxy_set_shared_data ${m.s("k")} ${m.s("v3")} (call $slot (i32.const 4))))
        (drop (call $proxy_get_shared_data ${m.s("k")} (i32.const ${OUT}) (i32.const ${OUT + 4}) (i32.const ${OUT + 8})))
        (call $rec (i32.const 7) (i32.load (i32.const ${OUT + 8})))
        (call $log_out)
        ;; A new key is stored whatever the cas says.
        (call $rec (i32.const 8) (call $proxy_set_shared_data ${m.s("new")} ${m.s("x")} (i32.const 12345)))
        (i32.const 1))`);
    const host = await createTestHost({ wasm });
    expect([0, 1, 2, 3, 5, 6, 8].map((i) => slot(host, i))).toEqual([WasmResult.NotFound, 0, 0, 0, WasmResult.CasMismatch, 0, 0]);
    expect(slot(host, 7)).toBeGreaterThan(slot(host, 4));
    expect(host.logs("info")).toEqual(["v2", "v3"]);
    expect(host.sharedData("k")).toEqual({ value: "v3", cas: slot(host, 7) });
  });

  it("13.13 shared queues: ids start at 1; unknown resolve/enqueue NOT_FOUND; empty dequeue EMPTY; enqueue triggers on_queue_ready", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_register_shared_queue ${m.s("q")} (i32.const ${OUT})))
        (call $rec (i32.const 1) (i32.load (i32.const ${OUT})))
        (call $rec (i32.const 2) (call $proxy_resolve_shared_queue ${m.s("")} ${m.s("nope")} (i32.const ${OUT})))
        (call $rec (i32.const 3) (call $proxy_resolve_shared_queue ${m.s("")} ${m.s("q")} (i32.const ${OUT})))
        (call $rec (i32.const 4) (call $proxy_dequeue_shared_queue (call $slot (i32.const 1)) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $rec (i32.const 5) (call $proxy_enqueue_shared_queue (i32.const 999) ${m.s("x")}))
        (call $rec (i32.const 6) (call $proxy_enqueue_shared_queue (call $slot (i32.const 1)) ${m.s("hello")}))
        (i32.const 1))
      (func (export "proxy_on_queue_ready") (param $root i32) (param $id i32)
        (call $inc (i32.const 7))
        (call $rec (i32.const 8) (local.get $id))
        (call $rec (i32.const 9) (call $proxy_dequeue_shared_queue (local.get $id) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out))`);
    const host = await createTestHost({ wasm });
    // The notification is posted: it ran after on_vm_start returned, not inside it.
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => slot(host, i))).toEqual([0, 1, WasmResult.NotFound, 0, WasmResult.Empty, WasmResult.NotFound, 0]);
    expect([slot(host, 7), slot(host, 8), slot(host, 9)]).toEqual([1, 1, 0]);
    expect(host.logs("info")).toEqual(["hello"]);
  });

  it("shared data and queues are shared by every VM of a plugin (one per worker); the last root to register gets the queue", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_register_shared_queue ${m.s("work")} (i32.const ${OUT}))) (i32.const 1))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $inc (i32.const 0))
        (drop (call $proxy_set_shared_data ${m.s("last")} ${m.s("seen")} (i32.const 0)))
        (drop (call $proxy_resolve_shared_queue ${m.s("")} ${m.s("work")} (i32.const ${OUT})))
        (drop (call $proxy_enqueue_shared_queue (i32.load (i32.const ${OUT})) ${m.s("job")}))
        (i32.const 0))
      (func (export "proxy_on_queue_ready") (param i32 i32) (call $inc (i32.const 1)))`);
    const host = await createTestHost({ wasm, concurrency: 3 });
    for (let i = 0; i < 3; i++) host.httpStream().callOnRequestHeaders(GET, true);
    // Streams went round-robin, one per VM; every enqueue woke the last VM's root.
    expect([0, 1, 2].map((vm) => slot(host, 0, vm))).toEqual([1, 1, 1]);
    expect([0, 1, 2].map((vm) => slot(host, 1, vm))).toEqual([0, 0, 3]);
    expect(host.sharedData("last")?.value).toBe("seen");
  });
});

describe("HTTP callouts", () => {
  const callout = () => proxyModule((m) => `
    (global $stream (mut i32) (i32.const 0))
    (func (export "proxy_on_request_headers") (param $ctx i32) (param i32) (param i32) (result i32)
      (global.set $stream (local.get $ctx))
      (call $rec (i32.const 0) (call $proxy_http_call ${m.s("auth")}
        ${m.pairs([[":method", "POST"], [":path", "/check"], [":authority", "auth.local"], ["X-Key", "k"]])}
        ${m.s("payload")} ${m.pairs([["trailer", "t"]])} (i32.const 5000) (i32.const ${OUT})))
      (call $rec (i32.const 1) (i32.load (i32.const ${OUT})))
      (call $rec (i32.const 9) (call $proxy_http_call ${m.s("unknown")} ${m.pairs([[":method", "GET"], [":path", "/"], [":authority", "a"]])}
        (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${OUT})))
      (call $rec (i32.const 10) (call $proxy_http_call ${m.s("auth")} ${m.pairs([[":method", "GET"], [":path", "/"]])}
        (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${OUT})))
      (i32.const 1))
    (func (export "proxy_on_http_call_response") (param $root i32) (param $token i32) (param $h i32) (param $b i32) (param $t i32)
      (call $rec (i32.const 2) (local.get $root))
      (call $rec (i32.const 3) (local.get $token))
      (call $rec (i32.const 4) (local.get $h))
      (call $rec (i32.const 5) (local.get $b))
      (drop (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (local.get $b) (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (call $log_out)
      (drop (call $proxy_get_header_map_value (i32.const 6) ${m.s(":status")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (call $log_out)
      (call $rec (i32.const 6) (call $proxy_get_status (i32.const ${OUT + 16}) (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (call $rec (i32.const 7) (i32.load (i32.const ${OUT + 16})))
      (drop (call $proxy_set_effective_context (global.get $stream)))
      (call $rec (i32.const 8) (call $proxy_continue_stream (i32.const 0)))
      ;; The continue waits for this call to return: nothing went upstream yet.
      (drop (call $proxy_log (i32.const 3) ${m.s("callback done")})))`);

  it("13.25 the callout carries :method/:path/:authority, content-length and trailers; the response comes with its header count and body", async () => {
    const host = await createTestHost({ wasm: callout(), clusters: ["auth"] });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect(slot(host, 0)).toBe(0);
    expect(slot(host, 1)).toBe(4); // tokens 4, 8, 12, … per VM
    expect(host.httpCalls).toEqual([{
      token: 4, cluster: "auth", timeoutMs: 5000, body: "payload", trailers: { trailer: "t" },
      headers: { ":method": "POST", ":path": "/check", ":authority": "auth.local", "x-key": "k", "content-length": "7" },
    }]);
    host.respondToHttpCall({ status: 200, headers: { "x-a": "1" }, body: "allowed" });
    expect([2, 3, 4, 5].map((i) => slot(host, i))).toEqual([1, 4, 2, 7]);
    expect(host.logs("info")).toEqual(["allowed", "200"]);
  });

  it("13.26 a continue issued inside the callout response runs after the VM call returns", async () => {
    const host = await createTestHost({ wasm: callout(), clusters: ["auth"] });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    // Note what the plugin had logged when the request headers went upstream.
    const sink = s.stream.sink;
    const forward = sink.requestHeaders!;
    let warningsAtUpstream = -1;
    sink.requestHeaders = (h, end) => {
      warningsAtUpstream = host.logs("warn").length;
      forward(h, end);
    };
    host.respondToHttpCall({ status: 200 });
    expect(slot(host, 8)).toBe(0);
    expect(warningsAtUpstream).toBe(1);
    expect(host.logs("warn")).toEqual(["callback done"]);
    expect(s.upstream.headers?.get(":path")).toBe("/");
  });

  it("13.27 callout failures: unknown cluster and missing pseudo-headers BAD_ARGUMENT; refused send INTERNAL_FAILURE; reset → 0 headers and status 11 'reset'", async () => {
    const host = await createTestHost({ wasm: callout(), clusters: ["auth"] });
    host.httpStream().callOnRequestHeaders(GET, true);
    expect([slot(host, 9), slot(host, 10)]).toEqual([WasmResult.BadArgument, WasmResult.BadArgument]);
    host.failHttpCall();
    expect([slot(host, 4), slot(host, 5), slot(host, 6), slot(host, 7)]).toEqual([0, 0, 0, WasmResult.BrokenConnection]);
    // A transport that refuses to send: INTERNAL_FAILURE, and no callback ever comes.
    const refusing = await createTestHost({ wasm: callout(), clusters: ["auth"] });
    refusing.host.callouts = { hasCluster: () => true, send: () => undefined };
    refusing.httpStream().callOnRequestHeaders(GET, true);
    expect(slot(refusing, 0)).toBe(WasmResult.InternalFailure);
    expect(slot(refusing, 3)).toBe(0);
  });

  it("13.27 no callback after the VM is gone; a timeout arrives as Envoy's 504", async () => {
    const host = await createTestHost({ wasm: callout(), clusters: ["auth"] });
    host.httpStream().callOnRequestHeaders(GET, true);
    host.timeoutHttpCall();
    expect([slot(host, 4), slot(host, 5)]).toEqual([3, "upstream request timeout".length]);
    expect(host.logs("info")).toEqual(["upstream request timeout", "504"]);
    const gone = await createTestHost({ wasm: callout(), clusters: ["auth"] });
    gone.httpStream().callOnRequestHeaders(GET, true);
    expect(gone.httpCalls).toHaveLength(1);
    gone.shutdown();
    // Deleting the root cancelled the callout.
    expect(gone.httpCalls).toHaveLength(0);
    expect(slot(gone, 3)).toBe(0);
  });
});

describe("pairs", () => {
  it("13.10 pairs encode and decode round-trip; malformed input is rejected", () => {
    const pairs = [":status", "200", "a", "", "", "x", "k\u00e9", "v"];
    const bytes = encodePairs(pairs);
    expect(bytes.toString("hex")).toBe(Buffer.concat([
      Buffer.from([4, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0]),
      Buffer.from(":status\u0000200\u0000a\u0000\u0000\u0000x\u0000k\u00e9\u0000v\u0000", "latin1"),
    ]).toString("hex"));
    expect(decodePairs(bytes, 0, bytes.length)).toEqual(pairs);
    expect(decodePairs(Buffer.alloc(0), 0, 0)).toEqual([]);
    expect(decodePairs(Buffer.from([0]), 0, 1)).toEqual([]);
    const noNul = Buffer.from(bytes);
    noNul[4 + 4 * 8 + 7] = 0x41;
    expect(decodePairs(noNul, 0, noNul.length)).toBeNull();
    expect(decodePairs(bytes, 0, bytes.length - 1)).toBeNull();
    expect(decodePairs(Buffer.concat([bytes, Buffer.from([0])]), 0, bytes.length + 1)).toBeNull();
    const tooMany = Buffer.alloc(8);
    tooMany.writeUInt32LE(1025, 0);
    expect(decodePairs(tooMany, 0, 8)).toBeNull();
  });

  it("13.10 malformed pairs given to set_header_map_pairs become an empty map", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_set_header_map_pairs (i32.const 0) ${m.s(Buffer.from([2, 0, 0, 0, 9, 0, 0, 0]))}))
        (i32.const 0))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect(slot(host, 0)).toBe(0);
    expect(s.upstream.headers?.count).toBe(0);
  });
});
