// Kubernetes resources that deploy a pushed plugin: Istio's WasmPlugin
// (extensions.istio.io/v1alpha1) and Envoy Gateway's EnvoyExtensionPolicy
// (gateway.envoyproxy.io/v1alpha1). Inputs are checked against the WasmPlugin CRD's own rules
// (enums, patterns, CEL rules) so what we write is what the API server accepts.
import { UserError } from "../errors.js";

/** WasmPlugin.spec.phase values. */
export const PHASES = ["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"] as const;
/** WasmPlugin.spec.failStrategy values. */
export const FAIL_STRATEGIES = ["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"] as const;
/** WasmPlugin.spec.imagePullPolicy values. */
export const PULL_POLICIES = ["UNSPECIFIED_POLICY", "IfNotPresent", "Always"] as const;
/** WasmPlugin.spec.match[].mode values. */
export const MATCH_MODES = ["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"] as const;
/** WasmPlugin.spec.type values. */
export const PLUGIN_TYPES = ["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"] as const;

/** A policy target (Gateway API PolicyTargetReference). */
export interface TargetRef {
  group: string;
  kind: string;
  name: string;
}

/** One traffic selector of `spec.match`. */
export interface TrafficMatch {
  mode?: (typeof MATCH_MODES)[number];
  ports?: number[];
}

/** One VM environment variable: inline value or taken from the proxy's own environment. */
export interface VmEnv {
  name: string;
  value?: string;
  valueFrom?: "INLINE" | "HOST";
}

/** Everything a deployment manifest says about a plugin. */
export interface PluginDeployment {
  /** `metadata.name`. */
  name: string;
  namespace?: string;
  /** `oci://host/repo:tag`, `https://…/plugin.wasm` or `file:///…`. */
  url: string;
  /**
   * For `oci://`: the manifest digest; for `http(s)://`: the module's sha256. Hex or `sha256:<hex>`.
   */
  sha256?: string;
  /** Envoy root_id. */
  pluginName?: string;
  /** UNSPECIFIED and UNSPECIFIED_PHASE mean the same; each kind writes its own spelling. */
  phase?: (typeof PHASES)[number] | "UNSPECIFIED";
  priority?: number;
  selector?: Record<string, string>;
  targetRefs?: TargetRef[];
  pluginConfig?: Record<string, unknown>;
  failStrategy?: (typeof FAIL_STRATEGIES)[number];
  imagePullPolicy?: (typeof PULL_POLICIES)[number];
  imagePullSecret?: string;
  match?: TrafficMatch[];
  env?: VmEnv[];
  type?: (typeof PLUGIN_TYPES)[number];
}

/** A Kubernetes object, ready to be written as YAML. */
export interface KubeResource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** Group a target kind lives in, when the user gives only `Kind/name`. */
export const KNOWN_TARGET_GROUPS: Record<string, string> = {
  Gateway: "gateway.networking.k8s.io",
  GatewayClass: "gateway.networking.k8s.io",
  HTTPRoute: "gateway.networking.k8s.io",
  GRPCRoute: "gateway.networking.k8s.io",
  TCPRoute: "gateway.networking.k8s.io",
  UDPRoute: "gateway.networking.k8s.io",
  TLSRoute: "gateway.networking.k8s.io",
  Service: "",
  ServiceEntry: "networking.istio.io",
};

/** Kinds Istio's WasmPlugin may target. */
export const ISTIO_TARGET_KINDS = new Set(["Gateway", "GatewayClass", "Service", "ServiceEntry"]);

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

