// Foreign functions (the registry the test API fills, Envoy's built-ins, result allocation, a null
// results pointer) and Envoy's envoy_resolve_dns extension.
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createTestHost, WasmResult } from "../../host/index.js";
import { configureRoot } from "../../host/plugin/base_vm.js";
import { guestBytes, OUT, ProxyWat, slot } from "./helpers/proxy_wat.js";

describe("foreign functions", () => {
  it("calls registered and built-in functions; unknown names are NOT_FOUND; a null results pointer discards the result", async () => {
    const m = new ProxyWat();
    const call = (i: number, name: string, args: string, results = `(i32.const ${OUT}) (i32.const ${OUT + 4})`) => `
      (i32.store (i32.const ${OUT}) (i32.const 0)) (i32.store (i32.const ${OUT + 4}) (i32.const 0))
      (call $rec (i32.const ${3 * i}) (call $proxy_call_foreign_function ${m.s(name)} ${m.s(args)} ${results}))
      (call $rec (i32.const ${3 * i + 1}) (i32.load (i32.const ${OUT})))
      (call $rec (i32.const ${3 * i + 2}) (i32.load (i32.const ${OUT + 4})))`;
    const wasm = m.build(`(func (export "proxy_on_configure") (param i32 i32) (result i32)
      ${call(0, "reverse", "abc")}
      ${call(1, "missing", "x")}
      ${call(2, "reverse", "abc", `(i32.const 0) (i32.const ${OUT + 4})`)}
      ${call(3, "compress", "hello hello hello hello")}
      ${call(4, "refuse", "")}
      ${call(5, "uncompress", "not zlib")}
      (i32.const 1))`);
    const host = await createTestHost({ wasm });
    // Registered after load: functions are looked up at call time, so re-run on_configure.
    host.registerForeignFunction("reverse", (args) => Buffer.from(args).reverse());
    host.registerForeignFunction("refuse", () => WasmResult.BadArgument);
    const vm = host.plugin.currentVms()[0]!;
    configureRoot(vm.root, Buffer.alloc(0));
    expect(slot(host, 0)).toBe(0);
    expect(guestBytes(host, slot(host, 1), slot(host, 2)).toString()).toBe("cba");
    expect(slot(host, 3)).toBe(WasmResult.NotFound);
    // Null results pointer: OK, nothing allocated, the size still written.
    expect([slot(host, 6), slot(host, 7), slot(host, 8)]).toEqual([0, 0, 3]);
    expect(slot(host, 9)).toBe(0);
    expect(inflateSync(guestBytes(host, slot(host, 10), slot(host, 11))).toString()).toBe("hello hello hello hello");
    expect(slot(host, 12)).toBe(WasmResult.BadArgument);
    expect(slot(host, 15)).toBe(WasmResult.SerializationFailure);
  });

  it("proxy_on_foreign_function receives its arguments as buffer 8", async () => {
    const m = new ProxyWat();
    const wasm = m.build(`
      (func (export "proxy_on_foreign_function") (param i32) (param $id i32) (param $size i32)
        (call $rec (i32.const 0) (local.get $id))
        (drop (call $proxy_get_buffer_bytes (i32.const 8) (i32.const 0) (local.get $size) (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $log_out))`);
    const host = await createTestHost({ wasm });
    host.callOnForeignFunction(7, "args!");
    expect(slot(host, 0)).toBe(7);
    expect(host.logs("info")).toEqual(["args!"]);
  });
});

describe("envoy_resolve_dns", () => {
  it("answers envoy_on_resolve_dns with Envoy's buffer: count, TTLs, NUL-terminated addresses; failures deliver size 0", async () => {
    const m = new ProxyWat();
    const wasm = m.build(`
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $envoy_resolve_dns ${m.s("example.com")} (i32.const ${OUT})))
        (call $rec (i32.const 1) (i32.load (i32.const ${OUT})))
        (call $rec (i32.const 2) (call $envoy_resolve_dns ${m.s("nowhere.invalid")} (i32.const ${OUT})))
        (call $rec (i32.const 3) (call $envoy_resolve_dns ${m.s("x")} (i32.const 0x7ffffff0)))
        (i32.const 1))
      (func (export "envoy_on_resolve_dns") (param i32) (param $token i32) (param $size i32)
        (call $rec (i32.add (i32.const 10) (local.get $token)) (local.get $size))
        (if (local.get $size) (then
          (drop (call $proxy_get_buffer_bytes (i32.const 8) (i32.const 0) (local.get $size) (i32.const ${OUT}) (i32.const ${OUT + 4})))
          (call $rec (i32.const 20) (i32.load (i32.const ${OUT})))
          (call $rec (i32.const 21) (i32.load (i32.const ${OUT + 4}))))))`);
    const host = await createTestHost({ wasm, dns: { "example.com": ["10.0.0.1", "::1"] } });
    expect([slot(host, 0), slot(host, 1), slot(host, 2), slot(host, 3)]).toEqual([0, 1, 0, WasmResult.InvalidMemoryAccess]);
    expect(slot(host, 12)).toBe(0);
    const buf = guestBytes(host, slot(host, 20), slot(host, 21));
    expect(slot(host, 11)).toBe(buf.length);
    expect(buf.readUInt32LE(0)).toBe(2);
    expect([buf.readUInt32LE(4), buf.readUInt32LE(8)]).toEqual([60, 60]);
    expect(buf.subarray(12).toString("latin1")).toBe("10.0.0.1:0\0[::1]:0\0");
  });
});
