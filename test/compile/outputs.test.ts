// A debug build's module, source map and text form are replaced together or not at all: a write
// that fails, or Ctrl-C while they are written, leaves the previous set and no temporary files.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { temporaryPath } from "../../cli/build/outputs.js";
import { CLI, runPwasm } from "../helpers/cli.js";

const OUTPUTS = ["debug.wasm", "debug.wasm.map", "debug.wat"];
const digest = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

let dir: string;
let build: string;
/** The debug outputs of the last good build, by file name. */
let before: Record<string, string>;

/** Changes the plugin so its next build differs in every output. */
function editSource(text: string): void {
  const src = join(dir, "assembly", "index.ts");
  writeFileSync(src, readFileSync(src, "utf8").replace(/: configured[^"]*"/, `: configured ${text}"`));
}

beforeEach(async () => {
  dir = join(mkdtempSync(join(tmpdir(), "pwasm-outputs-")), "plugin");
  expect((await runPwasm(["init", dir, "--template", "empty"])).code).toBe(0);
  const first = await runPwasm(["build", "--debug"], { cwd: dir, timeoutMs: 120_000 });
  expect(first.code, first.stderr).toBe(0);
  build = join(dir, "build");
  expect(readdirSync(build).sort()).toEqual([...OUTPUTS].sort());
  before = Object.fromEntries(OUTPUTS.map((f) => [f, digest(join(build, f))]));
  editSource("again");
});

describe("a debug build's outputs", () => {
  it("are all kept when the source map cannot be written", async () => {
    rmSync(join(build, "debug.wasm.map"));
    mkdirSync(join(build, "debug.wasm.map"));
    const r = await runPwasm(["build", "--debug"], { cwd: dir, timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\npwasm: cannot write build\/debug\.wasm\.map: EISDIR \(nothing was replaced: build\/debug\.wasm is as it was\)\n$/);
    expect(digest(join(build, "debug.wasm"))).toBe(before["debug.wasm"]);
    expect(digest(join(build, "debug.wat"))).toBe(before["debug.wat"]);
    expect(readdirSync(build).sort()).toEqual([...OUTPUTS].sort());

    // The same build succeeds once the map can be written, and changes every output.
    rmSync(join(build, "debug.wasm.map"), { recursive: true });
    const ok = await runPwasm(["build", "--debug"], { cwd: dir, timeoutMs: 120_000 });
    expect(ok.code, ok.stderr).toBe(0);
    for (const f of ["debug.wasm", "debug.wat"]) expect(digest(join(build, f)), f).not.toBe(before[f]);
  });

  it("are removed from their temporary files, and the previous set kept, when Ctrl-C arrives while they are written", async () => {
    // The module's temporary file is a FIFO no one reads: the build holds there, with the other
    // outputs already in their temporary files, until the signal. `exec` keeps the shell's pid, so
    // the FIFO is in place before pwasm starts.
    const tmp = temporaryPath(join(build, "debug.wasm")).replace(/-\d+$/, "-$$$$");
    const child = spawn("sh", ["-c", `mkfifo "${tmp}" && exec "${process.execPath}" "${CLI}" build --debug`], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("close", (code, signal) => r({ code, signal })));
    const others = ["debug.wasm.map", "debug.wat"].map((f) => temporaryPath(join(build, f)).replace(/-\d+$/, `-${child.pid}`));
    // Bounded wait until both are written (the compile comes first).
    const deadline = Date.now() + 120_000;
    while (!others.every((p) => existsSync(p) && readFileSync(p).length > 0)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the build never reached its writes:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGINT");
    const end = await exited;
    expect(end.signal ?? end.code, stderr).toBe(end.signal ? "SIGINT" : 130);
    expect(readdirSync(build).sort()).toEqual([...OUTPUTS].sort());
    for (const f of OUTPUTS) expect(digest(join(build, f)), f).toBe(before[f]);
  });
});
