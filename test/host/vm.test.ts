// Conformance (docs/abi.md, "Conformance items" and "WASI"): loading a module, its VM (init, allocator, memory cap, WASI),
// traps, root-context shutdown (the failure policies: test/failure_policy/).
import { describe, expect, it } from "vitest";
import { createTestHost, PluginLoadError, WasiErrno, WasmResult } from "../../host/index.js";
import { wat } from "../helpers/wat.js";
import { OUT, proxyModule, slot } from "./helpers/proxy_wat.js";

const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };

describe("loading a module", () => {
  it("13.1 a module without proxy_abi_version_* is refused; 0_2_0 is detected", async () => {
    const none = proxyModule(() => "", { abi: "none" });
    await expect(createTestHost({ wasm: none })).rejects.toThrow(/Missing or unknown Proxy-Wasm ABI version/);
    const v020 = proxyModule(() => "", { abi: "0.2.0" });
    expect((await createTestHost({ wasm: v020 })).plugin.abiVersion).toBe("0.2.0");
    const v010 = proxyModule(() => "", { abi: "0.1.0" });
    expect((await createTestHost({ wasm: v010 })).plugin.abiVersion).toBe("0.1.0");
  });

  it("13.2 an export with a wrong signature fails the load", async () => {
    const wasm = proxyModule(() => `(func (export "proxy_on_request_headers") (param i32 i32) (result i32) (i32.const 0))`);
    await expect(createTestHost({ wasm })).rejects.toThrow(
      "Bad function signature for: proxy_on_request_headers is (i32, i32) -> i32, ABI 0.2.1 requires (i32, i32, i32) -> i32",
    );
    // …which is the right signature for ABI 0.1.0.
    const old = proxyModule(() => `(func (export "proxy_on_request_headers") (param i32 i32) (result i32) (i32.const 0))`, { abi: "0.1.0" });
    await expect(createTestHost({ wasm: old })).resolves.toBeDefined();
  });

  it("13.3 a missing import, or one with another signature, fails the load naming it", async () => {
    const missing = wat(`(module (import "env" "proxy_does_not_exist" (func (param i32) (result i32)))
      (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 0)) (func (export "proxy_abi_version_0_2_1")))`);
    await expect(createTestHost({ wasm: missing })).rejects.toThrow("Failed to load Wasm module due to a missing import: env.proxy_does_not_exist");
    const mistyped = wat(`(module (import "env" "proxy_log" (func (param i32 i32) (result i32)))
      (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 0)) (func (export "proxy_abi_version_0_2_1")))`);
    await expect(createTestHost({ wasm: mistyped })).rejects.toThrow(/import type mismatch: env.proxy_log is \(i32, i32\) -> i32 in the module, the host provides \(i32, i32, i32\) -> i32/);
  });

  it("links exactly each ABI version's functions", async () => {
    const use = (fn: string, abi: "0.1.0" | "0.2.0" | "0.2.1") => wat(`(module
      (import "env" "${fn}" (func (param i32) (result i32)))
      (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 0))
      (func (export "proxy_abi_version_${abi.replace(/\./g, "_")}")))`);
    await expect(createTestHost({ wasm: use("proxy_get_log_level", "0.2.0") })).rejects.toThrow(/missing import: env.proxy_get_log_level \(not provided for ABI 0.2.0\)/);
    await expect(createTestHost({ wasm: use("proxy_get_log_level", "0.2.1") })).resolves.toBeDefined();
    await expect(createTestHost({ wasm: use("proxy_continue_stream", "0.1.0") })).rejects.toThrow(/proxy_continue_stream \(not provided for ABI 0.1.0\)/);
    const getConfig = wat(`(module (import "env" "proxy_get_configuration" (func (param i32 i32) (result i32)))
      (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 0)) (func (export "proxy_abi_version_0_2_1")))`);
    await expect(createTestHost({ wasm: getConfig })).rejects.toThrow(/proxy_get_configuration \(not provided for ABI 0.2.1\)/);
  });
});

