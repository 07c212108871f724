// `pwasm init` writes projects that install without a registry and whose tests pass.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { TEMPLATES } from "../../cli/scaffold/init.js";
import { runPwasm } from "../helpers/cli.js";
import { ROOT } from "../helpers/paths.js";

const exec = promisify(execFile);

// npm with no registry: anything that is not already local fails at once.
async function installOffline(dir: string): Promise<void> {
  await exec("npm", ["install", "--offline", "--registry=http://127.0.0.1:9/", "--no-audit", "--no-fund"], { cwd: dir, timeout: 120_000 });
}

describe("pwasm init", () => {
  // From this clone (package.json links it); every template, from the packed tarball and from git,
  // goes through the same steps in test/package/install.test.ts.
  for (const template of ["http-headers"] satisfies Array<keyof typeof TEMPLATES>) {
    it(`scaffolds the ${template} template, which installs offline and tests green`, async () => {
      const dir = join(mkdtempSync(join(tmpdir(), "pwasm-init-")), `my-${template}`);
      const init = await runPwasm(["init", dir, "--template", template]);
      expect(init.code, init.stderr).toBe(0);
      for (const f of ["package.json", "asconfig.json", "assembly/index.ts", "test/plugin.test.ts", "README.md", ".gitignore"]) {
        expect(existsSync(join(dir, f)), f).toBe(true);
      }
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
      expect(pkg.devDependencies.pwasm).toBe(`file:${realpathSync(ROOT)}`);
      expect(init.stdout).toContain(`package.json depends on pwasm "file:${realpathSync(ROOT)}": the pwasm checkout at ${realpathSync(ROOT)}\n`);
      const asconfig = JSON.parse(readFileSync(join(dir, "asconfig.json"), "utf8")) as { targets: Record<string, unknown> };
      expect(Object.keys(asconfig.targets).sort()).toEqual(["debug", "release"]);

      await installOffline(dir);
      const test = await runPwasm(["test"], { cwd: dir, timeoutMs: 180_000 });
      expect(test.code, `${test.stdout}\n${test.stderr}`).toBe(0);
      expect(test.stdout).toMatch(/built build\/release\.wasm/);
      expect(test.stdout).toMatch(/Tests\s+\S*\d+ passed/);
      expect(test.stdout).not.toMatch(/failed/);
    });
  }

  it("refuses a non-empty directory unless --force", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pwasm-init-full-"));
    writeFileSync(join(dir, "notes.txt"), "mine");
    const refused = await runPwasm(["init", dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^pwasm: .* is not empty \(1 entry\); use --force to write into it anyway\n$/);
    expect(existsSync(join(dir, "package.json"))).toBe(false);

    const forced = await runPwasm(["init", dir, "--force", "--name", "Forced Plugin"]);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("mine");
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name).toBe("forced-plugin");
    expect(readFileSync(join(dir, "assembly", "index.ts"), "utf8")).toContain('"forced_plugin"');
  });

  it("rejects an unknown template in one line", async () => {
    const r = await runPwasm(["init", join(mkdtempSync(join(tmpdir(), "pwasm-init-")), "x"), "--template", "grpc-magic"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Allowed choices are http-headers, http-body, http-callout, tcp, empty/);
  });

  it("`pwasm test` reports a failing test with exit code 1", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pwasm-init-")), "failing");
    expect((await runPwasm(["init", dir, "--template", "empty"])).code).toBe(0);
    mkdirSync(join(dir, "test"), { recursive: true });
    writeFileSync(join(dir, "test", "broken.test.ts"), `import { it, expect } from "vitest";\nit("is wrong", () => { expect(1).toBe(2); });\n`);
    const r = await runPwasm(["test"], { cwd: dir, timeoutMs: 180_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/1 failed/);
  });
});
