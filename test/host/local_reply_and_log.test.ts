// Conformance (docs/abi.md, "Conformance items"): local replies, resets, traps in each callback, the access-log
// phase, and the effective context.
import { describe, expect, it } from "vitest";
import { createTestHost, WasmResult } from "../../host/index.js";
import { OUT, proxyModule, slot } from "./helpers/proxy_wat.js";

const GET = { ":method": "GET", ":path": "/secret", ":authority": "example.com" };

describe("local replies and the access-log phase", () => {
  it("a local reply from request headers passes through the same plugin's response callbacks", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_send_local_response (i32.const 403) ${m.s("access denied")}
          ${m.s("forbidden")} ${m.pairs([["x-reason", "policy"]])} (i32.const -1)))
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (call $inc (i32.const 1))
        (drop (call $proxy_get_header_map_value (i32.const 2) ${m.s(":status")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out)
        (drop (call $proxy_add_header_map_value (i32.const 2) ${m.s("x-seen-by")} ${m.s("plugin")}))
        (i32.const 0))
      (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (call $rec (i32.const 2) (local.get $size)) (i32.const 0))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    // The callback returned Continue, but a local reply stops the request.
    expect(s.callOnRequestHeaders(GET, true)).toBe(0);
    expect(slot(host, 0)).toBe(WasmResult.Ok);
    expect(s.upstream.headers).toBeUndefined();
    expect(slot(host, 1)).toBe(1);
    expect(host.logs("info")).toEqual(["403"]);
    expect(slot(host, 2)).toBe("forbidden".length);
    expect(s.downstream.headers?.toObject()).toEqual({
      ":status": "403", "x-reason": "policy", "content-length": "9", "content-type": "text/plain", "x-seen-by": "plugin",
    });
    expect(s.responseBody).toBe("forbidden");
    expect(s.localResponse).toMatchObject({ status: 403, details: "access_denied", grpcStatus: undefined });
    // Later upstream events are not the client's any more.
    s.callOnResponseHeaders({ ":status": "200" }, true);
    expect(s.downstream.headers?.get(":status")).toBe("403");
  });

  it("a local reply sent from a callout's answer reaches the client when the module exports no response callbacks", async () => {
    // A build that exports only the callbacks a plugin overrides (pwasm build) has no
    // proxy_on_response_headers: Envoy then just passes the reply on (checked with the http-callout
    // template in Envoy 1.40).
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_headers") (param $ctx i32) (param i32 i32) (result i32)
        (call $rec (i32.const 0) (local.get $ctx))
        (drop (call $proxy_http_call ${m.s("auth")} ${m.pairs([[":method", "GET"], [":path", "/check"], [":authority", "auth"]])} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const ${OUT})))
        (i32.const 1))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (drop (call $proxy_set_effective_context (call $slot (i32.const 0))))
        (drop (call $proxy_send_local_response (i32.const 403) ${m.s("denied")} ${m.s("denied")} (i32.const 0) (i32.const 0) (i32.const -1))))`);
    const host = await createTestHost({ wasm, clusters: ["auth"] });
    const s = host.httpStream();
    expect(s.callOnRequestHeaders(GET, true)).toBe(1);
    host.respondToHttpCall({ status: 403, body: "no" });
    expect(s.downstream.headers?.get(":status")).toBe("403");
    expect(s.responseBody).toBe("denied");
  });

  it("a gRPC request gets a trailers-only reply with grpc-status and a percent-encoded grpc-message", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_send_local_response (i32.const 401) ${m.s("")} ${m.s("bad token: 100%")} (i32.const 0) (i32.const 0) (i32.const 16)))
        (i32.const 1))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ":method": "POST", ":path": "/pkg.Svc/M", ":authority": "svc", "content-type": "application/grpc" });
    expect(s.downstream.headers?.toObject()).toEqual({
      ":status": "200", "content-type": "application/grpc", "grpc-status": "16", "grpc-message": "bad token: 100%25",
    });
    expect(s.downstream.ended).toBe(true);
    expect(s.responseBody).toBe("");
  });

  it("a local reply while encoding goes straight to the client; after response headers went out it resets", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_send_local_response (i32.const 502) ${m.s("bad upstream")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
        (i32.const 0))
      (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
        (drop (call $proxy_send_local_response (i32.const 500) ${m.s("late")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
        (i32.const 0))`);
    const host = await createTestHost({ wasm });
    const early = host.httpStream();
    early.callOnRequestHeaders(GET, true);
    early.callOnResponseHeaders({ ":status": "200", "x-upstream": "yes" });
    expect(early.downstream.headers?.toObject()).toEqual({ ":status": "502" });
    expect(early.downstream.ended).toBe(true);
    const { stream } = early;
    expect(stream.info.responseCodeDetails).toBe("bad_upstream");

    const wasm2 = proxyModule((m) => `
      (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
        (drop (call $proxy_send_local_response (i32.const 500) ${m.s("late")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
        (i32.const 0))`);
    const host2 = await createTestHost({ wasm: wasm2 });
    const late = host2.httpStream();
    late.callOnRequestHeaders(GET, true);
    late.callOnResponseHeaders({ ":status": "200" });
    late.callOnResponseBody("partial");
    expect(late.downstream.headers?.get(":status")).toBe("200");
    expect(late.resetDetails).toBe("late");
  });

  it("13.34 close_stream(HTTP_REQUEST / HTTP_RESPONSE) resets the stream with details wasm_close_stream", async () => {
    for (const type of [0, 1]) {
      const wasm = proxyModule(() => `
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
          (call $rec (i32.const 0) (call $proxy_close_stream (i32.const ${type}))) (i32.const 0))`);
      const host = await createTestHost({ wasm });
      const s = host.httpStream();
      s.callOnRequestHeaders(GET, true);
      expect(slot(host, 0)).toBe(WasmResult.Ok);
      expect(s.resetDetails).toBe("wasm_close_stream");
      expect(s.stream.info.responseCodeDetails).toBe("wasm_close_stream");
    }
  });

  const traps: Array<[string, string, (s: import("../../host/index.js").TestHttpStream) => void]> = [
    ["request headers", "proxy_on_request_headers", (s) => s.callOnRequestHeaders({ ...GET, ":method": "POST" })],
    ["request body", "proxy_on_request_body", (s) => { s.callOnRequestHeaders({ ...GET, ":method": "POST" }); s.callOnRequestBody("x"); }],
    ["request trailers", "proxy_on_request_trailers", (s) => { s.callOnRequestHeaders({ ...GET, ":method": "POST" }); s.callOnRequestTrailers({ t: "1" }); }],
    ["response headers", "proxy_on_response_headers", (s) => { s.callOnRequestHeaders(GET, true); s.callOnResponseHeaders({ ":status": "200" }); }],
    ["response body", "proxy_on_response_body", (s) => { s.callOnRequestHeaders(GET, true); s.callOnResponseHeaders({ ":status": "200" }); s.callOnResponseBody("x"); }],
    ["response trailers", "proxy_on_response_trailers", (s) => { s.callOnRequestHeaders(GET, true); s.callOnResponseHeaders({ ":status": "200" }); s.callOnResponseTrailers({ t: "1" }); }],
  ];
  for (const [name, callback, drive] of traps) {
    it(`13.33 a trap in ${name} gives one 503 wasm_fail_stream with gRPC UNAVAILABLE (or a reset once the response went out)`, async () => {
      const params = callback.endsWith("trailers") ? "(param i32 i32)" : "(param i32 i32 i32)";
      const wasm = proxyModule(() => `
        (func (export "${callback}") ${params} (result i32) (unreachable))
        (func (export "proxy_on_log") (param i32) (call $inc (i32.const 0)))`);
      const host = await createTestHost({ wasm, failurePolicy: "FAIL_CLOSED" });
      const s = host.httpStream();
      drive(s);
      expect(host.failures).toHaveLength(1);
      expect(host.failures[0]!.callback).toBe(callback);
      if (["response body", "response trailers"].includes(name)) {
        // Response headers already reached the client: Envoy resets.
        expect(s.resetDetails).toBe("wasm_fail_stream");
      } else {
        expect(s.localResponse).toMatchObject({ status: 503, details: "wasm_fail_stream", grpcStatus: 14 });
        expect(s.downstream.headers?.get(":status")).toBe("503");
      }
      // Nothing more reaches the client, and the failed VM runs no callback (no on_log).
      s.callOnResponseHeaders({ ":status": "200" }, true);
      s.complete();
      const resets = name === "response body" || name === "response trailers";
      expect(s.downstream.headers?.get(":status")).toBe(resets ? "200" : "503");
      expect(slot(host, 0)).toBe(0);
      // The next stream fails closed without running the plugin.
      const next = host.httpStream();
      next.callOnRequestHeaders(GET, true);
      expect(next.localResponse?.status).toBe(503);
      expect(host.failures).toHaveLength(1);
    });
  }

  it("13.24 on_log reads request :path and response :status; it is skipped when the request never completed", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_log") (param i32)
        (call $inc (i32.const 0))
        (call $rec (i32.const 1) (call $proxy_get_header_map_value (i32.const 0) ${m.s(":path")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out)
        (call $rec (i32.const 2) (call $proxy_get_header_map_value (i32.const 2) ${m.s(":status")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out)
        (call $rec (i32.const 3) (call $proxy_get_header_map_value (i32.const 1) ${m.s("t")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $rec (i32.const 4) (call $proxy_add_header_map_value (i32.const 2) ${m.s("late")} ${m.s("x")})))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET);
    s.callOnRequestTrailers({ t: "1" });
    s.callOnResponseHeaders({ ":status": "201" }, true);
    s.complete();
    expect(slot(host, 0)).toBe(1);
    expect(host.logs("info")).toEqual(["/secret", "201"]);
    // Request trailers are not readable in the access-log phase; nothing is writable.
    expect([slot(host, 1), slot(host, 2), slot(host, 3), slot(host, 4)]).toEqual([0, 0, WasmResult.NotFound, WasmResult.BadArgument]);
    const incomplete = host.httpStream();
    incomplete.callOnRequestHeaders(GET, true);
    incomplete.complete({ requestComplete: false });
    expect(slot(host, 0)).toBe(1);
  });

  it("13.24 on_log creates the context when the plugin never saw the request", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_context_create") (param $ctx i32) (param $parent i32)
        (if (local.get $parent) (then (call $rec (i32.const 0) (local.get $ctx)))))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $inc (i32.const 1)) (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (call $inc (i32.const 2)) (i32.const 0))
      (func (export "proxy_on_log") (param $ctx i32) (call $rec (i32.const 3) (local.get $ctx)))
      (func (export "proxy_on_done") (param i32) (result i32) (call $inc (i32.const 4)) (i32.const 1))
      (func (export "proxy_on_delete") (param i32) (call $inc (i32.const 5)))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.complete();
    expect([0, 1, 2, 3, 4, 5].map((i) => slot(host, i))).toEqual([2, 0, 0, 2, 1, 1]);
  });

  it("on_log runs before on_done and on_delete (current Envoy), or after on_done when configured", async () => {
    const wasm = proxyModule(() => `
      (global $n (mut i32) (i32.const 0))
      (func $order (param $slot i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (call $rec (local.get $slot) (global.get $n)))
      (func (export "proxy_on_log") (param i32) (call $order (i32.const 0)))
      (func (export "proxy_on_done") (param i32) (result i32) (call $order (i32.const 1)) (i32.const 1))
      (func (export "proxy_on_delete") (param i32) (call $order (i32.const 2)))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    s.complete();
    expect([0, 1, 2].map((i) => slot(host, i))).toEqual([1, 2, 3]);
  });

  it("request headers are forgotten once their callback continued (BAD_ARGUMENT later, as in Envoy)", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_get_header_map_value (i32.const 0) ${m.s(":path")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 1) (call $proxy_get_header_map_value (i32.const 0) ${m.s(":path")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $rec (i32.const 2) (call $proxy_get_header_map_pairs (i32.const 0) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $rec (i32.const 3) (i32.load (i32.const ${OUT + 4})))
        (i32.const 0))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ...GET, ":method": "POST" });
    s.callOnRequestBody("x", true);
    s.callOnResponseHeaders({ ":status": "200" }, true);
    expect([0, 1, 2, 3].map((i) => slot(host, i))).toEqual([WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.Ok, 0]);
  });

  it("13.35 the effective context is reset at the start of every host→module call", async () => {
    // on_request_headers switches to the root context and leaves it set; the next callback must
    // act on its own stream again.
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_set_effective_context (i32.const 1)))
        (call $rec (i32.const 1) (call $proxy_get_header_map_value (i32.const 0) ${m.s(":path")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (i32.const 1))
      (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 2) (call $proxy_get_buffer_status (i32.const 0) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $rec (i32.const 3) (i32.load (i32.const ${OUT})))
        (i32.const 0))
      (func (export "proxy_on_tick") (param i32))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $rec (i32.const 4) (call $proxy_set_effective_context (i32.const 77))) (i32.const 1))`);
    const host = await createTestHost({ wasm, allowOnHeadersStopIteration: true });
    expect(slot(host, 4)).toBe(WasmResult.BadArgument);
    const s = host.httpStream();
    s.callOnRequestHeaders({ ...GET, ":method": "POST" });
    // The root has no request headers.
    expect([slot(host, 0), slot(host, 1)]).toEqual([WasmResult.Ok, WasmResult.BadArgument]);
    s.callOnRequestBody("four", true);
    expect([slot(host, 2), slot(host, 3)]).toEqual([WasmResult.Ok, 4]);
  });
});
