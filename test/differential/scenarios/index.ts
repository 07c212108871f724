// Every differential scenario, and the fixtures they need built first.
import { join } from "node:path";
import { compileProject } from "../../../cli/build/compile.js";
import { isStale } from "../../../cli/build/stale.js";
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { CHECKS_PROJECT, EXAMPLE_SCENARIOS } from "./examples.js";
import { HTTP_BODY_SCENARIOS } from "./http_bodies.js";
import { HTTP_CALLOUT_SCENARIOS } from "./http_callouts.js";
import { HTTP_CHAIN_SCENARIOS } from "./http_chains.js";
import { HTTP_ACTIONS_PROJECT } from "./http_fixture.js";
import { HTTP_HEADER_SCENARIOS } from "./http_headers.js";
import { HTTP_LOCAL_REPLY_SCENARIOS } from "./http_local_replies.js";
import { HTTP_TRAILER_SCENARIOS } from "./http_trailers.js";
import { ISTIO_GRPC_SCENARIOS, ISTIO_SCENARIOS, ISTIO_TCP_SCENARIOS, STAT_NAMES_PROJECT } from "./istio.js";
import { PROBE_PROJECT, PROPERTY_SCENARIOS } from "./properties.js";
import { FAILURE_SCENARIOS } from "./failures.js";
import { LIFECYCLE_PROJECT, LIFECYCLE_SCENARIOS } from "./lifecycle.js";
import { buildOtherSdkFixtures, OTHER_SDK_SCENARIOS } from "./other_sdks.js";
import { TCP_SCENARIOS } from "./tcp.js";

export const SCENARIOS: Scenario[] = [
  ...EXAMPLE_SCENARIOS,
  ...HTTP_HEADER_SCENARIOS, ...HTTP_BODY_SCENARIOS, ...HTTP_TRAILER_SCENARIOS, ...HTTP_LOCAL_REPLY_SCENARIOS, ...HTTP_CALLOUT_SCENARIOS, ...HTTP_CHAIN_SCENARIOS,
  ...ISTIO_SCENARIOS, ...ISTIO_GRPC_SCENARIOS, ...ISTIO_TCP_SCENARIOS, ...PROPERTY_SCENARIOS,
  ...LIFECYCLE_SCENARIOS, ...FAILURE_SCENARIOS, ...TCP_SCENARIOS, ...OTHER_SDK_SCENARIOS,
];

/** Builds the AssemblyScript fixture projects the scenarios use (examples are built by the global setup). */
export async function buildScenarioFixtures(): Promise<void> {
  for (const dir of [CHECKS_PROJECT, HTTP_ACTIONS_PROJECT, PROBE_PROJECT, STAT_NAMES_PROJECT, LIFECYCLE_PROJECT]) {
    if (isStale(dir, join(dir, "build", "release.wasm"))) await compileProject({ dir, target: "release" });
  }
  await buildOtherSdkFixtures();
}
