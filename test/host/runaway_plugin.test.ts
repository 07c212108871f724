// Runaway plugins (docs/deadlines.md): a callback that runs past the callback time limit is stopped
// and fails its VM — the failure policy applies, the report says why and where — in the test API
// (the test fails with a clear message instead of hanging) and in the dev proxy (other connections
// and the admin listener are served again once the limit stopped it; Ctrl-C stops `pwasm run`).
// The hostile fixture, test/host/fixtures/hostile/spin.wat, loops forever in the callback a
// request's `x-spin` header chooses.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import wabtInit from "wabt";
import { afterAll, describe, expect, it } from "vitest";
import { CallbackTimeoutError, createTestHost, parseModule, type TestHost } from "../../host/index.js";
import { DEFAULT_CALLBACK_TIME_LIMIT_MS, START_TIME_LIMIT_MS } from "../../host/vm/callback_deadline.js";
import { startPwasm } from "../helpers/cli.js";
import { httpRequest } from "../helpers/http.js";
import { wat } from "../helpers/wat.js";
import { OUT, proxyModule } from "./helpers/proxy_wat.js";

const SPIN_WAT = readFileSync(join(import.meta.dirname, "fixtures", "hostile", "spin.wat"), "utf8");
const SPIN = wat(SPIN_WAT);
const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };
const LIMIT = 150;

// Runs `call`, which must throw CallbackTimeoutError; returns it and the milliseconds taken.
function stopped(call: () => unknown): { err: CallbackTimeoutError; ms: number } {
  const t0 = performance.now();
  try {
    call();
  } catch (err) {
    if (err instanceof CallbackTimeoutError) return { err, ms: performance.now() - t0 };
    throw err;
  }
  throw new Error("the runaway callback returned");
}

// The original module's byte range of the function named `name`.
function bodyOf(bytes: Uint8Array, name: string): { start: number; end: number } {
  const info = parseModule(bytes);
  const index = [...info.functionNames].find(([, n]) => n === name)![0];
  return info.code.find((c) => c.index === index)!;
}

