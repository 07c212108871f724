// The VMs a plugin runs in, as Envoy starts them (docs/envoy/lifecycle.md): the base VM, the
// canary, the main-thread VM and one per worker; VMs shared by plugins with one VM key; log
// prefixes by context; start sections; a plugin that fails on one thread only; a trap that fails
// every plugin of a shared VM, and FAIL_RELOAD's fresh VM.
import { describe, expect, it } from "vitest";
import { formatEnvoyLog, HeaderMap, PluginLoadError, ProxyWasmHost } from "../../host/index.js";
import type { PluginOptions } from "../../host/plugin/plugin.js";
import { ManualTimers } from "../../host/services/timers.js";
import { wat } from "../helpers/wat.js";
import { OUT, proxyModule } from "./helpers/proxy_wat.js";

// A plugin that logs each lifecycle callback with its context id, arms a 10 ms timer, and fails
// its configure when shared data "fail_at" equals the number of configures so far (counted in
// shared data across VMs).
const wasm = proxyModule((m) => `
  (global $configures (mut i32) (i32.const 0))
  (func (export "_initialize") (drop (call $proxy_log (i32.const 2) ${m.s("init")})))
  (func (export "proxy_on_context_create") (param $id i32) (param $parent i32)
    (call $rec (i32.const 0) (local.get $id)))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (drop (call $proxy_log (i32.const 2) ${m.s("vm_start")})) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $proxy_log (i32.const 2) ${m.s("configure")}))
    (drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))
    (global.set $configures (i32.add (global.get $configures) (i32.const 1)))
    (call $rec (i32.const 1) (global.get $configures))
    ;; Refuse when shared data "refuse" holds the byte "y".
    (if (i32.eqz (call $proxy_get_shared_data ${m.s("refuse")} (i32.const ${OUT}) (i32.const ${OUT + 4}) (i32.const ${OUT + 8})))
      (then (if (i32.eq (i32.load8_u (i32.load (i32.const ${OUT}))) (i32.const 121)) (then (return (i32.const 0))))))
    (i32.const 1))
  (func (export "proxy_on_tick") (param i32) (drop (call $proxy_log (i32.const 2) ${m.s("tick")})))
  (func (export "proxy_on_request_headers") (param $id i32) (param i32 i32) (result i32)
    (drop (call $proxy_log (i32.const 2) ${m.s("request")}))
    (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) ${m.s("x-trap")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (then unreachable))
    (i32.const 0))`);

const GET = new Map([[":method", "GET"], [":path", "/"], [":authority", "example.com"]]);

function envoyHost(): ProxyWasmHost {
  return new ProxyWasmHost({ logLevel: "trace" });
}

const load = (host: ProxyWasmHost, options: PluginOptions = {}) => host.loadPlugin(wasm, { lifecycle: "envoy", ...options });

// Runs one request's headers through `plugin` on worker 0; returns the stream.
function request(host: ProxyWasmHost, plugin: Awaited<ReturnType<typeof load>>, headers = GET) {
  const stream = plugin.newHttpStream({}, undefined, { worker: 0 });
  stream.decodeHeaders(new HeaderMap([...headers].flat()), true);
  return stream;
}

