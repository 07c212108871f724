// Differential scenarios of VM failures: a trap in each callback under each failure policy
// (suite.ts says how they are compared).
import { FAILURE_SCENARIOS } from "./scenarios/failures.js";
import { LIFECYCLE_PROJECT } from "./scenarios/lifecycle.js";
import { differentialSuite } from "./suite.js";

differentialSuite("failures", FAILURE_SCENARIOS, { projects: [LIFECYCLE_PROJECT] });