describe("the VM", () => {
  it("13.4 a trap fails the VM: the error names the callback, later callbacks do not run", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_tick") (param i32) (call $inc (i32.const 0)) (unreachable))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (drop (call $proxy_set_tick_period_milliseconds (i32.const 10))) (i32.const 1))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $inc (i32.const 1)) (i32.const 0))`);
    const host = await createTestHost({ wasm, failurePolicy: "FAIL_CLOSED" });
    host.advanceTime(10);
    expect(host.failures.map((f) => [f.callback, f.message])).toEqual([["proxy_on_tick", "Uncaught RuntimeError: unreachable"]]);
    // Envoy's one error line, the backtrace in its format (the module has a name section).
    expect(host.logs("error")).toEqual([expect.stringMatching(/^Function: proxy_on_tick failed: Uncaught RuntimeError: unreachable\nProxy-Wasm plugin in-VM backtrace:\n {2}0: {2}0x[0-9a-f]+ - /)]);
    host.advanceTime(100);
    expect(slot(host, 0)).toBe(1);
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect(slot(host, 1)).toBe(0);
    expect(s.localResponse?.status).toBe(503);
  });

  it("13.5 runaway memory growth stops at the 1 GiB cap (memory.grow fails, the module traps)", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (loop $grow
          (if (i32.ne (memory.grow (i32.const 1024)) (i32.const -1)) (then (br $grow))))
        (loop $page
          (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then (br $page))))
        (call $rec (i32.const 0) (memory.size))
        (unreachable))`, { pages: 1 });
    const host = await createTestHost({ wasm });
    host.httpStream().callOnRequestHeaders(GET, true);
    expect(slot(host, 0)).toBe(16384);
    expect(host.failures[0]!.callback).toBe("proxy_on_request_headers");
    // A smaller cap is honoured, and a module whose initial memory exceeds it is refused.
    const small = await createTestHost({ wasm, memoryLimitBytes: 4 * 65536 });
    small.httpStream().callOnRequestHeaders(GET, true);
    expect(slot(small, 0)).toBe(4);
    const big = proxyModule(() => "", { pages: 8 });
    await expect(createTestHost({ wasm: big, memoryLimitBytes: 4 * 65536 })).rejects.toThrow(
      "the module's initial memory (512 KiB) exceeds the VM memory limit (256 KiB)",
    );
  });

  it("13.6 a hostcall inside the allocator traps with restricted_callback; proxy_log there is allowed", async () => {
    const mallocWith = (call: string) => proxyModule((m) => `
      (global $heap (mut i32) (i32.const 65536))
      (func (export "malloc") (param $n i32) (result i32) (local $p i32)
        ${call.replace("MSG", m.s("in malloc"))}
        (local.set $p (global.get $heap)) (global.set $heap (i32.add (global.get $heap) (local.get $n))) (local.get $p))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_get_header_map_value (i32.const 0) ${m.s(":path")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (i32.const 0))`, { noMalloc: true });
    const logging = await createTestHost({ wasm: mallocWith("(drop (call $proxy_log (i32.const 2) MSG))") });
    logging.httpStream().callOnRequestHeaders(GET, true);
    expect(slot(logging, 0)).toBe(0);
    expect(logging.logs("info")).toEqual(["in malloc"]);
    const metric = await createTestHost({ wasm: mallocWith(`(drop (call $proxy_define_metric (i32.const 0) MSG (i32.const ${OUT})))`) });
    metric.httpStream().callOnRequestHeaders(GET, true);
    expect(metric.failures[0]!.message).toMatch(/restricted_callback: proxy_define_metric is not allowed inside the allocator/);
  });

  it("only the init set of hostcalls is allowed during _initialize", async () => {
    const wasm = proxyModule((m) => `
      (func (export "_initialize")
        (drop (call $proxy_log (i32.const 2) ${m.s("init ok")}))
        (drop (call $proxy_get_property ${m.s("plugin_name")} (i32.const ${OUT}) (i32.const ${OUT + 4}))))`);
    await expect(createTestHost({ wasm })).rejects.toThrow(/plugin failed to start: Function: _initialize failed: Uncaught Error: restricted_callback: proxy_get_property is not allowed during VM initialization/);
  });

  it("13.7 environ_get yields the configured KEY=VALUE pairs, none by default", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $environ_sizes_get (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $rec (i32.const 0) (i32.load (i32.const ${OUT})))
        (call $rec (i32.const 1) (i32.load (i32.const ${OUT + 4})))
        (call $rec (i32.const 2) (call $environ_get (i32.const 0x300) (i32.const 0x400)))
        (drop (call $proxy_log (i32.const 2) (i32.load (i32.const 0x300)) (i32.const 6)))
        (i32.const 1))`);
    const none = await createTestHost({ wasm });
    expect([slot(none, 0), slot(none, 1)]).toEqual([0, 0]);
    const host = await createTestHost({ wasm, environment: { KEY: "V", A: "1" } });
    expect([slot(host, 0), slot(host, 1), slot(host, 2)]).toEqual([2, "KEY=V\0A=1\0".length, 0]);
    expect(host.logs("info")).toEqual(["KEY=V\0"]);
  });

  it("13.8 clock_time_get realtime and monotonic both work; other clocks are NOTSUP", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const ${OUT})))
        (call $rec (i32.const 1) (i32.wrap_i64 (i64.div_u (i64.load (i32.const ${OUT})) (i64.const 1000000000000))))
        (call $rec (i32.const 2) (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const ${OUT})))
        (call $rec (i32.const 3) (call $clock_time_get (i32.const 2) (i64.const 1) (i32.const ${OUT})))
        (i32.const 1))`);
    const host = await createTestHost({ wasm });
    expect(slot(host, 0)).toBe(WasiErrno.Success);
    // Seconds since the epoch / 1000, as the module computed it from nanoseconds.
    expect(slot(host, 1)).toBe(Math.floor(Date.now() / 1e6));
    expect([slot(host, 2), slot(host, 3)]).toEqual([WasiErrno.Success, WasiErrno.Notsup]);
  });

  it("13.9 random_get of 0, 32 and 65536 bytes succeeds; 66560 is INVAL", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $random_get (i32.const 0x10000) (i32.const 0)))
        (call $rec (i32.const 1) (call $random_get (i32.const 0x10000) (i32.const 32)))
        (call $rec (i32.const 2) (call $random_get (i32.const 0x10000) (i32.const 65536)))
        (call $rec (i32.const 3) (call $random_get (i32.const 0x10000) (i32.const 66560)))
        (i32.const 1))`, { pages: 3 });
    const host = await createTestHost({ wasm });
    expect([0, 1, 2, 3].map((i) => slot(host, i))).toEqual([0, 0, 0, WasiErrno.Inval]);
  });
});

