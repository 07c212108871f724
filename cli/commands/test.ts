// `pwasm test [filters...]`: build what is stale, run the project's tests.
import type { Command } from "commander";
import { compileWithProgress } from "../build/progress.js";
import { runProjectTests } from "../scaffold/project_test.js";
import { printBuild } from "./build.js";

export function registerTest(program: Command): void {
  program
    .command("test")
    .description("build the project's stale targets, then run its tests (test/**/*.test.ts) on the embedded host")
    .argument("[filters...]", "only test files whose path contains one of these")
    .option("-C, --dir <dir>", "project directory", ".")
    .option("--envoy", "run the end-to-end checks against Envoy in a container instead of the embedded host (needs docker or podman)")
    .action(async (filters: string[], o: { dir: string; envoy?: boolean }) => {
      const failed = await runProjectTests({
        dir: o.dir, filters, onBuild: printBuild, compile: (c) => compileWithProgress(c), env: o.envoy ? { PWASM_E2E: "envoy" } : undefined,
      });
      if (failed > 0) process.exitCode = 1;
    });
}
