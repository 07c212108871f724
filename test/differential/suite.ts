// The differential suite's runner: every scenario of a group runs on the embedded dev proxy and on
// a real Envoy 1.40 configured from the same options, and any difference a plugin author could
// observe fails the test, unless cli/envoy/differential/intentional_differences.ts lists it with its
// reason. Where no Envoy is installed the Envoy side is skipped with the reason (.ci/run installs
// it). Groups are separate test files so the test runner spreads them over its workers.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { isStale } from "../../cli/build/stale.js";
import { applyIntentional, compareObservations, countByClass, expectationFailures, type Difference } from "../../cli/envoy/differential/compare.js";
import { INTENTIONAL_DIFFERENCES } from "../../cli/envoy/differential/intentional_differences.js";
import { runScenario, type ScenarioRun } from "../../cli/envoy/differential/run.js";
import type { Scenario } from "../../cli/envoy/differential/scenario.js";
import { embeddedTarget, envoyScenarioTarget } from "../../cli/envoy/differential/targets.js";
import { testEnvoy } from "../helpers/envoy.js";

const local = await testEnvoy();
const envoy = local.envoy ? envoyScenarioTarget({ kind: "local", envoy: local.envoy }) : undefined;

/** What a group needs built before it runs: AssemblyScript projects, and any other builder. */
export interface GroupFixtures {
  projects?: string[];
  build?: () => Promise<void>;
}

/** Registers the tests of one group of scenarios (call at the top level of a test file). */
export function differentialSuite(group: string, scenarios: Scenario[], fixtures: GroupFixtures = {}): void {
  if (local.skip) console.warn(`differential suite (${group}): the Envoy side is skipped: ${local.skip}`);
  const seen: Array<{ scenario: string; unexpected: Difference[]; accepted: number }> = [];

  beforeAll(async () => {
    for (const dir of fixtures.projects ?? []) {
      if (isStale(dir, join(dir, "build", "release.wasm"))) await compileProject({ dir, target: "release" });
    }
    await fixtures.build?.();
  }, 600_000);

  // The group's result in one line: scenarios, unexpected differences by class, intentional ones.
  afterAll(() => {
    if (!envoy || seen.length === 0) return;
    const all = seen.flatMap((s) => s.unexpected);
    const accepted = seen.reduce((n, s) => n + s.accepted, 0);
    console.log(`differential suite (${group}): ${seen.length} scenarios on ${envoy.description}; ${all.length} unexpected difference(s)${all.length ? ` (${countByClass(all)})` : ""}; ${accepted} intentional`);
  });

  describe.each(scenarios)("$name", (scenario) => {
    let embedded: ScenarioRun | undefined;

    it("meets its expectations on the embedded host", async () => {
      embedded = await runScenario(embeddedTarget, scenario);
      expect(expectationFailures(embedded.observation, scenario).map((d) => d.text)).toEqual([]);
    }, 120_000);

    it.skipIf(!envoy)(`Envoy agrees with the embedded host${local.skip ? ` — skipped: ${local.skip}` : ""}`, async () => {
      embedded ??= await runScenario(embeddedTarget, scenario);
      const real = await runScenario(envoy!, scenario);
      const diffs = [
        ...expectationFailures(real.observation, scenario),
        ...compareObservations(embedded.observation, real.observation, { a: embedded.normalize, b: real.normalize }),
      ];
      const { unexpected, accepted } = applyIntentional(scenario.name, diffs, INTENTIONAL_DIFFERENCES);
      seen.push({ scenario: scenario.name, unexpected, accepted: accepted.length });
      expect(unexpected.map((d) => `[${d.class}] ${d.text}`)).toEqual([]);
    }, 180_000);
  });
}
