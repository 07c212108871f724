// pwasm/envoy: Envoy bootstraps for plugins, a real Envoy (a local binary or a container) to run
// them in, and the differential runner that plays one scenario on the embedded dev proxy and on
// Envoy and reports every difference a plugin author could observe. It sits beside cli/envoy/ so
// that folder and its differential/ subfolder import each other one way only.
export {
  envoyBootstrap, bootstrapYaml, pluginConfig, DEFAULT_WASM_RUNTIME,
  type EnvoyBootstrap, type EnvoyBootstrapOptions, type EnvoyPlugin, type EnvoyNode, type EnvoyFilterKind, type Json, type JsonMap,
} from "./envoy/bootstrap.js";
export { detectContainerEngine, type ContainerEngine, type EngineProbe } from "./envoy/engine.js";
export { startEnvoyContainer, DEFAULT_ENVOY_IMAGE, type EnvoyContainer, type EnvoyContainerOptions } from "./envoy/container.js";
export { findLocalEnvoy, startLocalEnvoy, type LocalEnvoy, type LocalEnvoyOptions } from "./envoy/local_envoy.js";
export { chooseEnvoy, startEnvoy, describeEnvoyTarget, type EnvoyTarget, type EnvoyChoice, type StartEnvoyOptions } from "./envoy/launch.js";
export type { RunningEnvoy } from "./envoy/instance.js";
export { buildEnvoyImage } from "./envoy/local_image.js";
export type {
  Scenario, ScenarioProxy, ScenarioStep, ScenarioRequest, HttpExpect, ScenarioObservation, StepObservation, HeaderList,
} from "./envoy/differential/scenario.js";
export { runScenario, type ScenarioRun } from "./envoy/differential/run.js";
export { embeddedTarget, envoyScenarioTarget, type ScenarioTarget } from "./envoy/differential/targets.js";
export {
  compareObservations, expectationFailures, applyIntentional, countByClass, type Difference, type IntentionalDifference,
} from "./envoy/differential/compare.js";
export { INTENTIONAL_DIFFERENCES } from "./envoy/differential/intentional_differences.js";
export { EnvoyAgent, type EnvoyAgentOptions, type AgentEvents } from "./envoy/agent.js";
