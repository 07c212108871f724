// Warnings `pwasm manifest` prints before anything is applied: choices the CRD accepts but Istio
// would refuse at run time, or that behave otherwise than a user would guess. The facts behind
// each rule are in docs/istio-deploy.md.
import { ProxyWasmHost } from "../../host/host.js";
import { parseModule } from "../../host/wasm/binary.js";
import type { PluginDeployment } from "./wasmplugin.js";

/**
 * The plugin configuration text Istio hands the plugin for `pluginConfig`: istiod marshals the
 * Struct with golang/protobuf's jsonpb (compact, object keys sorted) into a StringValue. No
 * pluginConfig: an empty Any, which the plugin sees as an empty configuration.
 */
export function istioPluginConfiguration(pluginConfig: Record<string, unknown> | undefined): string {
  if (!pluginConfig || Object.keys(pluginConfig).length === 0) return "";
  return JSON.stringify(sortKeys(pluginConfig));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** Envoy's failure_policy for a failStrategy (unset is FAIL_CLOSE, the enum's zero value). */
export function istioFailurePolicy(failStrategy: PluginDeployment["failStrategy"]): "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD" {
  return failStrategy === "FAIL_OPEN" ? "FAIL_OPEN" : failStrategy === "FAIL_RELOAD" ? "FAIL_RELOAD" : "FAIL_CLOSED";
}

// Words that mark a filter whose job is to refuse traffic.
const SECURITY_WORDS = /(^|[^a-z])(auth|authn|authz|ext-?authz|jwt|oauth2?|oidc|rbac|acl|waf|firewall|security|opa|policy|allowlist|denylist|guard|signature|mtls|token|login|captcha|ratelimit|rate-limit)/i;
const NETWORK_WORDS = /(^|[^a-z])(tcp|network|l4|mysql|redis|mongo|kafka|postgres|sni)([^a-z]|$)/i;
const HTTP_CALLBACKS = ["proxy_on_request_headers", "proxy_on_response_headers", "proxy_on_request_body", "proxy_on_response_body"];
const NETWORK_CALLBACKS = ["proxy_on_new_connection", "proxy_on_downstream_data", "proxy_on_upstream_data"];

/** The URL's tag when it names one and pins no digest (`oci://host/repo:tag`; no tag means latest). */
function unpinnedTag(url: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase() ?? "";
  if (scheme !== "oci" && scheme !== "") return undefined;
  const rest = url.replace(/^oci:\/\//i, "");
  if (rest.includes("@sha256:")) return undefined;
  const last = rest.slice(rest.lastIndexOf("/") + 1);
  return last.includes(":") ? last.slice(last.indexOf(":") + 1) : "latest";
}

/** Numbers a Struct cannot carry exactly (it holds doubles), by path. */
function inexactNumbers(v: unknown, path: string, out: string[]): void {
  if (typeof v === "number" && !Number.isSafeInteger(v) && Number.isInteger(v)) out.push(`${path} (${v})`);
  else if (Array.isArray(v)) v.forEach((x, i) => inexactNumbers(x, `${path}[${i}]`, out));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) inexactNumbers(x, path ? `${path}.${k}` : k, out);
}

