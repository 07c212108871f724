// pwasm/envoy: Envoy bootstraps for plugins, Envoy in a container, and the end-to-end mode that
// runs HTTP checks on the embedded dev proxy and on Envoy and reports every difference.
export {
  envoyBootstrap, bootstrapYaml, pluginConfig, DEFAULT_WASM_RUNTIME,
  type EnvoyBootstrap, type EnvoyBootstrapOptions, type EnvoyPlugin, type EnvoyNode, type EnvoyFilterKind, type Json, type JsonMap,
} from "./bootstrap.js";
export { detectContainerEngine, type ContainerEngine, type EngineProbe } from "./engine.js";
export { startEnvoyContainer, DEFAULT_ENVOY_IMAGE, type EnvoyContainer, type EnvoyContainerOptions } from "./container.js";
export {
  E2E_ENV, e2eMode, runScenario, expectationFailures, compareRuns, compareWithEnvoy, formatComparisons,
  launchEmbedded, envoyLauncher, pluginPrometheusLines,
  type HttpCheck, type ProxyScenario, type ScenarioRun, type Observed, type ProxyLauncher, type ProxyUnderTest, type ScenarioComparison,
} from "./e2e.js";
