// The end-to-end mode. Every scenario's checks run on the embedded dev proxy; with
// PWASM_E2E=envoy (`pwasm test --envoy`) and a working container engine they also run on Envoy in
// a container, and any difference from the embedded host fails the test with the list. Without
// an engine those tests are skipped, with the reason in their names.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { isStale } from "../../cli/build/stale.js";
import { compareRuns, e2eMode, envoyLauncher, expectationFailures, launchEmbedded, runScenario, type ScenarioRun } from "../../cli/envoy/e2e.js";
import { detectContainerEngine } from "../../cli/envoy/engine.js";
import { ROOT } from "../helpers/paths.js";
import { CHECKS_PROJECT, SCENARIOS } from "./scenarios.js";

const probe = await detectContainerEngine();
const skipReason = !probe.ok ? probe.reason : e2eMode() !== "envoy" ? "PWASM_E2E is not envoy (run `pwasm test --envoy` or set PWASM_E2E=envoy)" : undefined;
if (skipReason) console.warn(`Envoy end-to-end checks skipped: ${skipReason}`);

beforeAll(async () => {
  for (const dir of [CHECKS_PROJECT, join(ROOT, "test", "foundation", "fixtures", "trap")]) {
    if (isStale(dir, join(dir, "build", "release.wasm"))) await compileProject({ dir, target: "release" });
  }
});

describe.each(SCENARIOS)("$name", (scenario) => {
  let embedded: ScenarioRun;

  it("passes its checks on the embedded host", async () => {
    embedded = await runScenario("embedded", launchEmbedded, scenario);
    expect(expectationFailures(embedded, scenario)).toEqual([]);
  });

  it.skipIf(skipReason !== undefined)(`Envoy in a container agrees with the embedded host${skipReason ? ` — skipped: ${skipReason}` : ""}`, async () => {
    if (!probe.ok) throw new Error("unreachable: skipped without an engine");
    embedded ??= await runScenario("embedded", launchEmbedded, scenario);
    const logs: string[] = [];
    const envoy = await runScenario("envoy", envoyLauncher(probe.engine, { image: process.env.PWASM_ENVOY_IMAGE, onLog: (l) => logs.push(l) }), scenario);
    const problems = [...expectationFailures(envoy, scenario), ...compareRuns(embedded, envoy)];
    expect(problems, `Envoy's log:\n${logs.join("\n")}`).toEqual([]);
  }, 300_000);
});