describe("the VMs a plugin starts in (Envoy's lifecycle)", () => {
  it("runs module initialization in the base, canary, main-thread and worker VMs; starts and configures in the last three; ticks in the two that stay", async () => {
    const host = envoyHost();
    const plugin = await load(host, { rootId: "lc" });
    expect(host.logs.at("info")).toEqual(["init", "init", "vm_start", "configure", "init", "vm_start", "configure", "init", "vm_start", "configure"]);
    expect(plugin.currentVms()).toHaveLength(1);
    expect(plugin.mainThreadVm()).toBeDefined();
    expect(plugin.mainThreadVm()).not.toBe(plugin.currentVms()[0]);
    host.logs.clear();
    (host.timers as ManualTimers).advance(10);
    // The canary's timer died with it.
    expect(host.logs.at("info")).toEqual(["tick", "tick"]);
  });

  it("with worker VMs only (the test API's default) starts and configures once", async () => {
    const host = envoyHost();
    await host.loadPlugin(wasm, { lifecycle: "workers" });
    expect(host.logs.at("info")).toEqual(["init", "vm_start", "configure"]);
  });

  it("shares each VM between plugins with one vm_id and one module: consecutive root ids, one module, one context counter", async () => {
    const host = envoyHost();
    const a = await load(host, { rootId: "a", vmId: "shared" });
    const b = await load(host, { rootId: "b", vmId: "shared" });
    const vm = a.currentVms()[0]!;
    expect(b.currentVms()[0]).toBe(vm);
    expect(b.mainThreadVm()).toBe(a.mainThreadVm());
    expect([...vm.roots.values()].map((r) => [r.plugin.config.rootId, r.id])).toEqual([["a", 1], ["b", 2]]);
    // One module: its global counts both plugins' configures.
    expect(vm.mem.u32(0x800 + 4)).toBe(2);
    const s1 = request(host, a);
    const s2 = request(host, b);
    expect([s1.id, s2.id]).toEqual([3, 4]);
    expect(s2.root.plugin).toBe(b);
    // Each plugin has its own canary: the base, then a's canary, main-thread and worker VMs, then b's canary.
    expect(host.logs.at("info").filter((l) => l === "init")).toHaveLength(5);
    // Another vm_id: other VMs.
    const c = await load(host, { rootId: "c", vmId: "other" });
    expect(c.currentVms()[0]).not.toBe(vm);
    expect([...c.currentVms()[0]!.roots.values()].map((r) => r.id)).toEqual([1]);
  });

  it("prefixes a root context's lines with root id and vm id, a stream's with the name too, module initialization's with nothing", async () => {
    const host = envoyHost();
    const plugin = await load(host, { name: "named", rootId: "lc", vmId: "vm" });
    request(host, plugin);
    const lines = host.logs.entries.map((e) => formatEnvoyLog(e).replace(/^\[[^\]]*\]/, ""));
    expect(lines).toContain("[info][wasm] wasm log: init");
    expect(lines).toContain("[info][wasm] wasm log lc vm: configure");
    expect(lines).toContain("[info][wasm] wasm log named lc vm: request");
  });

  it("refuses a configuration the canary refuses, and runs without the plugin on a thread where only that thread refused", async () => {
    const host = envoyHost();
    host.sharedData.set("", "refuse", Buffer.from("y"), 0);
    await expect(load(host)).rejects.toThrow(PluginLoadError);

    // The canary (configure 1 in shared data) accepts; the worker refuses.
    const host2 = envoyHost();
    const refuseOnWorker = proxyModule((m) => `
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (drop (call $proxy_get_shared_data ${m.s("n")} (i32.const ${OUT}) (i32.const ${OUT + 4}) (i32.const ${OUT + 8})))
        (drop (call $proxy_set_shared_data ${m.s("n")} ${m.s("x")} (i32.load (i32.const ${OUT + 8}))))
        ;; CAS values count the writes: the third configure (the worker) refuses.
        (i32.ne (i32.load (i32.const ${OUT + 8})) (i32.const 2)))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_log (i32.const 2) ${m.s("request")})) (i32.const 0))`);
    const plugin = await host2.loadPlugin(refuseOnWorker, { lifecycle: "envoy", failurePolicy: "FAIL_CLOSED" });
    expect(host2.logs.entries.filter((e) => e.source === "host").map((e) => e.message)).toEqual(["Wasm VM failed Failed to configure thread-local Wasm plugin"]);
    const stream = request(host2, plugin);
    expect(stream.bypass).toBe(true);
    expect(host2.logs.at("info")).not.toContain("request");
  });

  it("fails every plugin of a shared VM on a trap; FAIL_RELOAD gives each a root in one fresh VM", async () => {
    const host = envoyHost();
    const a = await load(host, { rootId: "a", vmId: "shared", failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 1 });
    const b = await load(host, { rootId: "b", vmId: "shared", failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 1 });
    const old = a.currentVms()[0]!;
    request(host, a, new Map([...GET, ["x-trap", "1"]]));
    expect(old.failure?.message).toBe("Uncaught RuntimeError: unreachable");
    expect(a.failures).toHaveLength(1);
    expect(b.failures).toHaveLength(1);
    expect(host.logs.at("error")[0]).toMatch(/^Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable\n/);
    (host.timers as ManualTimers).now += 10;
    request(host, b);
    request(host, a);
    const fresh = b.currentVms()[0]!;
    expect(fresh).not.toBe(old);
    expect(a.currentVms()[0]).toBe(fresh);
    // b reloaded first: its root is 1 in the fresh VM, its stream 2, a's root 3.
    expect([...fresh.roots.values()].map((r) => [r.plugin.config.rootId, r.id])).toEqual([["b", 1], ["a", 3]]);
    expect(a.reloadStats.success + b.reloadStats.success).toBe(2);
  });
});

describe("start sections", () => {
  const common = `(memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
    (func (export "malloc") (param i32) (result i32) (i32.const 1024)) (data (i32.const 16) "hi")`;

  it("refuses a module whose start section calls an import (Envoy 1.40 crashes on it), naming the import", async () => {
    const callsLog = wat(`(module (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32))) ${common}
      (func $s (drop (call $log (i32.const 2) (i32.const 16) (i32.const 2)))) (start $s))`);
    await expect(envoyHost().loadPlugin(callsLog)).rejects.toThrow(/the module's start function calls proxy_log, which crashes Envoy/);
    const callsWasi = wat(`(module (import "wasi_snapshot_preview1" "clock_time_get" (func $c (param i32 i64 i32) (result i32))) ${common}
      (func $s (drop (call $c (i32.const 0) (i64.const 1) (i32.const 64)))) (start $s))`);
    await expect(envoyHost().loadPlugin(callsWasi)).rejects.toThrow(/start function calls clock_time_get/);
  });

  it("runs a start section that only computes", async () => {
    const computes = wat(`(module (global $g (mut i32) (i32.const 0)) ${common} (func $s (global.set $g (i32.const 1))) (start $s))`);
    await expect(envoyHost().loadPlugin(computes)).resolves.toBeDefined();
  });
});
