// `pwasm test`: builds a project's stale targets, then runs its vitest suites with the vitest that
// ships with pwasm (a scaffolded project needs no test dependencies of its own).
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { compileProject, projectOutFile, type CompileOptions, type CompileResult } from "../build/compile.js";
import { isStale } from "../build/stale.js";
import { UserError } from "../errors.js";

/** Options of a test run. */
export interface ProjectTestOptions {
  dir: string;
  /** Test name filters, passed to vitest. */
  filters?: string[];
  /** Extra environment for the tests (e.g. PWASM_E2E=envoy). */
  env?: Record<string, string>;
  /** Called for each target that was rebuilt. */
  onBuild?: (r: CompileResult) => void;
  /** Builds one target (default compileProject; the command passes one that shows progress). */
  compile?: (options: CompileOptions) => Promise<CompileResult>;
  /** Called with the full name of every test that ran (passed or failed). */
  onTestsRan?: (names: string[]) => void;
}

/** Builds what is stale and runs the tests; resolves with the number of failed tests (or files). */
export async function runProjectTests(options: ProjectTestOptions): Promise<number> {
  const dir = resolve(options.dir);
  if (!existsSync(join(dir, "asconfig.json"))) throw new UserError(`no asconfig.json in ${dir}: not a plugin project (try \`pwasm init\`)`);
  for (const target of ["release", "debug"]) {
    // A target without an outFile is not built by this command.
    const out = await projectOutFile(dir, target);
    if (out && isStale(dir, out)) {
      const r = await (options.compile ?? compileProject)({ dir, target });
      options.onBuild?.(r);
    }
  }
  Object.assign(process.env, options.env ?? {});
  const { startVitest } = await import("vitest/node");
  const hasConfig = ["vitest.config.ts", "vitest.config.js", "vitest.config.mts", "vite.config.ts"].some((f) => existsSync(join(dir, f)));
  const vitest = await startVitest("test", options.filters ?? [], {
    root: dir, run: true, watch: false,
    ...(hasConfig ? {} : { config: false, include: ["test/**/*.test.ts"] }),
  });
  try {
    const failedTests = vitest.state.getCountOfFailedTests();
    const failedFiles = vitest.state.getFiles().filter((f) => f.result?.state === "fail").length;
    const errors = vitest.state.getUnhandledErrors().length;
    const ran = vitest.state.getFiles().length;
    if (ran === 0) throw new UserError(`no test files found in ${dir} (expected test/**/*.test.ts)`);
    if (options.onTestsRan) {
      const names: string[] = [];
      const walk = (t: { name: string; type: string; result?: { state?: string }; tasks?: unknown[] }, prefix: string) => {
        const full = prefix ? `${prefix} > ${t.name}` : t.name;
        if (t.type === "test" && (t.result?.state === "pass" || t.result?.state === "fail")) names.push(full);
        for (const c of (t.tasks ?? []) as Array<typeof t>) walk(c, t.type === "suite" ? full : prefix);
      };
      for (const f of vitest.state.getFiles()) for (const t of f.tasks) walk(t as Parameters<typeof walk>[0], "");
      options.onTestsRan(names);
    }
    return Math.max(failedTests, failedFiles) + errors;
  } finally {
    await vitest.close();
  }
}