/** Parses `Kind/name` or `group/Kind/name` (group may be empty: `/Service/name`). */
export function parseTargetRef(spec: string): TargetRef {
  const parts = spec.split("/");
  let group: string | undefined;
  let kind: string;
  let name: string;
  if (parts.length === 2) [kind, name] = parts as [string, string];
  else if (parts.length === 3) [group, kind, name] = parts as [string, string, string];
  else throw new UserError(`--target-ref must be Kind/name or group/Kind/name, got '${spec}'`);
  if (group === undefined) {
    group = KNOWN_TARGET_GROUPS[kind];
    if (group === undefined) throw new UserError(`--target-ref ${spec}: unknown kind ${kind}; give its group as group/${kind}/${name}`);
  }
  if (!KIND.test(kind) || kind.length > 63) throw new UserError(`--target-ref ${spec}: bad kind '${kind}'`);
  if (!GROUP.test(group) || group.length > 253) throw new UserError(`--target-ref ${spec}: bad group '${group}'`);
  if (!name || name.length > 253) throw new UserError(`--target-ref ${spec}: name must be 1-253 characters`);
  return { group, kind, name };
}

/** Parses `--match MODE[:port,port…]` (MODE may be empty: `:8080`). */
export function parseMatch(spec: string): TrafficMatch {
  const [modeText, portsText] = spec.includes(":") ? [spec.slice(0, spec.indexOf(":")), spec.slice(spec.indexOf(":") + 1)] : [spec, ""];
  const out: TrafficMatch = {};
  if (modeText) {
    const mode = modeText.toUpperCase();
    if (!(MATCH_MODES as readonly string[]).includes(mode)) throw new UserError(`--match ${spec}: mode must be one of ${MATCH_MODES.join(", ")}`);
    out.mode = mode as TrafficMatch["mode"];
  }
  if (portsText) {
    out.ports = portsText.split(",").map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UserError(`--match ${spec}: port '${p}' is not 1-65535`);
      return n;
    });
    if (new Set(out.ports).size !== out.ports.length) throw new UserError(`--match ${spec}: a port is listed twice`);
  }
  if (!out.mode && !out.ports) throw new UserError(`--match needs a mode or ports, got '${spec}'`);
  return out;
}

/** `sha256:<hex>` or `<hex>` → lower-case hex; throws for anything else. */
export function normalizeSha256(value: string): string {
  const hex = (value.startsWith("sha256:") ? value.slice(7) : value).toLowerCase();
  if (!/^[a-f0-9]{64}$/.test(hex)) throw new UserError(`sha256 must be 64 hex digits (optionally prefixed sha256:), got '${value}'`);
  return hex;
}

/** A DNS-1123 name from free text (e.g. a repository's last path component). */
export function kubeName(text: string): string {
  const n = text.toLowerCase().replace(/[^a-z0-9-.]+/g, "-").replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "").slice(0, 253);
  return n || "wasm-plugin";
}

function schemeOf(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url);
  return m ? m[1]!.toLowerCase() : "";
}

/** The `@sha256:<hex>` pinned in an oci URL, if any. */
function urlDigest(url: string): string | undefined {
  return /@sha256:([a-f0-9]{64})$/.exec(url)?.[1];
}

