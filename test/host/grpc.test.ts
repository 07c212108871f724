// Conformance (docs/abi.md, "Conformance items" 28, 29): gRPC token kinds and stream event order, through
// the test API's scripted gRPC (host.grpc).
import { describe, expect, it } from "vitest";
import { createTestHost, WasmResult } from "../../host/index.js";
import { OUT, ProxyWat, slot } from "./helpers/proxy_wat.js";

describe("gRPC conformance", () => {
  it("13.28 token kinds: an HTTP token is BAD_ARGUMENT for send/cancel/close; an unknown call NOT_FOUND; an unknown cluster PARSE_FAILURE", async () => {
    const m = new ProxyWat();
    const wasm = m.build(`
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_http_call ${m.s("c")} ${m.pairs([[":method", "GET"], [":path", "/"], [":authority", "a"]])} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${OUT})))
        (call $rec (i32.const 0) (i32.load (i32.const ${OUT})))
        (call $rec (i32.const 1) (call $proxy_grpc_send (call $slot (i32.const 0)) ${m.s("m")} (i32.const 0)))
        (call $rec (i32.const 2) (call $proxy_grpc_cancel (call $slot (i32.const 0))))
        (call $rec (i32.const 3) (call $proxy_grpc_close (call $slot (i32.const 0))))
        (call $rec (i32.const 4) (call $proxy_grpc_cancel (i32.const 5)))
        (call $rec (i32.const 5) (call $proxy_grpc_close (i32.const 9)))
        (call $rec (i32.const 6) (call $proxy_grpc_send (i32.const 6) ${m.s("m")} (i32.const 0)))
        ;; A call token is not a stream: send is BAD_ARGUMENT.
        (call $rec (i32.const 7) (call $proxy_grpc_call ${m.s("svc")} ${m.s("pkg.S")} ${m.s("M")} (i32.const 0) (i32.const 0) ${m.s("req")} (i32.const 100) (i32.const ${OUT})))
        (call $rec (i32.const 8) (i32.load (i32.const ${OUT})))
        (call $rec (i32.const 9) (call $proxy_grpc_send (call $slot (i32.const 8)) ${m.s("m")} (i32.const 0)))
        (call $rec (i32.const 10) (call $proxy_grpc_call ${m.s("nope")} ${m.s("pkg.S")} ${m.s("M")} (i32.const 0) (i32.const 0) ${m.s("req")} (i32.const 100) (i32.const ${OUT})))
        (i32.const 1))`);
    const host = await createTestHost({ wasm, clusters: ["c", "svc"] });
    expect(slot(host, 0)).toBe(4);
    expect([1, 2, 3].map((i) => slot(host, i))).toEqual([WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.BadArgument]);
    expect([4, 5, 6].map((i) => slot(host, i))).toEqual([WasmResult.NotFound, WasmResult.NotFound, WasmResult.NotFound]);
    expect([slot(host, 7), slot(host, 8), slot(host, 9)]).toEqual([0, 5, WasmResult.BadArgument]);
    expect(slot(host, 10)).toBe(WasmResult.ParseFailure);
    expect(host.grpc.calls.map((c) => [c.token, c.cluster, c.serviceName, c.method, c.message.toString(), c.timeoutMs])).toEqual([[5, "svc", "pkg.S", "M", "req", 100]]);
  });

  it("13.29 a stream delivers initial metadata, messages, trailing metadata and the close in order; local and remote close", async () => {
    const m = new ProxyWat();
    // Each event appends its kind digit to a trace at 0x400 (1 initial, 2 message, 3 trailing, 4 close).
    const trace = (kind: number) => `
      (i32.store8 (i32.add (i32.const 0x400) (call $slot (i32.const 0))) (i32.const ${48 + kind}))
      (call $inc (i32.const 0))`;
    const wasm = m.build(`
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $rec (i32.const 1) (call $proxy_grpc_stream ${m.s("svc")} ${m.s("pkg.S")} ${m.s("Chat")} ${m.pairs([["x-md", "v"]])} (i32.const ${OUT})))
        (call $rec (i32.const 2) (i32.load (i32.const ${OUT})))
        (call $rec (i32.const 3) (call $proxy_grpc_send (call $slot (i32.const 2)) ${m.s("hi")} (i32.const 0)))
        (i32.const 1))
      (func (export "proxy_on_grpc_receive_initial_metadata") (param i32) (param i32) (param $n i32) ${trace(1)} (call $rec (i32.const 4) (local.get $n)))
      (func (export "proxy_on_grpc_receive") (param i32) (param i32) (param $size i32) ${trace(2)}
        (drop (call $proxy_get_buffer_bytes (i32.const 5) (i32.const 0) (local.get $size) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out)
        ;; The plugin closes its side after the first message.
        (call $rec (i32.const 5) (call $proxy_grpc_close (call $slot (i32.const 2)))))
      (func (export "proxy_on_grpc_receive_trailing_metadata") (param i32) (param i32) (param $n i32) ${trace(3)})
      (func (export "proxy_on_grpc_close") (param i32) (param i32) (param $status i32) ${trace(4)}
        (call $rec (i32.const 6) (local.get $status))
        (drop (call $proxy_get_status (i32.const ${OUT + 8}) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out)
        ;; Both sides closed: the stream is gone.
        (call $rec (i32.const 7) (call $proxy_grpc_send (call $slot (i32.const 2)) ${m.s("late")} (i32.const 0))))`);
    const host = await createTestHost({ wasm, clusters: ["svc"] });
    expect([slot(host, 1), slot(host, 2), slot(host, 3)]).toEqual([0, 6, 0]);
    expect(host.grpc.streams[0]).toMatchObject({ method: "Chat", initialMetadata: { "x-md": "v" }, halfClosed: false });
    expect(host.grpc.streams[0]!.sent.map(String)).toEqual(["hi"]);
    host.grpc.sendInitialMetadata({ "x-a": "1", "x-b": "2" });
    host.grpc.sendMessage("reply");
    expect(slot(host, 5)).toBe(0);
    expect(host.grpc.streams[0]!.halfClosed).toBe(true);
    host.grpc.sendTrailingMetadata({ "x-t": "1" });
    host.grpc.closeStream(3, "bad input");
    const order = host.plugin.currentVms()[0]!.mem.bytes.toString("latin1", 0x400, 0x400 + slot(host, 0));
    expect(order).toBe("1234");
    expect(slot(host, 4)).toBe(2);
    expect(slot(host, 6)).toBe(3);
    expect(host.logs("info")).toEqual(["reply", "bad input"]);
    expect(slot(host, 7)).toBe(WasmResult.NotFound);
  });
});
