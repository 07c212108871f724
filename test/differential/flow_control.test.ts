// Differential scenarios of flow control: the stream idle timeout as a plugin sees it (suite.ts
// says how they are compared).
import { FLOW_CONTROL_SCENARIOS } from "./scenarios/flow_control.js";
import { HTTP_ACTIONS_PROJECT } from "./scenarios/http_fixture.js";
import { differentialSuite } from "./suite.js";

differentialSuite("flow control", FLOW_CONTROL_SCENARIOS, { projects: [HTTP_ACTIONS_PROJECT] });