describe("runaway callbacks in the test API", () => {
  it("a loop in proxy_on_request_headers fails the VM and the test, with a clear message and the loop in the backtrace", async () => {
    const host = await createTestHost({ wasm: SPIN, callbackTimeLimitMs: LIMIT });
    const s = host.httpStream();
    const { err, ms } = stopped(() => s.callOnRequestHeaders({ ...GET, "x-spin": "1" }, true));
    expect(ms).toBeGreaterThanOrEqual(LIMIT);
    expect(ms).toBeLessThan(LIMIT + 5000);
    expect(err.message).toMatch(/^proxy_on_request_headers ran past the callback time limit \(150 ms\) and was stopped; its VM failed\./);
    expect(err.message).toContain("Function: proxy_on_request_headers failed: Uncaught Error: callback time limit exceeded: proxy_on_request_headers ran for");
    // Envoy's VM-failure format, logged at error; the stream got the failure's 503.
    const failure = host.failures[0]!;
    expect(failure.timeLimitMs).toBe(LIMIT);
    expect(failure.message).toMatch(/^Uncaught Error: callback time limit exceeded: proxy_on_request_headers ran for \d+ ms \(limit 150 ms\)$/);
    expect(host.logs("error")[0]).toBe(`Function: proxy_on_request_headers failed: ${failure.message}\nProxy-Wasm plugin in-VM backtrace:\n${failure.backtrace.join("\n")}`);
    expect(s.localResponse).toMatchObject({ status: 503, details: "wasm_fail_stream" });
    // Innermost first: the loop, then the callback that called it, at offsets of the module as given.
    const spin = bodyOf(SPIN, "spin");
    const frame = /^ {2}0: {2}0x([0-9a-f]+) - spin$/.exec(failure.backtrace[0]!)!;
    expect(parseInt(frame[1]!, 16)).toBeGreaterThanOrEqual(spin.start);
    expect(parseInt(frame[1]!, 16)).toBeLessThan(spin.end);
    expect(failure.backtrace[1]).toMatch(/^ {2}1: {2}0x[0-9a-f]+ - proxy_on_request_headers$/);
  });

  it.each([
    ["2", "proxy_on_response_headers"],
    ["3", "proxy_on_log"],
    ["4", "proxy_on_request_headers"],
  ])("x-spin: %s stops %s (the last one loops on a host call)", async (choice, callback) => {
    const host = await createTestHost({ wasm: SPIN, callbackTimeLimitMs: LIMIT });
    const s = host.httpStream();
    const { err } = stopped(() => {
      s.callOnRequestHeaders({ ...GET, "x-spin": choice }, true);
      s.callOnResponseHeaders({ ":status": "200" }, true);
      s.complete();
    });
    expect(err.failure.callback).toBe(callback);
    expect(err.failure.message).toContain(`callback time limit exceeded: ${callback} ran for`);
  });

  it("the failure policy applies to later streams: FAIL_OPEN passes them, FAIL_CLOSED answers 503, FAIL_RELOAD starts a fresh VM", async () => {
    const run = async (failurePolicy: "FAIL_OPEN" | "FAIL_CLOSED" | "FAIL_RELOAD"): Promise<TestHost> => {
      const host = await createTestHost({ wasm: SPIN, callbackTimeLimitMs: LIMIT, failurePolicy, reloadBackoffMs: 1 });
      stopped(() => host.httpStream().callOnRequestHeaders({ ...GET, "x-spin": "1" }, true));
      host.advanceTime(10);
      return host;
    };
    const open = (await run("FAIL_OPEN")).httpStream();
    open.callOnRequestHeaders(GET, true);
    expect(open.localResponse).toBeUndefined();
    expect(open.upstream.headers?.get(":path")).toBe("/");
    const closed = (await run("FAIL_CLOSED")).httpStream();
    closed.callOnRequestHeaders(GET, true);
    expect(closed.localResponse?.status).toBe(503);
    const reload = await run("FAIL_RELOAD");
    const fresh = reload.httpStream();
    fresh.callOnRequestHeaders(GET, true);
    expect(fresh.localResponse).toBeUndefined();
    expect(reload.plugin.reloadStats.success).toBe(1);
  });

  it("a module that catches every exception around its loop is still stopped (the trap is uncatchable)", async () => {
    const wabt = await wabtInit();
    // proxy_on_request_headers: loop { try { (a call that may throw) } catch_all {} }, forever.
    const text = SPIN_WAT
      .replace(`(func $spin (loop $forever (br $forever)))`, `(func $spin (loop $forever (try (do (call $spin_in_host)) (catch_all)) (br $forever)))`);
    const m = wabt.parseWat("catching.wat", text, { exceptions: true });
    m.resolveNames();
    m.validate();
    const bytes = new Uint8Array(m.toBinary({ write_debug_names: true }).buffer);
    m.destroy();
    const host = await createTestHost({ wasm: bytes, callbackTimeLimitMs: LIMIT });
    const { err } = stopped(() => host.httpStream().callOnRequestHeaders({ ...GET, "x-spin": "1" }, true));
    expect(err.failure.callback).toBe("proxy_on_request_headers");
  });

  it("starting a VM may take longer than the callback limit (up to 10 s): a slow proxy_on_configure is not stopped", async () => {
    // proxy_on_configure waits ~300 ms on the clock; the callback limit is 50 ms.
    const slow = proxyModule(() => `
      (func (export "proxy_on_configure") (param i32 i32) (result i32) (local $end i64)
        (drop (call $proxy_get_current_time_nanoseconds (i32.const ${OUT})))
        (local.set $end (i64.add (i64.load (i32.const ${OUT})) (i64.const 300000000)))
        (loop $wait
          (drop (call $proxy_get_current_time_nanoseconds (i32.const ${OUT})))
          (br_if $wait (i64.lt_u (i64.load (i32.const ${OUT})) (local.get $end))))
        (i32.const 1))`);
    const host = await createTestHost({ wasm: slow, callbackTimeLimitMs: 50 });
    expect(host.failures).toEqual([]);
    expect(START_TIME_LIMIT_MS).toBe(10_000);
  });

  it("defaults: 2000 ms in the test API; 0 turns the limit off (no instrumentation); a debugger session turns it off", async () => {
    expect(DEFAULT_CALLBACK_TIME_LIMIT_MS).toEqual({ real: 1000, manual: 2000 });
    expect((await createTestHost({ wasm: SPIN })).plugin.callbackTimeLimitMs).toBe(2000);
    const off = await createTestHost({ wasm: SPIN, callbackTimeLimitMs: 0 });
    expect(off.plugin.callbackTimeLimitMs).toBe(0);
    expect(off.plugin.base.deadlines).toBe(false);
    const { ProxyWasmHost } = await import("../../host/host.js");
    const debugging = await new ProxyWasmHost({ debugging: true }).loadPlugin(SPIN, { callbackTimeLimitMs: 500 });
    expect(debugging.callbackTimeLimitMs).toBe(0);
    await expect(createTestHost({ wasm: SPIN, callbackTimeLimitMs: -1 })).rejects.toThrow(/callbackTimeLimitMs must be a number of milliseconds, 0 or more/);
  });
});