/** Warnings the deployment alone gives (plain sentences, no prefix), in a stable order. */
export function deploymentWarnings(d: PluginDeployment): string[] {
  const warnings: string[] = [];
  const label = [d.name, d.pluginName ?? "", d.url.replace(/^[a-z]+:\/\/[^/]*\//i, "")].join(" ");

  const tag = unpinnedTag(d.url);
  const policy = d.imagePullPolicy && d.imagePullPolicy !== "UNSPECIFIED_POLICY" ? d.imagePullPolicy : tag === "latest" ? "Always" : "IfNotPresent";
  if (tag !== undefined && d.sha256 === undefined && policy === "IfNotPresent") {
    warnings.push(
      `tag :${tag} without a digest and pullPolicy IfNotPresent${d.imagePullPolicy ? "" : " (Istio's default for a tag other than latest)"}: ` +
        "a proxy that already pulled the tag keeps its module when the tag moves, others get the new one; pin the digest (--pin, or let pwasm resolve it) or use --pull-policy Always",
    );
  }

  if (d.failStrategy === "FAIL_OPEN" && (SECURITY_WORDS.test(label) || d.phase === "AUTHN" || d.phase === "AUTHZ")) {
    warnings.push(
      `FAIL_OPEN on what looks like a security filter (${SECURITY_WORDS.test(label) ? `name '${d.pluginName ?? d.name}'` : `phase ${d.phase}`}): ` +
        "when the module cannot be fetched Istio installs an allow-all RBAC filter in its place, and when the VM fails requests pass unchecked; use FAIL_CLOSE unless that is intended",
    );
  }

  const network = d.type === "NETWORK";
  if (network && d.phase && d.phase !== "UNSPECIFIED" && d.phase !== "UNSPECIFIED_PHASE") {
    warnings.push(
      `a NETWORK plugin in phase ${d.phase}: Istio orders network plugins by phase only among network filters, which run before the HTTP connection manager — ` +
        "on an HTTP port the plugin sees the bytes before every HTTP filter (Istio's authentication and authorization included)",
    );
  }
  if (!network && NETWORK_WORDS.test(label)) {
    warnings.push(`'${d.pluginName ?? d.name}' looks like a network (TCP) plugin but type is ${d.type ?? "unset"}: Istio installs it as an HTTP filter; give --type NETWORK if it is one`);
  }

  const inexact: string[] = [];
  inexactNumbers(d.pluginConfig, "", inexact);
  if (inexact.length) warnings.push(`pluginConfig numbers beyond 2^53 reach the plugin rounded (Istio carries pluginConfig as a protobuf Struct of doubles): ${inexact.join(", ")}; write them as strings`);
  return warnings;
}

/**
 * Warnings the module gives, when it is at hand (`--wasm`): the callbacks it exports against the
 * plugin type, and whether it takes the configuration in the form Istio sends it (started in
 * pwasm's host with that configuration, as Envoy would start it).
 */
export async function moduleWarnings(d: PluginDeployment, module: Uint8Array): Promise<string[]> {
  const warnings: string[] = [];
  const network = d.type === "NETWORK";
  let exports: Set<string>;
  try {
    exports = new Set(parseModule(module).exports.map((e) => e.name));
  } catch {
    return warnings; // not a module: the caller already refused it
  }
  if (!network && !HTTP_CALLBACKS.some((c) => exports.has(c)) && NETWORK_CALLBACKS.some((c) => exports.has(c))) {
    warnings.push("the module exports no HTTP callbacks, only TCP ones, but Istio installs it as an HTTP filter (type defaults to HTTP); give --type NETWORK");
  }
  if (network && !NETWORK_CALLBACKS.some((c) => exports.has(c)) && HTTP_CALLBACKS.some((c) => exports.has(c))) {
    warnings.push("type NETWORK, but the module exports only HTTP callbacks: as a network filter it will see no requests");
  }
  const configuration = istioPluginConfiguration(d.pluginConfig);
  // The plugin's own words about the refusal (warning and above) make the reason.
  const said: string[] = [];
  const host = new ProxyWasmHost({ logLevel: "warn", keepLogs: false, onLog: (e) => said.push(e.message) });
  try {
    const env = Object.fromEntries((d.env ?? []).filter((e) => e.valueFrom !== "HOST").map((e) => [e.name, e.value ?? ""]));
    await host.loadPlugin(module, { rootId: d.pluginName ?? "", configuration, environment: env });
  } catch (err) {
    const shown = configuration.length > 80 ? `${configuration.slice(0, 77)}…` : configuration;
    warnings.push(
      `the plugin refuses the configuration Istio would pass it (${configuration ? `the JSON text ${shown}` : "an empty configuration"}; ` +
        `Istio always sends pluginConfig as JSON): ${[(err as Error).message.split("\n")[0], ...said.slice(-1)].join("; plugin says: ")}`,
    );
  } finally {
    host.shutdown();
  }
  return warnings;
}
