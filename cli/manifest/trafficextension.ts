// Istio's TrafficExtension (extensions.istio.io/v1alpha1, Istio 1.30+): the resource that covers
// Wasm and Lua and supersedes WasmPlugin (istiod turns every WasmPlugin into one). The Wasm fields
// are WasmPlugin's, moved under `spec.wasm`; selection, phase, priority and match stay at the top.
// Field names and enums follow the CRD in istio.io/api v1.32.0 (docs/istio-deploy.md).
import { checkDeployment, matchSpec, metadata, normalizeSha256, vmConfigSpec, type KubeResource, type PluginDeployment } from "./wasmplugin.js";

/** TrafficExtension.spec.phase values (WasmPlugin spells the first one UNSPECIFIED_PHASE). */
export const TRAFFIC_EXTENSION_PHASES = ["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"] as const;

/** The TrafficExtension resource for a Wasm plugin. */
export function trafficExtensionResource(d: PluginDeployment): KubeResource {
  checkDeployment(d);
  const spec: Record<string, unknown> = {};
  if (d.selector) spec.selector = { matchLabels: d.selector };
  if (d.targetRefs?.length) spec.targetRefs = d.targetRefs.map((t) => ({ group: t.group, kind: t.kind, name: t.name }));
  if (d.phase) spec.phase = d.phase === "UNSPECIFIED_PHASE" ? "UNSPECIFIED" : d.phase;
  if (d.priority !== undefined) spec.priority = d.priority;
  if (d.match?.length) spec.match = matchSpec(d.match);
  const wasm: Record<string, unknown> = { url: d.url };
  if (d.sha256 !== undefined) wasm.sha256 = normalizeSha256(d.sha256);
  if (d.imagePullPolicy) wasm.imagePullPolicy = d.imagePullPolicy;
  if (d.imagePullSecret) wasm.imagePullSecret = d.imagePullSecret;
  if (d.pluginName) wasm.pluginName = d.pluginName;
  if (d.failStrategy) wasm.failStrategy = d.failStrategy;
  if (d.type) wasm.type = d.type;
  if (d.env?.length) wasm.vmConfig = vmConfigSpec(d.env);
  if (d.pluginConfig) wasm.pluginConfig = d.pluginConfig;
  spec.wasm = wasm;
  return {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "TrafficExtension",
    metadata: metadata(d),
    spec,
  };
}
