// `pwasm test` rebuilds only what is stale, wherever the project's asconfig.json puts its outputs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runPwasm } from "../helpers/cli.js";

it("uses each target's outFile to decide what is stale", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "pwasm-outfile-")), "custom-out");
  expect((await runPwasm(["init", dir, "--template", "empty"])).code).toBe(0);
  const asconfigPath = join(dir, "asconfig.json");
  const asconfig = JSON.parse(readFileSync(asconfigPath, "utf8")) as { targets: Record<string, { outFile: string }> };
  asconfig.targets.release!.outFile = "out/plugin.wasm";
  writeFileSync(asconfigPath, JSON.stringify(asconfig, null, 2));
  const test = readFileSync(join(dir, "test", "plugin.test.ts"), "utf8").replace('"build", "release.wasm"', '"out", "plugin.wasm"');
  writeFileSync(join(dir, "test", "plugin.test.ts"), test);
  const scenarios = readFileSync(join(dir, "test", "scenarios.test.ts"), "utf8").replace('"build/release.wasm"', '"out/plugin.wasm"');
  writeFileSync(join(dir, "test", "scenarios.test.ts"), scenarios);
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund"], { cwd: dir, stdio: "ignore" });

  const first = await runPwasm(["test"], { cwd: dir, timeoutMs: 180_000 });
  expect(first.code, first.stdout + first.stderr).toBe(0);
  expect(first.stdout).toMatch(/built out\/plugin\.wasm/);
  const second = await runPwasm(["test"], { cwd: dir, timeoutMs: 180_000 });
  expect(second.code).toBe(0);
  expect(second.stdout).not.toMatch(/^built /m);
});

it("refuses --debug with another --target in one line", async () => {
  const r = await runPwasm(["build", "examples/add-header", "--debug", "--target", "release"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe("pwasm: --debug and --target release name two targets: give one\n");
});
