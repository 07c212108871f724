// Differential scenarios of properties: a probe plugin reads every attribute at every phase
// (suite.ts says how they are compared).
import { HTTP_ACTIONS_PROJECT } from "./scenarios/http_fixture.js";
import { CHECKS_PROJECT } from "./scenarios/examples.js";
import { PROBE_PROJECT, PROPERTY_SCENARIOS } from "./scenarios/properties.js";
import { differentialSuite } from "./suite.js";

differentialSuite("properties", PROPERTY_SCENARIOS, { projects: [PROBE_PROJECT, CHECKS_PROJECT, HTTP_ACTIONS_PROJECT] });
