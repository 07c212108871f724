// A module names its own source map (the sourceMappingURL custom section), and a module is
// untrusted: the host follows the name only to a regular file in the module's directory. Hostile
// names here: absolute paths, `..`, a symlink out of the directory, a FIFO (which would block the
// host forever on a plain read), a directory; each is refused with a warning and the plugin still
// loads, without source positions. A map beside the module (or below it) is still used.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { createTestHost } from "../../host/index.js";
import { ROOT } from "../helpers/paths.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "trapping");
const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };
let debugWasm: Uint8Array;
let debugMap: string;
let work: string;

beforeAll(async () => {
  const out = (await compileProject({ dir: FIXTURE, target: "debug" })).outFile;
  debugWasm = new Uint8Array(readFileSync(out));
  debugMap = readFileSync(`${out}.map`, "utf8");
  work = mkdtempSync(join(tmpdir(), "pwasm-sourcemap-"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function readLeb(bytes: Uint8Array, at: number): [number, number] {
  let n = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++]!;
    n |= (b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) return [n, at];
  }
}

/** The module with its sourceMappingURL section replaced by one naming `url` (none when undefined). */
function withSourceMappingUrl(wasm: Uint8Array, url: string | undefined): Uint8Array {
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  for (let at = 8; at < wasm.length; ) {
    const start = at;
    const [size, body] = readLeb(wasm, at + 1);
    at = body + size;
    if (wasm[start] === 0) {
      const [nameLen, nameAt] = readLeb(wasm, body);
      if (new TextDecoder().decode(wasm.subarray(nameAt, nameAt + nameLen)) === "sourceMappingURL") continue;
    }
    parts.push(wasm.subarray(start, at));
  }
  if (url !== undefined) {
    const name = new TextEncoder().encode("sourceMappingURL");
    const value = new TextEncoder().encode(url);
    const payload = [...leb(name.length), ...name, ...leb(value.length), ...value];
    parts.push(new Uint8Array([0, ...leb(payload.length), ...payload]));
  }
  return Buffer.concat(parts);
}

/** A directory holding `module.wasm` that names `url`. */
function moduleDir(label: string, url: string | undefined): { dir: string; wasm: string } {
  const dir = join(work, label, "plugin");
  mkdirSync(dir, { recursive: true });
  const wasm = join(dir, "module.wasm");
  writeFileSync(wasm, withSourceMappingUrl(debugWasm, url));
  return { dir, wasm };
}

/** Loads the module, traps it, and tells whether the backtrace had source positions, with the host's warnings. */
async function trap(wasm: string): Promise<{ positions: boolean; warnings: string[] }> {
  const host = await createTestHost({ wasm });
  host.httpStream().callOnRequestHeaders({ ...GET, "x-quota": "0" }, true);
  const failure = host.failures[0]!;
  expect(failure.callback).toBe("proxy_on_request_headers");
  return { positions: failure.backtrace.join("\n").includes("assembly/index.ts:"), warnings: host.logs("warn") };
}

describe("a module's sourceMappingURL", () => {
  it("is used when it names a regular file beside the module, or below it", async () => {
    const beside = moduleDir("beside", "module.wasm.map");
    writeFileSync(join(beside.dir, "module.wasm.map"), debugMap);
    expect(await trap(beside.wasm)).toEqual({ positions: true, warnings: [] });

    const below = moduleDir("below", "maps/m.map");
    mkdirSync(join(below.dir, "maps"));
    writeFileSync(join(below.dir, "maps", "m.map"), debugMap);
    expect(await trap(below.wasm)).toEqual({ positions: true, warnings: [] });

    // A symlink that stays in the directory is fine.
    const linked = moduleDir("linked", "link.map");
    writeFileSync(join(linked.dir, "real.map"), debugMap);
    symlinkSync("real.map", join(linked.dir, "link.map"));
    expect(await trap(linked.wasm)).toEqual({ positions: true, warnings: [] });
  });

  it("is not followed to an absolute path, through '..', or along a symlink out of the directory", async () => {
    // A valid map outside the module's directory: what a hostile module would point at.
    const outside = join(work, "outside");
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "secret.map"), debugMap);
    const cases: Array<[string, string, RegExp]> = [
      ["absolute", join(outside, "secret.map"), /is an absolute path/],
      ["dotdot", "../../outside/secret.map", /leads out of the module's directory \('\.\.'\)/],
      ["dotdot-encoded", "%2e%2e/%2E%2E/outside/secret.map", /leads out of the module's directory/],
      ["symlink", "escape.map", /is a link out of the module's directory/],
    ];
    for (const [label, url, why] of cases) {
      const m = moduleDir(label, url);
      if (label === "symlink") symlinkSync(join(outside, "secret.map"), join(m.dir, "escape.map"));
      const r = await trap(m.wasm);
      expect(r.positions, label).toBe(false);
      expect(r.warnings.join("\n"), label).toMatch(why);
    }
  });

  it("refuses a directory, and a name that is a URL falls back to <module>.map", async () => {
    const dir = moduleDir("directory", "d.map");
    mkdirSync(join(dir.dir, "d.map"));
    const r = await trap(dir.wasm);
    expect(r.positions).toBe(false);
    expect(r.warnings.join("\n")).toMatch(/d\.map is a directory, not a regular file/);

    const url = moduleDir("url", "file:///etc/passwd");
    writeFileSync(join(url.dir, "module.wasm.map"), debugMap);
    expect(await trap(url.wasm)).toEqual({ positions: true, warnings: [] });
  });

  it("naming a FIFO or a device does not block or flood the host: refused at once, the plugin loads (in a child process, bounded)", async () => {
    // A plain read of a FIFO nobody writes blocks the whole event loop, and one of /dev/zero never
    // ends; a child process keeps a regression from hanging the test runner, and measures it.
    const cases: Array<{ dir: string; wasm: string; kind: RegExp }> = [
      { ...moduleDir("fifo", "pipe.map"), kind: /is a FIFO, not a regular file/ },
      { ...moduleDir("fifo-default", undefined), kind: /is a FIFO, not a regular file/ }, // no sourceMappingURL: <module>.map is the FIFO
    ];
    execFileSync("mkfifo", [join(cases[0]!.dir, "pipe.map")]);
    execFileSync("mkfifo", [join(cases[1]!.dir, "module.wasm.map")]);
    // A character device like /dev/zero beside the module, where this machine lets us make one.
    const device = moduleDir("device", "zero.map");
    try {
      execFileSync("mknod", [join(device.dir, "zero.map"), "c", "1", "5"], { stdio: "ignore" });
      cases.push({ ...device, kind: /is a device, not a regular file/ });
    } catch {
      console.log("source map device case skipped: mknod is not allowed here");
    }
    const script = `
      import { createTestHost } from ${JSON.stringify(join(ROOT, "dist", "host", "index.js"))};
      const host = await createTestHost({ wasm: process.argv[1] });
      host.httpStream().callOnRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "x", "x-quota": "0" }, true);
      console.log(JSON.stringify({ failed: host.failures.length, warnings: host.logs("warn") }));`;
    for (const m of cases) {
      const started = performance.now();
      const child = spawn(process.execPath, ["--input-type=module", "-e", script, m.wasm], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      let hung = false;
      const timer = setTimeout(() => {
        hung = true;
        child.kill("SIGKILL");
      }, 20_000);
      const code = await new Promise<number | null>((r) => child.on("close", r));
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      console.log(`source map ${m.dir.split("/").at(-2)}: ${hung ? "hung, killed after" : `exit ${code} after`} ${seconds.toFixed(1)} s`);
      expect(hung, err).toBe(false);
      expect(code, err).toBe(0);
      const r = JSON.parse(out) as { failed: number; warnings: string[] };
      expect(r.failed).toBe(1);
      expect(r.warnings.join("\n")).toMatch(m.kind);
    }
  });
});
