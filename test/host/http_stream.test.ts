// Conformance (docs/abi.md, "Conformance items"; docs/envoy/http-stream.md): how an HTTP stream runs through a plugin — context ids,
// header maps and when they are available, pauses, body buffering, trailers, resuming, local
// replies, resets. Each test is a WAT module that does exactly what Envoy's test plugin does.
import { describe, expect, it } from "vitest";
import { createTestHost, WasmResult } from "../../host/index.js";
import { OUT, proxyModule, slot } from "./helpers/proxy_wat.js";

const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };
const POST = { ":method": "POST", ":path": "/upload", ":authority": "example.com" };

describe("HTTP stream conformance", () => {
  it("13.15 first stream context id is 2", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_context_create") (param $ctx i32) (param $parent i32)
        (if (i32.eqz (local.get $parent))
          (then (call $rec (i32.const 2) (local.get $ctx)))
          (else (call $rec (i32.const 0) (local.get $ctx)) (call $rec (i32.const 1) (local.get $parent)))))`);
    const host = await createTestHost({ wasm });
    host.httpStream().callOnRequestHeaders(GET, true);
    expect(slot(host, 2)).toBe(1); // the root context
    expect(slot(host, 0)).toBe(2);
    expect(slot(host, 1)).toBe(1);
    host.httpStream().callOnRequestHeaders(GET, true);
    expect(slot(host, 0)).toBe(3);
  });

  it("13.16 request-header edits go upstream; response headers are BAD_ARGUMENT during the request", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_add_header_map_value (i32.const 0) ${m.s("newheader")} ${m.s("newheadervalue")}))
        (call $rec (i32.const 1) (call $proxy_replace_header_map_value (i32.const 0) ${m.s("server")} ${m.s("envoy-wasm")}))
        (call $rec (i32.const 2) (call $proxy_add_header_map_value (i32.const 2) ${m.s("bad")} ${m.s("bad")}))
        (call $rec (i32.const 3) (call $proxy_add_header_map_value (i32.const 3) ${m.s("bad")} ${m.s("bad")}))
        (call $rec (i32.const 4) (call $proxy_remove_header_map_value (i32.const 3) ${m.s("bad")}))
        (call $rec (i32.const 5) (call $proxy_get_header_map_size (i32.const 0) (i32.const ${OUT})))
        (call $rec (i32.const 6) (i32.load (i32.const ${OUT})))
        (call $rec (i32.const 7) (call $proxy_get_header_map_size (i32.const 2) (i32.const ${OUT})))
        (i32.const 0))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ...GET, server: "envoy" }, true);
    expect([0, 1, 2, 3, 4, 5, 7].map((i) => slot(host, i))).toEqual([0, 0, 2, 2, 2, 0, 2]);
    expect(s.upstream.headers?.get("newheader")).toBe("newheadervalue");
    expect(s.upstream.headers?.get("server")).toBe("envoy-wasm");
    // Envoy's header byte size: keys and values, after the edits above.
    expect(slot(host, 6)).toBe(":method".length + 3 + ":path".length + 1 + ":authority".length + 11 +
      "server".length + "envoy-wasm".length + "newheader".length + "newheadervalue".length);
    expect(s.stream.routeCacheClears).toBe(2);
  });

  it("13.17 continue_stream and close_stream with type 9999 are BAD_ARGUMENT; UPSTREAM continue is UNIMPLEMENTED", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_continue_stream (i32.const 9999)))
        (call $rec (i32.const 1) (call $proxy_close_stream (i32.const 9999)))
        (call $rec (i32.const 2) (call $proxy_continue_stream (i32.const 3)))
        (call $rec (i32.const 3) (call $proxy_continue_stream (i32.const 2)))
        (i32.const 0))`);
    const host = await createTestHost({ wasm });
    host.httpStream().callOnRequestHeaders(GET, true);
    expect([0, 1, 2, 3].map((i) => slot(host, i))).toEqual([WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.Unimplemented, WasmResult.Ok]);
  });

  it("13.18 on_response_trailers returning 1 stops iteration", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_response_trailers") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_replace_header_map_value (i32.const 3) ${m.s("new-trailer")} ${m.s("value")}))
        (i32.const 1))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders({ ":status": "200" });
    s.callOnResponseBody("data");
    expect(s.callOnResponseTrailers({ "grpc-status": "0" })).toBe(1);
    expect(slot(host, 0)).toBe(0);
    expect(s.downstream.body.toString()).toBe("data");
    expect(s.downstream.trailers).toBeUndefined();
    expect(s.downstream.ended).toBe(false);
  });

  it("13.19 adding trailers in the last body callback creates them; not on earlier chunks", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
        (if (local.get $eos)
          (then (call $rec (i32.const 1) (call $proxy_add_header_map_value (i32.const 1) ${m.s("x-checksum")} ${m.s("abc")})))
          (else (call $rec (i32.const 0) (call $proxy_add_header_map_value (i32.const 1) ${m.s("x-early")} ${m.s("no")}))))
        (i32.const 0))
      (func (export "proxy_on_response_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
        (if (local.get $eos)
          (then (call $rec (i32.const 2) (call $proxy_replace_header_map_value (i32.const 3) ${m.s("x-resp")} ${m.s("t")}))))
        (i32.const 0))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(POST);
    s.callOnRequestBody("part1");
    s.callOnRequestBody("part2", true);
    expect(slot(host, 0)).toBe(WasmResult.BadArgument);
    expect(slot(host, 1)).toBe(WasmResult.Ok);
    expect(s.upstream.body.toString()).toBe("part1part2");
    expect(s.upstream.trailers?.get("x-checksum")).toBe("abc");
    expect(s.upstream.ended).toBe(true);
    s.callOnResponseHeaders({ ":status": "200" });
    s.callOnResponseBody("done", true);
    expect(slot(host, 2)).toBe(WasmResult.Ok);
    expect(s.downstream.trailers?.get("x-resp")).toBe("t");
  });

  it("13.20 paused headers resume from on_tick via set_effective_context + continue", async () => {
    const wasm = proxyModule(() => `
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_set_tick_period_milliseconds (i32.const 100))) (i32.const 1))
      (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
        (global.set $stream (local.get $ctx)) (i32.const 1))
      (func (export "proxy_on_tick") (param i32)
        (if (global.get $stream) (then
          (call $rec (i32.const 0) (call $proxy_set_effective_context (global.get $stream)))
          (call $rec (i32.const 1) (call $proxy_continue_stream (i32.const 0)))
          (global.set $stream (i32.const 0)))))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    expect(s.callOnRequestHeaders(GET, true)).toBe(1);
    expect(s.upstream.headers).toBeUndefined();
    host.advanceTime(99);
    expect(s.upstream.headers).toBeUndefined();
    host.advanceTime(1);
    expect([slot(host, 0), slot(host, 1)]).toEqual([0, 0]);
    expect(s.upstream.headers?.get(":path")).toBe("/");
    expect(s.upstream.ended).toBe(true);
  });

  const bodyOps: Array<[string, string, string]> = [
    ["prepend", `(drop (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 0) (i32.const 0) PREPEND))`, "prepend.hello"],
    ["append", `(drop (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 5) (i32.const 0) APPEND))`, "hello.append"],
    ["replace", `(drop (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 0) (local.get $size) REPLACE))`, "replace"],
    ["partial replace", `(drop (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 0) (i32.const 1) PARTIAL))`, "partial.replace.ello"],
    ["remove", `(drop (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 0) (local.get $size) EMPTY))`, ""],
    ["partial remove", `(drop (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 0) (i32.const 1) EMPTY))`, "ello"],
  ];
  for (const [name, op, expected] of bodyOps) {
    it(`13.21 body ${name}`, async () => {
      const wasm = proxyModule((m) => `
        (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
          ${op.replace("PREPEND", m.s("prepend.")).replace("APPEND", m.s(".append")).replace("REPLACE", m.s("replace"))
            .replace("PARTIAL", m.s("partial.replace.")).replace("EMPTY", "(i32.const 0) (i32.const 0)")}
          (call $rec (i32.const 0) (call $proxy_get_buffer_bytes (i32.const 0) (i32.const 0) (i32.const 100) (i32.const ${OUT}) (i32.const ${OUT + 4})))
          (call $log_out)
          (i32.const 0))`);
      const host = await createTestHost({ wasm });
      const s = host.httpStream();
      s.callOnRequestHeaders(POST);
      s.callOnRequestBody("hello", true);
      expect(slot(host, 0)).toBe(0);
      expect(s.requestBody).toBe(expected);
      expect(host.logs("info")).toEqual([expected]);
    });
  }

  it("13.21 a mid-buffer edit is BAD_ARGUMENT (Envoy allows only start 0 or start ≥ length)", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 2) (i32.const 1) ${m.s("X")}))
        (call $rec (i32.const 1) (call $proxy_set_buffer_bytes (i32.const 4) (i32.const 0) (i32.const 0) ${m.s("X")}))
        (call $rec (i32.const 2) (call $proxy_set_buffer_bytes (i32.const 6) (i32.const 0) (i32.const 0) ${m.s("X")}))
        (i32.const 0))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(POST);
    s.callOnRequestBody("hello", true);
    expect([0, 1, 2].map((i) => slot(host, i))).toEqual([WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.BadArgument]);
    expect(s.requestBody).toBe("hello");
  });

  // Envoy's BufferBody: log the whole buffer, StopIterationAndBuffer until end of stream.
  const bufferBody = () => proxyModule(() => `
    (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
      (call $inc (i32.const 0))
      (call $rec (call $slot (i32.const 0)) (local.get $size))
      (drop (call $proxy_get_buffer_bytes (i32.const 0) (i32.const 0) (local.get $size) (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (call $log_out)
      (if (result i32) (local.get $eos) (then (i32.const 0)) (else (i32.const 1))))`);

  it("13.22 Pause from body buffers: sizes 5, 12, 17 show 'hello', 'hello again ', 'hello again hello'", async () => {
    const host = await createTestHost({ wasm: bufferBody() });
    const s = host.httpStream();
    s.callOnRequestHeaders(POST);
    expect(s.callOnRequestBody("hello")).toBe(1);
    expect(s.callOnRequestBody(" again ")).toBe(1);
    expect(s.upstream.body.length).toBe(0);
    expect(s.callOnRequestBody("hello", true)).toBe(0);
    expect([1, 2, 3].map((i) => slot(host, i))).toEqual([5, 12, 17]);
    expect(host.logs("info")).toEqual(["hello", "hello again ", "hello again hello"]);
    expect(s.requestBody).toBe("hello again hello");
    expect(s.upstream.ended).toBe(true);
  });

  it("13.23 after Continue, later chunks are reported individually", async () => {
    // Buffer the first two chunks, then continue: the next chunks arrive one by one.
    const wasm = proxyModule(() => `
      (func (export "proxy_on_response_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
        (call $inc (i32.const 0))
        (call $rec (call $slot (i32.const 0)) (local.get $size))
        (if (result i32) (i32.lt_u (call $slot (i32.const 0)) (i32.const 2)) (then (i32.const 1)) (else (i32.const 0))))`);
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders({ ":status": "200" });
    for (const chunk of ["aaa", "bb", "c", "dddd"]) s.callOnResponseBody(chunk);
    s.callOnResponseBody("", true);
    expect([1, 2, 3, 4, 5].map((i) => slot(host, i))).toEqual([3, 5, 1, 4, 0]);
    expect(s.responseBody).toBe("aaabbcdddd");
    expect(s.downstream.ended).toBe(true);
  });

  it("13.11 StopIteration from headers becomes StopAllIterationAndWatermark unless allowed", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
        (call $inc (i32.const 0)) (call $rec (i32.const 1) (local.get $size)) (i32.const 0))`);
    // Default: the body waits, unseen, until the plugin continues.
    const stopAll = await createTestHost({ wasm });
    const a = stopAll.httpStream();
    a.callOnRequestHeaders(POST);
    expect(a.callOnRequestBody("abc")).toBeUndefined();
    a.callOnRequestBody("de", true);
    expect(slot(stopAll, 0)).toBe(0);
    expect(a.upstream.headers).toBeUndefined();
    // With allow_on_headers_stop_iteration the body callback runs; its Continue lets everything go.
    const allowed = await createTestHost({ wasm, allowOnHeadersStopIteration: true });
    const b = allowed.httpStream();
    b.callOnRequestHeaders(POST);
    expect(b.upstream.headers).toBeUndefined();
    expect(b.callOnRequestBody("abc")).toBe(0);
    expect(slot(allowed, 0)).toBe(1);
    expect(b.upstream.headers?.get(":path")).toBe("/upload");
    expect(b.requestBody).toBe("abc");
  });
});
