// `pwasm test --envoy` in a scaffolded project: its scenario tests (test/scenarios.test.ts) run on
// the embedded host and in a real Envoy, and a difference or a missed expectation fails the run;
// without an Envoy, or without scenario tests, --envoy fails in one line instead of passing quietly.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { runPwasm } from "../helpers/cli.js";
import { testEnvoy } from "../helpers/envoy.js";

const exec = promisify(execFile);
const local = await testEnvoy();

describe.skipIf(!local.envoy)(`pwasm test --envoy${local.skip ? ` — skipped: ${local.skip}` : ""}`, () => {
  let dir: string;
  const env = () => ({ PWASM_ENVOY_BIN: local.envoy!.path });

  beforeAll(async () => {
    dir = join(mkdtempSync(join(tmpdir(), "pwasm-test-envoy-")), "greeter");
    expect((await runPwasm(["init", dir, "--template", "http-headers"])).code).toBe(0);
    await exec("npm", ["install", "--offline", "--registry=http://127.0.0.1:9/", "--no-audit", "--no-fund"], { cwd: dir, timeout: 120_000 });
  }, 180_000);

  it("runs the project's scenarios in Envoy and compares them with the embedded host", async () => {
    const r = await runPwasm(["test", "--envoy"], { cwd: dir, env: env(), timeoutMs: 240_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toContain(`pwasm: scenario tests also run in local Envoy 1.40.0 (${local.envoy!.path})`);
    expect(r.stderr).toContain("pwasm: 2 scenarios compared with Envoy");
  }, 300_000);

  it("fails when a scenario's expectation does not hold (on either host)", async () => {
    const file = join(dir, "test", "scenarios.test.ts");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace('"x-greeting": "bonjour"', '"x-greeting": "hola"'));
    try {
      const r = await runPwasm(["test", "--envoy"], { cwd: dir, env: env(), timeoutMs: 240_000 });
      expect(r.code).toBe(1);
      const all = `${r.stdout}\n${r.stderr}`;
      expect(all).toContain(`embedded: GET /: response header x-greeting is "bonjour", expected "hola"`);
      expect(all).toContain(`envoy: GET /: response header x-greeting is "bonjour", expected "hola"`);
    } finally {
      writeFileSync(file, good);
    }
  }, 300_000);

  it("without an Envoy to run, says so in one line", async () => {
    const r = await runPwasm(["test", "--envoy"], { cwd: dir, env: { PATH: "/usr/bin:/bin", PWASM_ENVOY_BIN: "", PWASM_CONTAINER_ENGINE: "no-such-engine" }, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pwasm: no Envoy to run: no envoy on PATH .*; no container engine to run Envoy: no-such-engine is not installed\n$/);
  });

  it("without scenario tests, --envoy fails instead of passing without Envoy", async () => {
    const file = join(dir, "test", "scenarios.test.ts");
    const good = readFileSync(file, "utf8");
    rmSync(file);
    try {
      const r = await runPwasm(["test", "--envoy"], { cwd: dir, env: env(), timeoutMs: 240_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/Tests\s+\S*\d+ passed/);
      expect(r.stderr).toContain("pwasm: --envoy ran no scenario in Envoy: the project has no scenario tests");
    } finally {
      writeFileSync(file, good);
    }
  }, 300_000);
});
