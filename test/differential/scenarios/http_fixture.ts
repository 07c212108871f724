// The HTTP scenarios' fixture plugin (test/differential/fixtures/http-actions: a plugin that does
// what each request's `x-do` headers ask and logs what it sees) and the normalizations its log
// lines need.
import { join } from "node:path";
import type { EnvoyPlugin } from "../../../cli/envoy/bootstrap.js";
import type { HeaderList, Scenario, ScenarioStep } from "../../../cli/envoy/differential/scenario.js";
import { ROOT } from "../../helpers/paths.js";

/** The fixture's project directory (built by buildScenarioFixtures). */
export const HTTP_ACTIONS_PROJECT = join(ROOT, "test", "differential", "fixtures", "http-actions");
const wasm = join(HTTP_ACTIONS_PROJECT, "build", "release.wasm");

/** The fixture as one plugin of a chain, under `rootId` (actions `<rootId>/verb` are its own). */
export function actions(rootId = "actions", more: Partial<EnvoyPlugin> = {}): EnvoyPlugin {
  return { wasm, rootId, ...more };
}

/** Request headers asking the plugin for `verbs`, in order. */
export function doing(...verbs: string[]): HeaderList {
  return verbs.map((v) => ["x-do", v]);
}

/** Values in the plugin's log lines that differ by run: dates, request ids, service times. */
export const HTTP_NORMALIZE: Array<[RegExp, string]> = [
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>"],
  [/[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT/g, "<date>"],
  [/x-envoy-upstream-service-time=\d+/g, "x-envoy-upstream-service-time=<ms>"],
];

/** A scenario of the fixture alone in front of the echo upstream (`more` overrides any part). */
export function actionsScenario(name: string, steps: ScenarioStep[], more: Partial<Scenario> = {}): Scenario {
  return { name, proxies: [{ plugins: [actions()] }], normalize: HTTP_NORMALIZE, steps, ...more };
}