/** Checks a deployment against the WasmPlugin CRD's rules; throws UserError naming the option. */
export function checkDeployment(d: PluginDeployment): void {
  if (!d.name || d.name.length > 253 || !DNS1123_SUBDOMAIN.test(d.name)) throw new UserError(`--name '${d.name}' is not a valid Kubernetes name (lower-case DNS-1123 subdomain)`);
  if (d.namespace !== undefined && (!DNS1123_LABEL.test(d.namespace) || d.namespace.length > 63)) throw new UserError(`--namespace '${d.namespace}' is not a valid namespace name`);
  if (!d.url) throw new UserError("the plugin URL is empty");
  const scheme = schemeOf(d.url);
  if (!["", "oci", "http", "https", "file"].includes(scheme)) throw new UserError(`url must have scheme oci, http, https or file, got '${scheme}://'`);
  if (d.sha256 !== undefined) {
    const hex = normalizeSha256(d.sha256);
    const pinned = urlDigest(d.url);
    if (pinned && pinned !== hex) throw new UserError(`the URL pins sha256:${pinned} but sha256 is ${hex}: Istio requires both to agree`);
  }
  const targets = (d.selector ? 1 : 0) + (d.targetRefs?.length ? 1 : 0);
  if (targets > 1) throw new UserError("give either --selector or --target-ref, not both (WasmPlugin allows only one)");
  if (d.targetRefs && d.targetRefs.length > 16) throw new UserError("at most 16 --target-ref");
  for (const [k, v] of Object.entries(d.selector ?? {})) {
    if (!k) throw new UserError("--selector: a label key must not be empty");
    if (k.includes("*") || v.includes("*")) throw new UserError(`--selector ${k}=${v}: wildcards are not allowed`);
    if (v.length > 63) throw new UserError(`--selector ${k}: label values are at most 63 characters`);
  }
  if (d.pluginName !== undefined && (d.pluginName.length < 1 || d.pluginName.length > 256)) throw new UserError("--root-id must be 1-256 characters");
  if (d.imagePullSecret !== undefined && (d.imagePullSecret.length < 1 || d.imagePullSecret.length > 253)) throw new UserError("--pull-secret must be 1-253 characters");
  if (d.priority !== undefined && (!Number.isInteger(d.priority) || d.priority < -(2 ** 31) || d.priority >= 2 ** 31)) throw new UserError("--priority must be a 32-bit integer");
  const names = new Set<string>();
  for (const e of d.env ?? []) {
    if (!e.name || e.name.length > 256) throw new UserError(`env name '${e.name}' must be 1-256 characters`);
    if (names.has(e.name)) throw new UserError(`env ${e.name} is given twice`);
    names.add(e.name);
    if (e.valueFrom === "HOST" && e.value !== undefined) throw new UserError(`env ${e.name}: a HOST variable takes no value`);
    if (e.value !== undefined && e.value.length > 2048) throw new UserError(`env ${e.name}: value longer than 2048 characters`);
  }
  if ((d.env?.length ?? 0) > 256) throw new UserError("at most 256 env variables");
  const ports = (d.match ?? []).flatMap((m) => m.ports ?? []);
  if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new UserError("match ports must be 1-65535");
}

/** `metadata`: name and, when given, namespace. */
export function metadata(d: PluginDeployment): KubeResource["metadata"] {
  return { name: d.name, ...(d.namespace ? { namespace: d.namespace } : {}) };
}

/** `spec.match` (WasmPlugin) / `spec.match` (TrafficExtension): the same shape in both. */
export function matchSpec(match: TrafficMatch[]): Array<Record<string, unknown>> {
  return match.map((m) => ({ ...(m.mode ? { mode: m.mode } : {}), ...(m.ports ? { ports: m.ports.map((number) => ({ number })) } : {}) }));
}

/** `vmConfig` with its env list: a HOST variable names no value. */
export function vmConfigSpec(env: VmEnv[]): Record<string, unknown> {
  return { env: env.map((e) => (e.valueFrom === "HOST" ? { name: e.name, valueFrom: "HOST" } : { name: e.name, value: e.value ?? "" })) };
}

/** The WasmPlugin resource. */
export function wasmPluginResource(d: PluginDeployment): KubeResource {
  checkDeployment(d);
  const spec: Record<string, unknown> = {};
  if (d.selector) spec.selector = { matchLabels: d.selector };
  if (d.targetRefs?.length) spec.targetRefs = d.targetRefs.map((t) => ({ group: t.group, kind: t.kind, name: t.name }));
  spec.url = d.url;
  if (d.sha256 !== undefined) spec.sha256 = normalizeSha256(d.sha256);
  if (d.imagePullPolicy) spec.imagePullPolicy = d.imagePullPolicy;
  if (d.imagePullSecret) spec.imagePullSecret = d.imagePullSecret;
  if (d.pluginName) spec.pluginName = d.pluginName;
  if (d.phase) spec.phase = d.phase === "UNSPECIFIED" ? "UNSPECIFIED_PHASE" : d.phase;
  if (d.priority !== undefined) spec.priority = d.priority;
  if (d.failStrategy) spec.failStrategy = d.failStrategy;
  if (d.type) spec.type = d.type;
  if (d.match?.length) spec.match = matchSpec(d.match);
  if (d.env?.length) spec.vmConfig = vmConfigSpec(d.env);
  if (d.pluginConfig) spec.pluginConfig = d.pluginConfig;
  return { apiVersion: "extensions.istio.io/v1alpha1", kind: "WasmPlugin", metadata: metadata(d), spec };
}

