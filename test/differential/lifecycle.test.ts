// Differential scenarios of the VM lifecycle, TCP filters and plugins from other SDKs (Go, C)
// (suite.ts says how they are compared).
import { LIFECYCLE_PROJECT, LIFECYCLE_SCENARIOS } from "./scenarios/lifecycle.js";
import { buildOtherSdkFixtures, OTHER_SDK_SCENARIOS } from "./scenarios/other_sdks.js";
import { TCP_SCENARIOS } from "./scenarios/tcp.js";
import { differentialSuite } from "./suite.js";

differentialSuite("lifecycle", [...LIFECYCLE_SCENARIOS, ...TCP_SCENARIOS, ...OTHER_SDK_SCENARIOS], {
  projects: [LIFECYCLE_PROJECT],
  build: buildOtherSdkFixtures,
});
