// Builds say they started: compiling takes seconds, and `pwasm build` / `pwasm test` printed
// nothing until the end. A line on stderr when a build starts; on a terminal it shows the time so
// far and is erased for the result.
import { PassThrough } from "node:stream";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BuildProgress, compileWithProgress } from "../../cli/build/progress.js";
import { runPwasm } from "../helpers/cli.js";
import { ROOT } from "../helpers/paths.js";

/** A stream that records what was written, as a terminal (isTTY) or a pipe would receive it. */
function capture(isTTY: boolean): PassThrough & { isTTY: boolean; text(): string } {
  const s = Object.assign(new PassThrough(), { isTTY });
  let out = "";
  s.on("data", (d: Buffer) => (out += d.toString()));
  return Object.assign(s, { text: () => out });
}

describe("build progress", () => {
  it("pwasm build prints a start line on stderr, then the result on stdout", async () => {
    const r = await runPwasm(["build", "examples/add-header"], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^building examples\/add-header\/build\/release\.wasm \(release, AssemblyScript \d+\.\d+\.\d+\)…\n$/);
    expect(r.stdout).toMatch(/^built examples\/add-header\/build\/release\.wasm {2}[\d,]+ bytes {2}\d+ ms {2}\(release, AssemblyScript \d+\.\d+\.\d+\)\n$/);
  });

  it("ends the line on a pipe; on a terminal, writes it without a newline and erases it when the build ends", async () => {
    const pipe = capture(false);
    await compileWithProgress({ dir: join(ROOT, "examples", "add-header"), outFile: join(ROOT, "test", "compile", "fixtures", "with-lib", "build", "progress.wasm") }, pipe);
    expect(pipe.text()).toMatch(/^building test\/compile\/fixtures\/with-lib\/build\/progress\.wasm \(release, AssemblyScript [\d.]+\)…\n$/);

    const tty = capture(true);
    const progress = new BuildProgress(tty);
    progress.start({ outFile: join(process.cwd(), "build", "release.wasm"), target: "release", compilerVersion: "0.28.20" });
    expect(tty.text()).toBe("building build/release.wasm (release, AssemblyScript 0.28.20)…");
    progress.stop();
    expect(tty.text()).toBe("building build/release.wasm (release, AssemblyScript 0.28.20)…\r\x1b[2K");
  });

  it("erases the terminal line when the build fails, so the error starts on a clean line", async () => {
    const tty = capture(true);
    const failed = await compileWithProgress({ dir: join(ROOT, "examples", "add-header"), extraArgs: ["--runtime", "no-such-runtime"], outFile: join(ROOT, "test", "compile", "fixtures", "with-lib", "build", "fails.wasm") }, tty).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(tty.text()).toMatch(/^building .*fails\.wasm \(release, AssemblyScript [\d.]+\)….*\r\x1b\[2K$/s);
  });
});
