// Every differential scenario, and the fixtures they need built first.
import { join } from "node:path";
import { compileProject } from "../../../cli/build/compile.js";
import { isStale } from "../../../cli/build/stale.js";
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { CHECKS_PROJECT, EXAMPLE_SCENARIOS } from "./examples.js";
import { ISTIO_SCENARIOS, STAT_NAMES_PROJECT } from "./istio.js";
import { PROBE_PROJECT, PROPERTY_SCENARIOS } from "./properties.js";

export const SCENARIOS: Scenario[] = [...EXAMPLE_SCENARIOS, ...ISTIO_SCENARIOS, ...PROPERTY_SCENARIOS];

/** Builds the AssemblyScript fixture projects the scenarios use (examples are built by the global setup). */
export async function buildScenarioFixtures(): Promise<void> {
  for (const dir of [CHECKS_PROJECT, PROBE_PROJECT, STAT_NAMES_PROJECT]) {
    if (isStale(dir, join(dir, "build", "release.wasm"))) await compileProject({ dir, target: "release" });
  }
}
