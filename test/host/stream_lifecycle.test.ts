// Review findings on the life of an HTTP stream in the host: nothing reaches a plugin for a stream
// whose context it was told to delete (Envoy destroys the filter; a late upstream event or a late
// client byte goes nowhere).
import { describe, expect, it } from "vitest";
import { createTestHost } from "../../host/index.js";
import { HeaderMap } from "../../host/values/header_map.js";
import { proxyModule, slot } from "./helpers/proxy_wat.js";

const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };

// Counts every stream callback in slots 0–5 and on_delete in slot 6; traps when a stream callback
// runs for a context already deleted (as SDKs that look the context up do: the Rust SDK panics).
const countingPlugin = () => proxyModule(() => `
  (global $deleted (mut i32) (i32.const 0))
  (func $seen (param $ctx i32) (param $slot i32)
    (if (i32.eq (local.get $ctx) (global.get $deleted)) (then unreachable))
    (call $inc (local.get $slot)))
  (func (export "proxy_on_request_headers") (param $c i32) (param i32 i32) (result i32) (call $seen (local.get $c) (i32.const 0)) (i32.const 0))
  (func (export "proxy_on_request_body") (param $c i32) (param i32 i32) (result i32) (call $seen (local.get $c) (i32.const 1)) (i32.const 0))
  (func (export "proxy_on_request_trailers") (param $c i32) (param i32) (result i32) (call $seen (local.get $c) (i32.const 2)) (i32.const 0))
  (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32) (call $seen (local.get $c) (i32.const 3)) (i32.const 0))
  (func (export "proxy_on_response_body") (param $c i32) (param i32 i32) (result i32) (call $seen (local.get $c) (i32.const 4)) (i32.const 0))
  (func (export "proxy_on_response_trailers") (param $c i32) (param i32) (result i32) (call $seen (local.get $c) (i32.const 5)) (i32.const 0))
  (func (export "proxy_on_delete") (param $c i32) (global.set $deleted (local.get $c)) (call $inc (i32.const 6)))`);

describe("a completed stream", () => {
  it("delivers no late request or response event to the plugin", async () => {
    const host = await createTestHost({ wasm: countingPlugin() });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ...GET, "content-length": "4" });
    // The client went away mid-request: the stream ends before anything else arrived.
    s.complete({ requestComplete: false });
    expect(slot(host, 6)).toBe(1);
    s.stream.decodeData(Buffer.from("late"), true);
    s.stream.decodeTrailers(new HeaderMap(["x-t", "1"]));
    s.stream.encodeHeaders(new HeaderMap([":status", "503"]), false);
    s.stream.encodeData(Buffer.from("late"), false);
    s.stream.encodeTrailers(new HeaderMap(["x-t", "1"]));
    host.runPending();
    expect([0, 1, 2, 3, 4, 5].map((i) => slot(host, i))).toEqual([1, 0, 0, 0, 0, 0]);
    expect(host.failures).toEqual([]);
    expect(s.upstream.body.length).toBe(0);
    expect(s.downstream.headers).toBeUndefined();
  });

  it("a stream completed before its request headers never creates a context", async () => {
    const host = await createTestHost({ wasm: countingPlugin() });
    const s = host.httpStream();
    s.complete({ requestComplete: false });
    s.stream.decodeHeaders(new HeaderMap([":method", "GET", ":path", "/", ":authority", "x"]), true);
    expect(slot(host, 0)).toBe(0);
    expect(host.plugin.currentVms()[0]!.contexts.size).toBe(1);
    expect(host.failures).toEqual([]);
  });
});

describe("a trap right after a continue", () => {
  it("the continue still takes effect (Envoy runs a call's deferred actions even when it trapped)", async () => {
    // Pauses request headers; the tick resumes that stream, then traps.
    const wasm = proxyModule(() => `
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_set_tick_period_milliseconds (i32.const 100))) (i32.const 1))
      (func (export "proxy_on_request_headers") (param $c i32) (param i32 i32) (result i32)
        (global.set $stream (local.get $c)) (i32.const 1))
      (func (export "proxy_on_tick") (param i32)
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (drop (call $proxy_continue_stream (i32.const 0)))
        unreachable)`);
    const host = await createTestHost({ wasm, failurePolicy: "FAIL_CLOSED" });
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect(s.upstream.headers).toBeUndefined();
    host.tick();
    expect(host.failures).toHaveLength(1);
    // The request went on; the response meets the failed VM: a 503, not a stream that hangs.
    expect(s.upstream.headers?.get(":path")).toBe("/");
    s.callOnResponseHeaders({ ":status": "200" }, true);
    expect(s.downstream.headers?.get(":status")).toBe("503");
  });
});
