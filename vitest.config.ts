import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global_setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // vitest's default is one file at a time per core but one: on a two-core machine, one file at a
    // time, leaving a core idle whenever that file waits on its subprocesses (Envoy, npm, go, clang).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
