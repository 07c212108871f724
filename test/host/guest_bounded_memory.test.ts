// Host memory and time bounded by the guest (docs/deadlines.md, "What a plugin can make the host
// hold"): WASI fd_write and proxy_log copy at most one log line (1 MiB), whatever the iovecs say —
// 4,096 iovecs each over a 1 GiB memory used to make the host allocate 4 TiB — and a write takes at
// most what the guest's memory holds; header maps take linear time in the number of headers.
// Hostile fixtures: test/host/fixtures/hostile/big_writes.wat and add_headers.wat.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestHost } from "../../host/index.js";
import { MAX_LOG_MESSAGE_BYTES } from "../../host/imports/logging.js";
import { HeaderMap, REQUEST_HEADERS_INLINE } from "../../host/values/header_map.js";
import { ROOT } from "../helpers/paths.js";
import { wat } from "../helpers/wat.js";

const FIXTURES = join(import.meta.dirname, "fixtures", "hostile");
const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

describe("WASI and log calls copy at most a log line", () => {
  const dir = mkdtempSync(join(tmpdir(), "pwasm-big-writes-"));
  const wasmFile = join(dir, "big_writes.wasm");
  writeFileSync(wasmFile, wat(readFileSync(join(FIXTURES, "big_writes.wat"), "utf8")));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Runs the fixture's request with `x-write: <mode>` in a fresh Node process (the compiled host in
  // dist/), so its peak RSS is the call's own: what the host allocated beyond the guest's memory.
  function runInChild(mode: "1" | "2"): Promise<{ peakMiB: number; baseMiB: number; nwritten: number; logged: string[]; failures: string[] }> {
    const script = `
      import { readFileSync } from "node:fs";
      import { createTestHost } from ${JSON.stringify(join(ROOT, "dist", "host", "index.js"))};
      const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;
      const host = await createTestHost({ wasm: ${JSON.stringify(wasmFile)}, logLevel: "info" });
      const baseMiB = hwm();
      host.httpStream().callOnRequestHeaders(${JSON.stringify({ ...GET, "x-write": mode })}, true);
      const vm = host.plugin.currentVms()[0];
      console.log(JSON.stringify({
        peakMiB: hwm(), baseMiB, nwritten: vm.mem.bytes.readUInt32LE(0x180),
        logged: host.host.logs.entries.map((e) => e.message.slice(0, 16) + "|" + e.message.length + "|" + e.message.slice(-40)),
        failures: host.failures.map((f) => f.message),
      }));`;
    return new Promise((resolve, reject) => {
      execFile(process.execPath, ["--input-type=module", "-e", script], { maxBuffer: 1 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      });
    });
  }

  it("fd_write with 4,096 iovecs each over a 1 GiB memory: a short write of 1 GiB, one 1 MiB log line, no more than a few MiB held", async () => {
    const r = await runInChild("1");
    expect(r.failures).toEqual([]);
    // The write took what the memory holds (the guest's libc retries the rest, as after a pipe's short write).
    expect(r.nwritten).toBe(GIB);
    expect(r.logged).toHaveLength(1);
    const [, length, tail] = r.logged[0]!.split("|");
    expect(tail).toMatch(new RegExp(`… \\[${GIB - MAX_LOG_MESSAGE_BYTES} more bytes not logged\\]$`));
    expect(Number(length)).toBe(MAX_LOG_MESSAGE_BYTES + `… [${GIB - MAX_LOG_MESSAGE_BYTES} more bytes not logged]`.length);
    // Before: every iovec copied, then joined — 4 TiB for this call (16 × the guest for 8 iovecs over 256 MiB).
    expect(r.peakMiB - r.baseMiB).toBeLessThan(128);
  });

  it("proxy_log of the whole 1 GiB memory: one 1 MiB log line", async () => {
    const r = await runInChild("2");
    expect(r.failures).toEqual([]);
    const [, length, tail] = r.logged[0]!.split("|");
    expect(Number(length)).toBe(MAX_LOG_MESSAGE_BYTES + `… [${GIB - MAX_LOG_MESSAGE_BYTES} more bytes not logged]`.length);
    expect(tail).toContain(`[${GIB - MAX_LOG_MESSAGE_BYTES} more bytes not logged]`);
    expect(r.peakMiB - r.baseMiB).toBeLessThan(128);
  });

  it("ordinary writes are untouched: several iovecs make one line, without its newline", async () => {
    const { proxyModule } = await import("./helpers/proxy_wat.js");
    // `(i32.const ptr)` of static bytes.
    const at = (ref: string) => /^\(i32\.const \d+\)/.exec(ref)![0];
    const m = proxyModule((w) => `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (i32.store (i32.const 0x400) ${at(w.s("hello, "))})
        (i32.store (i32.const 0x404) (i32.const 7))
        (i32.store (i32.const 0x408) ${at(w.s("world\n"))})
        (i32.store (i32.const 0x40c) (i32.const 6))
        (drop (call $fd_write (i32.const 1) (i32.const 0x400) (i32.const 2) (i32.const 0x410)))
        (i32.const 0))`);
    const host = await createTestHost({ wasm: m, logLevel: "info" });
    host.httpStream().callOnRequestHeaders(GET, true);
    expect(host.logs("info")).toEqual(["hello, world"]);
  });
});

describe("header maps take linear time in the number of headers", () => {
  it("a plugin adding 40,000 headers of one name — pseudo, ordinary, inline — then replacing them runs in well under a second", async () => {
    const host = await createTestHost({ wasm: wat(readFileSync(join(FIXTURES, "add_headers.wat"), "utf8")), callbackTimeLimitMs: 0 });
    const s = host.httpStream();
    const t0 = performance.now();
    s.callOnRequestHeaders(GET, true);
    const ms = performance.now() - t0;
    const h = s.stream.request.headers!;
    // Pseudo-headers stay in front; the replaced header is one entry at the end.
    expect(h.count).toBe(3 + 40_000 + 1 + 1);
    expect(h.pairs.slice(0, 8)).toEqual([":method", "GET", ":path", "/", ":authority", "example.com", ":x-many", "v"]);
    expect(h.getAll("x-many")).toEqual(["v"]);
    expect(h.pairs.slice(-2)).toEqual(["x-many", "v"]);
    expect(h.get("user-agent")).toHaveLength(40_000 * 2 - 1);
    // Before: 29 s on the test machine (quadratic: the pseudo-headers rescanned on every add, the
    // 40,000 entries removed one splice at a time); after: about 0.3 s.
    expect(ms).toBeLessThan(5000);
  });

  it("200,000 entries: add (each kind), set and remove stay linear", () => {
    const n = 200_000;
    const t0 = performance.now();
    const m = new HeaderMap([":method", "GET", "x-a", "1"], REQUEST_HEADERS_INLINE);
    for (let i = 0; i < n; i++) m.add(":x-pseudo", "v");
    for (let i = 0; i < n; i++) m.add("x-many", "v");
    for (let i = 0; i < n; i++) m.add("accept", "v");
    m.set("x-many", "w");
    expect(m.getAll("x-many")).toEqual(["w"]);
    for (let i = 0; i < n; i++) m.add("x-many", "v");
    m.remove("x-many");
    m.remove(":x-pseudo");
    expect(m.pairs).toEqual([":method", "GET", "x-a", "1", "accept", Array(n).fill("v").join(",")]);
    // Quadratic, this was minutes.
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
