// Command-line options that describe a deployment (shared by `pwasm manifest` and
// `pwasm push --manifest`), and turning them into resources.
import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { parse as parseYaml } from "yaml";
import { UserError } from "../errors.js";
import { keyValue, repeatable } from "../options.js";
import { toYaml } from "./render.js";
import { trafficExtensionResource } from "./trafficextension.js";
import { deploymentWarnings } from "./warnings.js";
import {
  envoyExtensionPolicyResource,
  FAIL_STRATEGIES,
  ISTIO_TARGET_KINDS,
  parseMatch,
  parseTargetRef,
  PHASES,
  PLUGIN_TYPES,
  PULL_POLICIES,
  wasmPluginResource,
  type KubeResource,
  type PluginDeployment,
  type VmEnv,
} from "./wasmplugin.js";

/** Which resources to write: Istio's WasmPlugin or TrafficExtension, Envoy Gateway's EnvoyExtensionPolicy. */
export type ManifestKind = "WasmPlugin" | "TrafficExtension" | "EnvoyExtensionPolicy";
/** @deprecated the old name of {@link ManifestKind}. */
export type ManifestTarget = ManifestKind;
/** Every kind, in the order they are written. */
export const MANIFEST_KINDS: readonly ManifestKind[] = ["WasmPlugin", "TrafficExtension", "EnvoyExtensionPolicy"];

/** Parsed deployment options. */
export interface ManifestCliOptions {
  name?: string;
  namespace?: string;
  rootId?: string;
  phase?: PluginDeployment["phase"];
  priority?: string;
  selector?: string[];
  targetRef?: string[];
  pluginConfig?: string;
  failStrategy?: PluginDeployment["failStrategy"];
  pullPolicy?: PluginDeployment["imagePullPolicy"];
  pullSecret?: string;
  match?: string[];
  env?: string[];
  hostEnv?: string[];
  type?: PluginDeployment["type"];
  for?: string;
}

/** Adds the deployment options to a command. `rootId` is left out when the command defines it. */
export function addManifestOptions(cmd: Command, options: { rootId?: boolean } = {}): Command {
  cmd
    .option("--name <name>", "metadata.name (default: the repository's last path component)")
    .option("-n, --namespace <ns>", "metadata.namespace");
  if (options.rootId !== false) cmd.option("--root-id <id>", "pluginName: the root id the plugin registers (Envoy root_id)");
  return cmd
    .addOption(new Option("--phase <phase>", "where in the filter chain (UNSPECIFIED and UNSPECIFIED_PHASE are the same)").choices([...PHASES, "UNSPECIFIED"]))
    .option("--priority <n>", "order within the phase (higher first)")
    .addOption(repeatable("--selector <key=value>", "pod label to select (matchLabels)"))
    .addOption(repeatable("--target-ref <[group/]Kind/name>", "policy target, e.g. Gateway/ingress"))
    .option("--plugin-config <file>", "pluginConfig from a JSON or YAML file (an object)")
    .addOption(new Option("--fail-strategy <s>", "what Istio does when the plugin cannot be fetched or fails").choices(FAIL_STRATEGIES))
    .addOption(new Option("--pull-policy <p>", "imagePullPolicy").choices(PULL_POLICIES))
    .option("--pull-secret <name>", "imagePullSecret: a kubernetes.io/dockerconfigjson Secret in the namespace")
    .addOption(repeatable("--match <MODE[:port,…]>", "traffic to apply to, e.g. SERVER or CLIENT:8080,8443"))
    .addOption(repeatable("--env <NAME=VALUE>", "VM environment variable with an inline value"))
    .addOption(repeatable("--host-env <NAME>", "VM environment variable taken from the proxy's environment"))
    .addOption(new Option("--type <type>", "plugin type").choices(PLUGIN_TYPES))
    .option("--kind <kinds>", "resources to write, comma-separated: WasmPlugin, TrafficExtension (Istio 1.30+), EnvoyExtensionPolicy (default: WasmPlugin)")
    .option("--for <targets>", "older spelling of --kind: istio (WasmPlugin), envoy-gateway (EnvoyExtensionPolicy) or both", "istio")
    .hook("preAction", (command) => {
      // One option value for both spellings: commands read `for` (parseTargets).
      const kind = command.getOptionValue("kind") as string | undefined;
      if (kind === undefined) return;
      if (command.getOptionValueSource("for") === "cli") throw new UserError("give --kind or --for, not both");
      command.setOptionValue("for", kind);
    });
}

