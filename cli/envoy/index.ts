// pwasm/envoy: Envoy bootstraps for plugins, a real Envoy (a local binary or a container) to run
// them in, and the differential runner that plays one scenario on the embedded dev proxy and on
// Envoy and reports every difference a plugin author could observe.
export {
  envoyBootstrap, bootstrapYaml, pluginConfig, DEFAULT_WASM_RUNTIME,
  type EnvoyBootstrap, type EnvoyBootstrapOptions, type EnvoyPlugin, type EnvoyNode, type EnvoyFilterKind, type Json, type JsonMap,
} from "./bootstrap.js";
export { detectContainerEngine, type ContainerEngine, type EngineProbe } from "./engine.js";
export { startEnvoyContainer, DEFAULT_ENVOY_IMAGE, type EnvoyContainer, type EnvoyContainerOptions } from "./container.js";
export { findLocalEnvoy, startLocalEnvoy, type LocalEnvoy, type LocalEnvoyOptions } from "./local_envoy.js";
export { chooseEnvoy, startEnvoy, describeEnvoyTarget, type EnvoyTarget, type EnvoyChoice, type StartEnvoyOptions } from "./launch.js";
export type { RunningEnvoy } from "./instance.js";
export { buildEnvoyImage } from "./local_image.js";
export type {
  Scenario, ScenarioProxy, ScenarioStep, ScenarioRequest, HttpExpect, ScenarioObservation, StepObservation, HeaderList,
} from "./differential/scenario.js";
export { runScenario, type ScenarioRun } from "./differential/run.js";
export { embeddedTarget, envoyScenarioTarget, type ScenarioTarget } from "./differential/targets.js";
export {
  compareObservations, expectationFailures, applyIntentional, countByClass, type Difference, type IntentionalDifference,
} from "./differential/compare.js";
export { INTENTIONAL_DIFFERENCES } from "./differential/intentional_differences.js";
export { EnvoyAgent, type EnvoyAgentOptions, type AgentEvents } from "./agent.js";