/** Kinds an EnvoyExtensionPolicy may target. */
export const ENVOY_GATEWAY_TARGET_KINDS = new Set(["Gateway", "HTTPRoute", "GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute"]);

/**
 * The Envoy Gateway EnvoyExtensionPolicy. Fields without an Envoy Gateway equivalent are listed
 * in `warnings` instead of being dropped silently.
 */
export function envoyExtensionPolicyResource(d: PluginDeployment): { resource: KubeResource; warnings: string[] } {
  checkDeployment(d);
  const warnings: string[] = [];
  const targets = d.targetRefs ?? [];
  if (!targets.length) throw new UserError("an EnvoyExtensionPolicy needs --target-ref (e.g. Gateway/eg or HTTPRoute/backend); --selector has no Envoy Gateway equivalent");
  for (const t of targets) {
    if (t.group !== "gateway.networking.k8s.io" || !ENVOY_GATEWAY_TARGET_KINDS.has(t.kind)) {
      throw new UserError(`an EnvoyExtensionPolicy cannot target ${t.group ? `${t.group}/` : ""}${t.kind}/${t.name} (Gateway API Gateway or routes only)`);
    }
  }
  const scheme = schemeOf(d.url);
  const sha = d.sha256 !== undefined ? normalizeSha256(d.sha256) : undefined;
  let code: Record<string, unknown>;
  if (scheme === "http" || scheme === "https") {
    code = { type: "HTTP", http: { url: d.url, ...(sha ? { sha256: sha } : {}) } };
    if (d.imagePullSecret) warnings.push("--pull-secret applies to images only; ignored for an http(s) URL");
  } else if (scheme === "oci" || scheme === "") {
    const image: Record<string, unknown> = { url: d.url.replace(/^oci:\/\//i, ""), ...(sha ? { sha256: sha } : {}) };
    if (d.imagePullSecret) image.pullSecretRef = { group: "", kind: "Secret", name: d.imagePullSecret };
    code = { type: "Image", image };
  } else {
    throw new UserError(`Envoy Gateway loads plugins from oci:// or http(s):// only, not ${scheme}://`);
  }
  if (d.imagePullPolicy && d.imagePullPolicy !== "UNSPECIFIED_POLICY") code.pullPolicy = d.imagePullPolicy;
  const wasm: Record<string, unknown> = { name: d.name };
  if (d.pluginName) wasm.rootID = d.pluginName;
  wasm.code = code;
  if (d.pluginConfig) wasm.config = d.pluginConfig;
  if (d.failStrategy === "FAIL_OPEN") wasm.failOpen = true;
  if (d.failStrategy === "FAIL_RELOAD") warnings.push("failStrategy FAIL_RELOAD has no Envoy Gateway equivalent (failOpen: false)");
  const hostKeys = (d.env ?? []).filter((e) => e.valueFrom === "HOST").map((e) => e.name);
  if (hostKeys.length) wasm.env = { hostKeys };
  if ((d.env ?? []).some((e) => e.valueFrom !== "HOST")) warnings.push("inline --env values have no Envoy Gateway equivalent (only --host-env)");
  if (d.phase && d.phase !== "UNSPECIFIED_PHASE") warnings.push("--phase has no Envoy Gateway equivalent (the filter goes before the router)");
  if (d.priority !== undefined) warnings.push("--priority has no Envoy Gateway equivalent (order follows spec.wasm)");
  if (d.match?.length) warnings.push("--match has no Envoy Gateway equivalent");
  if (d.type === "NETWORK") warnings.push("Envoy Gateway runs Wasm as HTTP filters only; --type NETWORK ignored");
  return {
    resource: { apiVersion: "gateway.envoyproxy.io/v1alpha1", kind: "EnvoyExtensionPolicy", metadata: metadata(d), spec: { targetRefs: targets, wasm: [wasm] } },
    warnings,
  };
}
