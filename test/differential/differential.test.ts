// The differential suite: every scenario runs on the embedded dev proxy and on a real Envoy 1.40
// configured from the same options, and any difference a plugin author could observe fails the
// test, unless cli/envoy/differential/intentional_differences.ts lists it with its reason. Where
// no Envoy is installed the Envoy side is skipped with the reason (.ci/run installs it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyIntentional, compareObservations, countByClass, expectationFailures, type Difference } from "../../cli/envoy/differential/compare.js";
import { INTENTIONAL_DIFFERENCES } from "../../cli/envoy/differential/intentional_differences.js";
import { runScenario, type ScenarioRun } from "../../cli/envoy/differential/run.js";
import { embeddedTarget, envoyScenarioTarget } from "../../cli/envoy/differential/targets.js";
import { testEnvoy } from "../helpers/envoy.js";
import { buildScenarioFixtures, SCENARIOS } from "./scenarios/index.js";

const local = await testEnvoy();
if (local.skip) console.warn(`differential suite: the Envoy side is skipped: ${local.skip}`);
const envoy = local.envoy ? envoyScenarioTarget({ kind: "local", envoy: local.envoy }) : undefined;

// Every difference seen, for the summary at the end (classes and counts).
const seen: Array<{ scenario: string; unexpected: Difference[]; accepted: number }> = [];

beforeAll(async () => {
  await buildScenarioFixtures();
}, 600_000);

afterAll(() => {
  if (!envoy || seen.length === 0) return;
  const all = seen.flatMap((s) => s.unexpected);
  const accepted = seen.reduce((n, s) => n + s.accepted, 0);
  console.log(`differential suite: ${seen.length} scenarios on ${envoy.description}; ${all.length} unexpected difference(s)${all.length ? ` (${countByClass(all)})` : ""}; ${accepted} intentional`);
});

describe.each(SCENARIOS)("$name", (scenario) => {
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
