// Review: host calls keep their answers when they take a shortcut on the per-request path.
import { describe, expect, it } from "vitest";
import { createTestHost, WasmResult } from "../../host/index.js";
import { proxyModule, slot } from "./helpers/proxy_wat.js";

describe("proxy_log below the log level", () => {
  it("writes nothing, answers OK, and still refuses a bad pointer", async () => {
    const wasm = proxyModule((m) => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_log (i32.const 1) ${m.s("debug line")}))
        (call $rec (i32.const 1) (call $proxy_log (i32.const 1) (i32.const 0x7ffffff0) (i32.const 64)))
        (call $rec (i32.const 2) (call $proxy_log (i32.const 2) ${m.s("info line")}))
        (call $rec (i32.const 3) (call $proxy_log (i32.const 2) (i32.const 0x7ffffff0) (i32.const 64)))
        (call $rec (i32.const 4) (call $proxy_log (i32.const 6) ${m.s("bad level")}))
        (i32.const 0))`);
    const host = await createTestHost({ wasm, logLevel: "info" });
    host.httpStream().callOnRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "x" }, true);
    expect([0, 1, 2, 3, 4].map((i) => slot(host, i))).toEqual([
      WasmResult.Ok, WasmResult.InvalidMemoryAccess, WasmResult.Ok, WasmResult.InvalidMemoryAccess, WasmResult.BadArgument,
    ]);
    expect(host.logs()).toEqual(["info line"]);
    expect(host.failures).toEqual([]);
  });
});
