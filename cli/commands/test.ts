// `pwasm test [filters...]`: build what is stale, run the project's tests; with --envoy its
// scenario tests (pwasm/envoy/vitest) also run in a real Envoy and are compared with the embedded host.
import type { Command } from "commander";
import { compileWithProgress, printBuild } from "../build/progress.js";
import { E2E_ENV } from "../envoy/differential/vitest.js";
import { chooseEnvoy, describeEnvoyTarget, ENVOY_IMAGE_ENV } from "../envoy/launch.js";
import { ENVOY_BIN_ENV } from "../envoy/local_envoy.js";
import { setExitStatus, UserError } from "../errors.js";
import { plural } from "../format.js";
import { runProjectTests } from "../scaffold/project_test.js";

/** The name scenario tests give their Envoy comparison (cli/envoy/differential/vitest.ts). */
const ENVOY_TEST = "Envoy agrees with the embedded host";

/** Options of `pwasm test`, as parsed. */
export interface TestOptions {
  dir: string;
  envoy?: boolean;
  envoyBin?: string;
  envoyImage?: string;
}

/** Declares `pwasm test`: arguments, flags, help; the action runs testCommand. */
export function registerTest(program: Command): void {
  program
    .command("test")
    .description("build the project's stale targets, then run its tests (test/**/*.test.ts) on the embedded host")
    .argument("[filters...]", "only test files whose path contains one of these")
    .option("-C, --dir <dir>", "project directory", ".")
    .option("--envoy", "also run the project's scenario tests (pwasm/envoy/vitest) in a real Envoy and fail on any difference from the embedded host")
    .option("--envoy-bin <path>", `the Envoy binary for --envoy (default: $${ENVOY_BIN_ENV}, else envoy on PATH)`)
    .option("--envoy-image <image>", `run Envoy in a container with this image for --envoy, or $${ENVOY_IMAGE_ENV}`)
    .action(async (filters: string[], o: TestOptions) => setExitStatus(await testCommand(filters, o)));
}

/**
 * `pwasm test`'s work: builds what is stale, runs the project's tests (with --envoy, its scenarios
 * in Envoy too). Returns 1 when a test failed, else 0.
 */
export async function testCommand(filters: string[], o: TestOptions): Promise<number> {
  let env: Record<string, string> | undefined;
  const envoy = o.envoy || o.envoyBin !== undefined || o.envoyImage !== undefined;
  if (envoy) {
    // Decided once, before anything is built: where Envoy runs (or why it cannot, in one line).
    const target = await chooseEnvoy({ bin: o.envoyBin, image: o.envoyImage });
    process.stderr.write(`pwasm: scenario tests also run in ${describeEnvoyTarget(target)}\n`);
    env = { [E2E_ENV]: "envoy", ...(target.kind === "local" ? { [ENVOY_BIN_ENV]: target.envoy.path } : { [ENVOY_IMAGE_ENV]: target.image }) };
  }
  let inEnvoy = 0;
  const failed = await runProjectTests({
    dir: o.dir, filters, onBuild: printBuild, compile: (c) => compileWithProgress(c), env,
    onTestsRan: (names) => (inEnvoy = names.filter((n) => n.endsWith(ENVOY_TEST)).length),
  });
  // --envoy that ran nothing in Envoy must not look like success.
  if (envoy && inEnvoy === 0) {
    throw new UserError("--envoy ran no scenario in Envoy: the project has no scenario tests (a test file calling scenarioTests from pwasm/envoy/vitest, as pwasm init's templates have in test/scenarios.test.ts)");
  }
  if (envoy) process.stderr.write(`pwasm: ${inEnvoy} ${plural(inEnvoy, "scenario")} compared with Envoy\n`);
  return failed > 0 ? 1 : 0;
}
