// `npm test` on a machine without the outside tools passes: the suites that need them are skipped,
// each saying which tool is missing and how .ci/run installs it. Shown by running those suites in a
// nested vitest with PATH holding everything but the tools (and oras pointed at nothing, as it is
// also looked up in .cache/bin). Envoy and container engines are found by test/helpers/envoy.ts.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";

/** Names hidden from PATH: the tools and their companions (clang's linker, Go's formatter). */
const HIDDEN = /^(clang.*|wasm-ld.*|ld\.lld.*|lld.*|htpasswd|oras|docker-registry|skopeo|go|gofmt)$/;

/** The suites that need the tools. */
const SUITES = [
  "test/oci/auth.test.ts", "test/oci/faults.test.ts", "test/oci/layouts.test.ts", "test/oci/manifest.test.ts",
  "test/oci/push_pull.test.ts", "test/oci/istio_deploy.test.ts", "test/fuzz/module_fuzz.test.ts", "test/cross_language/xlang.test.ts",
];

it("the suites that need clang, Go, docker-registry, htpasswd, skopeo or oras skip, with the reasons, and the run passes", async () => {
  const work = mkdtempSync(join(tmpdir(), "pwasm-no-tools-"));
  // One directory with a link to everything else on PATH (the first of a name wins, as on PATH).
  const bin = join(work, "bin");
  mkdirSync(bin);
  const linked = new Set<string>();
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (HIDDEN.test(name) || linked.has(name)) continue;
      linked.add(name);
      symlinkSync(join(dir, name), join(bin, name));
    }
  }
  // The outer run's global setup already built the CLI and the examples: no second one.
  const config = join(work, "vitest.config.mjs");
  writeFileSync(config, `export default { test: { include: ["test/**/*.test.ts"], testTimeout: 60000, hookTimeout: 120000, pool: "forks" } };\n`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST")));
  const r = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      process.execPath, [join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "--root", ROOT, "--config", config, ...SUITES],
      { cwd: ROOT, env: { ...env, PATH: bin, PWASM_ORAS: join(work, "no-oras"), NO_COLOR: "1", FORCE_COLOR: "0" }, timeout: 300_000, maxBuffer: 32 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: `${stdout}\n${stderr}` }),
    );
  });
  rmSync(work, { recursive: true, force: true });
  expect(r.code, r.out).toBe(0);
  expect(r.out).not.toMatch(/\bfailed\b/);
  for (const reason of [
    "docker-registry is not on PATH (.ci/run installs it: apt-get install docker-registry)",
    "htpasswd is not on PATH (.ci/run installs it: apt-get install apache2-utils)",
    "skopeo is not on PATH (.ci/run installs it: apt-get install skopeo)",
    `PWASM_ORAS ${join(work, "no-oras")} does not exist (.ci/run installs it: go install oras.land/oras/cmd/oras@v1.3.6 (into .cache/bin))`,
    "go is not on PATH (.ci/run needs it and does not install it: Go 1.24 or later from https://go.dev/dl)",
    "clang is not on PATH (.ci/run installs it: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)",
  ]) {
    expect(r.out, reason).toContain(reason);
  }
  // Each suite said it was skipped; the AssemblyScript xlang plugin, which needs no outside tool, ran.
  for (const suite of SUITES.filter((s) => !s.includes("xlang"))) expect(r.out).toMatch(new RegExp(`^${suite.replace(/[./]/g, "\\$&")} skipped: `, "m"));
  expect(r.out).toMatch(/^xlang plugin \(go\) skipped: go is not on PATH/m);
  expect(r.out).toMatch(/^xlang plugin \(c\) skipped: clang is not on PATH/m);
  expect(r.out).toMatch(/test\/cross_language\/xlang\.test\.ts \(\d+ tests \| \d+ skipped\)/);
}, 300_000);
