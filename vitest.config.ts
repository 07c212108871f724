import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";
import { LongestFirst } from "./test/helpers/sequencer.js";

/** Files that replace a module with vi.mock: they need a module registry of their own. */
const MOCKING = ["test/plugins/attribute_names.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // vitest's default is one file at a time per core but one: on a two-core machine, one file at a
    // time, leaving a core idle whenever that file waits on its subprocesses (Envoy, npm, go, clang).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: LongestFirst },
    projects: [
      // A worker process runs file after file: a fresh process and module graph per file made
      // test/host take 28 s instead of 18. Test files keep their state in their own scope
      // (test/README.md).
      { extends: true, test: { name: "shared", include: ["test/**/*.test.ts"], globalSetup: ["test/helpers/global_setup.ts"], isolate: false, exclude: [...configDefaults.exclude, ...MOCKING] } },
      // The global setup (builds, tsc into dist/) is the first project's only: once per run.
      { extends: true, test: { name: "isolated", include: MOCKING } },
    ],
  },
});
