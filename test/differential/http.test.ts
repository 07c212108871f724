// Differential scenarios of the HTTP path: the examples, headers, bodies, trailers, local replies,
// callouts and chains (suite.ts says how they are compared).
import { CHECKS_PROJECT, EXAMPLE_SCENARIOS } from "./scenarios/examples.js";
import { HTTP_BODY_SCENARIOS } from "./scenarios/http_bodies.js";
import { HTTP_CALLOUT_SCENARIOS } from "./scenarios/http_callouts.js";
import { HTTP_CHAIN_SCENARIOS } from "./scenarios/http_chains.js";
import { HTTP_ACTIONS_PROJECT } from "./scenarios/http_fixture.js";
import { HTTP_HEADER_SCENARIOS } from "./scenarios/http_headers.js";
import { HTTP_LOCAL_REPLY_SCENARIOS } from "./scenarios/http_local_replies.js";
import { HTTP_TRAILER_SCENARIOS } from "./scenarios/http_trailers.js";
import { differentialSuite } from "./suite.js";

differentialSuite("http", [
  ...EXAMPLE_SCENARIOS,
  ...HTTP_HEADER_SCENARIOS, ...HTTP_BODY_SCENARIOS, ...HTTP_TRAILER_SCENARIOS, ...HTTP_LOCAL_REPLY_SCENARIOS, ...HTTP_CALLOUT_SCENARIOS, ...HTTP_CHAIN_SCENARIOS,
], { projects: [CHECKS_PROJECT, HTTP_ACTIONS_PROJECT] });
