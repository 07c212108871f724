// Scenario tests for a plugin project (`pwasm/envoy/vitest`): each scenario runs on the embedded
// dev proxy and must meet its expectations; under `pwasm test --envoy` (PWASM_E2E=envoy) it also runs
// in a real Envoy configured the same way, and any difference a plugin author could observe fails
// the test (intentional_differences.ts lists the few pwasm keeps on purpose).
import { resolve } from "node:path";
import { describe, it } from "vitest";
import { chooseEnvoy, type EnvoyTarget } from "../launch.js";
import { applyIntentional, compareObservations, expectationFailures } from "./compare.js";
import { INTENTIONAL_DIFFERENCES } from "./intentional_differences.js";
import { runScenario, type ScenarioRun } from "./run.js";
import type { Scenario } from "./scenario.js";
import { embeddedTarget, envoyScenarioTarget } from "./targets.js";

/** The environment variable `pwasm test --envoy` sets. */
export const E2E_ENV = "PWASM_E2E";

/** True when the tests must also run in Envoy. */
export function envoyMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[E2E_ENV]?.trim().toLowerCase() === "envoy";
}

// Module paths in scenarios are relative to the project (the tests' working directory).
function absolute(s: Scenario): Scenario {
  return {
    ...s,
    proxies: s.proxies.map((p) => ({ ...p, plugins: p.plugins.map((pl) => (typeof pl.wasm === "string" ? { ...pl, wasm: resolve(pl.wasm) } : pl)) })),
  };
}

// One line per problem, as the test's failure message (readable, unlike an array diff).
function fail(problems: string[], heading = ""): void {
  if (problems.length > 0) throw new Error([heading, ...problems].filter(Boolean).join("\n  "));
}

/**
 * Registers one test per scenario (and, in Envoy mode, one more comparing it with Envoy). Call it at
 * the top level of a test file.
 */
export function scenarioTests(scenarios: Scenario[]): void {
  const inEnvoy = envoyMode();
  let target: Promise<EnvoyTarget> | undefined;
  describe.each(scenarios.map(absolute))("$name", (scenario) => {
    let embedded: ScenarioRun | undefined;
    it("meets its expectations on the embedded host", async () => {
      embedded = await runScenario(embeddedTarget, scenario);
      fail(expectationFailures(embedded.observation, scenario).map((d) => d.text));
    }, 120_000);
    if (!inEnvoy) return;
    it("Envoy agrees with the embedded host", async () => {
      target ??= chooseEnvoy();
      const envoy = envoyScenarioTarget(await target);
      embedded ??= await runScenario(embeddedTarget, scenario);
      const real = await runScenario(envoy, scenario);
      const diffs = [
        ...expectationFailures(real.observation, scenario),
        ...compareObservations(embedded.observation, real.observation, { a: embedded.normalize, b: real.normalize }),
      ];
      const { unexpected } = applyIntentional(scenario.name, diffs, INTENTIONAL_DIFFERENCES);
      fail(unexpected.map((d) => `[${d.class}] ${d.text}`), `on ${envoy.description}:`);
    }, 180_000);
  });
}