/** Reads `--plugin-config`: JSON or YAML holding an object. */
export async function readPluginConfig(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UserError(`--plugin-config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text); // YAML 1.2 is a superset of JSON
  } catch (err) {
    throw new UserError(`--plugin-config: ${path} is neither JSON nor YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new UserError(`--plugin-config: ${path} must hold an object (a mapping), as WasmPlugin.pluginConfig is`);
  return value as Record<string, unknown>;
}

/** Parses `--kind` (or its older spelling `--for`): kind names, case-insensitive, or their aliases. */
export function parseTargets(text = "WasmPlugin"): ManifestKind[] {
  const out = new Set<ManifestKind>();
  for (const t of text.split(",").map((s) => s.trim().toLowerCase())) {
    if (t === "istio" || t === "wasmplugin") out.add("WasmPlugin");
    else if (t === "trafficextension" || t === "te") out.add("TrafficExtension");
    else if (t === "envoy-gateway" || t === "eg" || t === "envoyextensionpolicy") out.add("EnvoyExtensionPolicy");
    else if (t === "both" || t === "all") {
      out.add("WasmPlugin");
      out.add("EnvoyExtensionPolicy");
    } else throw new UserError(`--kind: expected WasmPlugin, TrafficExtension or EnvoyExtensionPolicy (comma-separated), got '${t}'`);
  }
  return MANIFEST_KINDS.filter((k) => out.has(k));
}

/** Builds the deployment from options plus what the caller knows (URL, digest, default name). */
export async function deploymentFromOptions(o: ManifestCliOptions, known: { url: string; sha256?: string; defaultName: string }): Promise<PluginDeployment> {
  let priority: number | undefined;
  if (o.priority !== undefined) {
    priority = Number(o.priority);
    if (!Number.isInteger(priority)) throw new UserError(`--priority must be an integer, got '${o.priority}'`);
  }
  const selector = o.selector?.length ? Object.fromEntries(o.selector.map((s) => keyValue(s, "--selector"))) : undefined;
  const env: VmEnv[] = [
    ...(o.env ?? []).map((e) => {
      const [name, value] = keyValue(e, "--env", "NAME=VALUE");
      return { name, value, valueFrom: "INLINE" as const };
    }),
    ...(o.hostEnv ?? []).map((name) => ({ name, valueFrom: "HOST" as const })),
  ];
  return {
    name: o.name ?? known.defaultName,
    namespace: o.namespace,
    url: known.url,
    sha256: known.sha256,
    pluginName: o.rootId,
    phase: o.phase,
    priority,
    selector,
    targetRefs: o.targetRef?.map(parseTargetRef),
    pluginConfig: o.pluginConfig ? await readPluginConfig(o.pluginConfig) : undefined,
    failStrategy: o.failStrategy,
    imagePullPolicy: o.pullPolicy,
    imagePullSecret: o.pullSecret,
    match: o.match?.map(parseMatch),
    env: env.length ? env : undefined,
    type: o.type,
  };
}

/** The resources of the kinds, as YAML, with warnings: options a kind cannot express, and choices Istio would refuse or that would surprise. */
export function renderDeployment(d: PluginDeployment, kinds: ManifestKind[]): { yaml: string; resources: KubeResource[]; warnings: string[] } {
  const resources: KubeResource[] = [];
  const warnings: string[] = [];
  const istio = kinds.filter((k) => k !== "EnvoyExtensionPolicy");
  for (const kind of istio) {
    resources.push(kind === "WasmPlugin" ? wasmPluginResource(d) : trafficExtensionResource(d));
    for (const t of d.targetRefs ?? []) {
      if (!ISTIO_TARGET_KINDS.has(t.kind)) warnings.push(`${kind}: Istio targets Gateway, GatewayClass, Service or ServiceEntry, not ${t.kind}`);
    }
  }
  if (istio.length) warnings.push(...deploymentWarnings(d).map((w) => `${istio.join(", ")}: ${w}`));
  if (kinds.includes("EnvoyExtensionPolicy")) {
    const eg = envoyExtensionPolicyResource(d);
    resources.push(eg.resource);
    warnings.push(...eg.warnings.map((w) => `EnvoyExtensionPolicy: ${w}`));
  }
  return { yaml: toYaml(resources), resources, warnings };
}