describe("a runaway callback in pwasm run (the dev proxy)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pwasm-runaway-"));
  const spinFile = join(dir, "spin.wasm");
  writeFileSync(spinFile, SPIN);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(extra: string[]) {
    const proc = startPwasm(["run", spinFile, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", ...extra]);
    const [, url] = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const [, admin] = await proc.waitFor(/admin on (http:\/\/127\.0\.0\.1:\d+)/);
    return { proc, url: url!, admin: admin! };
  }
  const timed = async <T>(p: Promise<T>, since: number): Promise<{ value: T; ms: number }> => {
    const value = await p;
    return { value, ms: performance.now() - since };
  };

  it("stops it at --callback-time-limit: its stream gets a 503, the connections and admin requests that waited are answered, and the proxy serves on", async () => {
    const { proc, url, admin } = await run(["--callback-time-limit", "300", "--reload-backoff", "1"]);
    try {
      const t0 = performance.now();
      const runaway = timed(httpRequest(url, { headers: { "x-spin": "1" }, timeoutMs: 30_000 }), t0);
      await new Promise((r) => setTimeout(r, 100));
      // Sent while the callback runs: they wait for the proxy's only thread, then are answered.
      const t1 = performance.now();
      const other = timed(httpRequest(`${url}/other`, { timeoutMs: 30_000 }), t1);
      const ready = timed(httpRequest(`${admin}/ready`, { timeoutMs: 30_000 }), t1);
      const stats = timed(httpRequest(`${admin}/stats/prometheus`, { timeoutMs: 30_000 }), t1);
      const a = await runaway;
      expect(a.value.status).toBe(503);
      expect(a.ms).toBeGreaterThanOrEqual(300);
      expect(a.ms).toBeLessThan(300 + 10_000);
      for (const r of [await other, await ready, await stats]) {
        expect(r.value.status).toBe(200);
        expect(r.ms).toBeLessThan(300 + 10_000);
      }
      expect((await ready).value.body).toBe("LIVE\n");
      await proc.waitFor(/\[wasm\] Function: proxy_on_request_headers failed: Uncaught Error: callback time limit exceeded: proxy_on_request_headers ran for \d+ ms \(limit 300 ms\)\nProxy-Wasm plugin in-VM backtrace:\n {2}0: {2}0x[0-9a-f]+ - spin\n/);
      // FAIL_RELOAD: a fresh VM serves the next request.
      expect((await httpRequest(`${url}/after`)).status).toBe(200);
    } finally {
      await proc.stop();
    }
  });

  it("Ctrl-C stops pwasm run while a callback loops forever (default limit: 1 s)", async () => {
    const { proc, url } = await run([]);
    const runaway = httpRequest(url, { headers: { "x-spin": "1" }, timeoutMs: 30_000, resetAsStatus0: true }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    const code = await proc.stop();
    const ms = performance.now() - t0;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(DEFAULT_CALLBACK_TIME_LIMIT_MS.real + 8000);
    expect(proc.output()).toContain("pwasm: shutting down");
    await runaway;
  });
});
