// The SDK's root-level and host-service wrappers through the host, in every build variant: VM
// start and configuration, metrics, shared data with CAS, shared queues and onQueueReady, foreign
// functions both ways, logging and the log level, time, the timer, proxy_done.
import { beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createTestHost, type TestHost, type TestHostOptions } from "../../host/index.js";
import { VARIANTS, buildVariant } from "./variants.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "abi");
const GET = { ":method": "GET", ":path": "/abi", ":authority": "example.com" };

describe.each(VARIANTS)("SDK root and service wrappers ($name)", (variant) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildVariant(FIXTURE, variant);
  });
  const host = (options: Partial<TestHostOptions> = {}): Promise<TestHost> => createTestHost({ wasm, rootId: "http", ...options });
  const op = (t: TestHost, name: string) => {
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": name }, true);
    return s.requestHeaders;
  };

  it("reads the VM and plugin configurations in onVmStart and onConfigure", async () => {
    const t = await host({ vmConfiguration: "vm-conf ✓", configuration: "plugin-conf" });
    expect(t.logs("info")).toContain("vm start: 11 vm-conf ✓");
    expect(t.logs("info")).toContain("configure: 11 plugin-conf");
  });

  it("rejects a configuration when onConfigure returns false", async () => {
    await expect(host({ configuration: "reject" })).rejects.toThrow(/configuration rejected/);
  });

  it("defines, updates and reads counters, gauges and histograms", async () => {
    const t = await host();
    const h = op(t, "metrics");
    expect(t.metric("abi.counter")).toBe(5);
    expect(t.metric("abi.gauge")).toBe(37);
    expect(t.histogram("abi.histogram")).toMatchObject({ count: 2, sum: 42 });
    expect(h.get("x-counter")).toBe("5");
    expect(h.get("x-gauge")).toBe("37");
    expect(h.get("x-get-metric")).toBe("5");
    expect(h.get("x-bad-increment")).toBe("2"); // counters only grow: BadArgument
  });

  it("gets and sets shared data with compare-and-swap", async () => {
    const t = await host();
    const h = op(t, "shared");
    expect(h.get("x-before")).toBe("null:1");
    expect(h.get("x-set1")).toBe("0");
    expect(h.get("x-value1")).toBe("v1");
    expect(h.get("x-stale")).toBe("8"); // CasMismatch
    expect(h.get("x-cas")).toBe("0");
    expect(h.get("x-value2")).toBe("v3");
    expect(h.get("x-cas-changed")).toBe("yes");
    expect(t.sharedData("abi-key")?.value).toBe("v3");
  });

  it("registers, resolves, enqueues and dequeues shared queues; onQueueReady drains them", async () => {
    const t = await host();
    const h = op(t, "queue");
    expect(h.get("x-queue-same")).toBe("yes");
    expect(h.get("x-enqueue")).toBe("0");
    expect(h.get("x-enqueue-unknown")).toBe("1");
    expect(h.get("x-resolve-unknown")).toBe("0:1");
    expect(h.get("x-dequeue-unknown")).toBe("null:1");
    const info = t.logs("info");
    expect(info).toContain("queue 1: item-1");
    expect(info).toContain("queue 1: item-2");
    expect(info).toContain("queue drained: 7"); // Empty
  });

  it("calls host foreign functions and reports unknown ones", async () => {
    const t = await host();
    t.registerForeignFunction("abi_echo", (args) => `echo(${args.toString()})`);
    const h = op(t, "foreign");
    expect(h.get("x-foreign")).toBe("echo(abc)");
    expect(h.get("x-foreign-missing")).toBe("null:1");
  });

  it("receives foreign-function calls from the host with their arguments", async () => {
    const t = await host();
    t.callOnForeignFunction(7, "arg bytes");
    expect(t.logs("info")).toContain("foreign function 7 (9): arg bytes");
  });

  it("logs at every level and reads the host's log level", async () => {
    const t = await host({ logLevel: "trace" });
    const h = op(t, "log");
    expect(t.logs("trace")).toContain("trace message");
    expect(t.logs("debug")).toContain("debug message");
    expect(t.logs("info")).toContain("info message");
    expect(t.logs("info")).toContain("log() message ✓");
    expect(t.logs("warn")).toContain("warn message");
    expect(t.logs("error")).toContain("error message");
    expect(t.logs("critical")).toContain("critical message");
    expect(h.get("x-log-level")).toBe("0");

    const quiet = await host({ logLevel: "warn" });
    expect(op(quiet, "log").get("x-log-level")).toBe("3");
    expect(quiet.logs("info")).not.toContain("info message");
  });

  it("reads the current time", async () => {
    const t = await host();
    const before = BigInt(Date.now()) * 1_000_000n;
    const ns = BigInt(op(t, "time").get("x-time")!);
    const after = BigInt(Date.now()) * 1_000_000n;
    expect(ns >= before - 1_000_000n && ns <= after + 1_000_000n).toBe(true);
  });

  it("sets the tick period and receives ticks", async () => {
    const t = await host({ configuration: "tick" });
    expect(t.tickPeriodMs).toBe(50);
    t.advanceTime(149);
    expect(t.metric("abi.ticks")).toBe(2);
    t.tick();
    expect(t.metric("abi.ticks")).toBe(3);
  });

  it("finishes a root synchronously on shutdown", async () => {
    const t = await host();
    expect(op(t, "done").get("x-done")).toBe("1"); // nothing pending: NotFound
    t.shutdown();
    const info = t.logs("info");
    expect(info.indexOf("root done")).toBeLessThan(info.indexOf("root deleted"));
  });

  it("finishes a root asynchronously with proxy_done", async () => {
    const t = await host({ configuration: "async-done" });
    t.shutdown();
    expect(t.logs("info")).toContain("root done");
    expect(t.logs("info")).not.toContain("root deleted");
    // Function 99 makes the plugin call done(); the host deletes the root after that call.
    t.callOnForeignFunction(99);
    expect(t.logs("info")).toContain("done: 0");
    expect(t.logs("info")).toContain("root deleted");
  });

  it("exports one allocator as proxy_on_memory_allocate and malloc, giving distinct writable memory", async () => {
    // The host prefers malloc (as Envoy does); call both directly, size 0 included.
    const module = await WebAssembly.compile(await readFile(wasm));
    const env = Object.fromEntries(WebAssembly.Module.imports(module).map((i) => [i.name, () => 0]));
    const instance = await WebAssembly.instantiate(module, { env });
    const e = instance.exports as Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
    e._initialize!();
    const ptrs = [e.proxy_on_memory_allocate!(32), e.malloc!(32), e.proxy_on_memory_allocate!(0), e.malloc!(100_000)];
    expect(ptrs.every((p) => p > 0)).toBe(true);
    expect(new Set(ptrs).size).toBe(4);
    const bytes = new Uint8Array(e.memory.buffer);
    bytes.fill(0xab, ptrs[3]!, ptrs[3]! + 100_000);
    bytes.fill(0xcd, ptrs[0]!, ptrs[0]! + 32);
    expect(bytes[ptrs[3]! + 99_999]).toBe(0xab);
    expect(bytes[ptrs[1]!]).not.toBe(0xcd);
  });
});
