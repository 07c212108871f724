// `pwasm bench` says when the plugin did not start as asked: with a root id the plugin does not
// have, the pwasm SDK passes requests through, and the figures would time that without a word.
import { describe, expect, it } from "vitest";
import { runPwasm } from "../helpers/cli.js";
import { built } from "../helpers/paths.js";

describe("pwasm bench", () => {
  it("warns before the figures when the plugin logged a warning while starting (an unknown root id)", async () => {
    const r = await runPwasm(["bench", built("examples/add-header"), "--root-id", "no_such_root", "-n", "200", "--warmup", "20"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^pwasm: warning: the plugin logged while starting: \[[\d: .-]+\]\[warn\]\[wasm\] wasm log no_such_root: pwasm: unknown root id, passing through$/);
    expect(lines[1]).toMatch(/^pwasm: 20 warm-up \+ 200 timed requests through /);
  });

  it("prints no warning for the root id the plugin registered", async () => {
    const r = await runPwasm(["bench", built("examples/add-header"), "--root-id", "add_header", "-n", "200", "--warmup", "20"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("warning");
  });
});
