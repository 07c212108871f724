// Differential scenarios of Istio's telemetry: metadata-exchange + stats in two sidecars, over HTTP,
// gRPC and TCP (suite.ts says how they are compared).
import { ISTIO_GRPC_SCENARIOS, ISTIO_SCENARIOS, ISTIO_TCP_SCENARIOS, STAT_NAMES_PROJECT } from "./scenarios/istio.js";
import { differentialSuite } from "./suite.js";

differentialSuite("istio", [...ISTIO_SCENARIOS, ...ISTIO_GRPC_SCENARIOS, ...ISTIO_TCP_SCENARIOS], { projects: [STAT_NAMES_PROJECT] });