describe("root context shutdown", () => {
  it("13.36 proxy_done from a root that returned false from on_done triggers on_delete after the call; NOT_FOUND otherwise", async () => {
    const wasm = proxyModule(() => `
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_done)) (drop (call $proxy_set_tick_period_milliseconds (i32.const 10))) (i32.const 1))
      (func (export "proxy_on_done") (param i32) (result i32) (call $inc (i32.const 1)) (i32.const 0))
      (func (export "proxy_on_tick") (param i32)
        (if (call $slot (i32.const 1)) (then
          (call $rec (i32.const 2) (call $proxy_done))
          (call $rec (i32.const 3) (call $slot (i32.const 4))))))
      (func (export "proxy_on_delete") (param i32) (call $inc (i32.const 4)))`);
    const host = await createTestHost({ wasm });
    expect(slot(host, 0)).toBe(WasmResult.NotFound);
    host.shutdown();
    expect(slot(host, 1)).toBe(1);
    expect(slot(host, 4)).toBe(0);
    // The root still ticks until it calls proxy_done; on_delete runs after that call returns.
    const vm = host.plugin.currentVms()[0]!;
    vm.root.plugin.deliverTick(vm, vm.root);
    expect([slot(host, 2), slot(host, 3), slot(host, 4)]).toEqual([WasmResult.Ok, 0, 1]);
  });
});
