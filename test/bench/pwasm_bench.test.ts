// `pwasm bench`: timed cycles through the embedded host, with a machine-readable result.
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPwasm } from "../helpers/cli.js";
import { built, ROOT } from "../helpers/paths.js";

describe("pwasm bench", () => {
  it("reports per-request time, size and memory as JSON", async () => {
    const wasm = built("examples/add-header");
    const r = await runPwasm(["bench", wasm, "-n", "300", "--warmup", "50", "--root-id", "add_header", "-c", "x-hello: world", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, number>;
    expect(result.requests).toBe(300);
    expect(result.moduleBytes).toBe(statSync(wasm).size);
    expect(result.medianUs).toBeGreaterThan(0);
    expect(result.p99Us).toBeGreaterThanOrEqual(result.medianUs!);
    expect(result.memoryAtEnd).toBeGreaterThanOrEqual(result.memoryAfterWarmup!);
    expect(result.failures).toBe(0);
  });

  it("fails (exit 1) when the plugin traps during the run", async () => {
    const trap = join(ROOT, "test", "failure_policy", "fixtures", "trap");
    const r = await runPwasm(["bench", trap, "-n", "20", "--warmup", "1", "-H", ":method:GET", "-H", ":path:/", "-H", "x-trap:1"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/VM failures\s+[1-9]/);
  });

  it("rejects a malformed header in one line", async () => {
    const r = await runPwasm(["bench", built("examples/add-header"), "-H", "no-colon"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("pwasm: --header expects name:value, got 'no-colon'\n");
  });
});
