// An Envoy v3 bootstrap that runs plugins the way the dev proxy does: one listener, the plugins as
// a filter chain (envoy.filters.http.wasm before the router; envoy.filters.network.wasm for TCP
// plugins), a route to the upstream or a direct response, one cluster per callout target, an admin
// listener, and the node Istio plugins read. It takes the dev proxy's own options, so `pwasm run`
// and `pwasm run --envoy` are configured from one place.
import { isIP } from "node:net";
import { basename, resolve } from "node:path";
import { stringify } from "yaml";
import { ISTIO_STANDARD_TAGS } from "../../host/istio/tag_extractor.js";
import { DEFAULT_STREAM_IDLE_TIMEOUT_MS, type DevProxyOptions, type DevProxyPlugin } from "../../host/proxy/dev_proxy.js";
import { isLocalInfoPin, localInfoWithPins } from "../../host/services/property_pins.js";
import type { FailurePolicy } from "../../host/vm/runtime.js";
import { UserError } from "../errors.js";
import { httpUrl } from "../options.js";

/** A JSON value, as Envoy parses a bootstrap. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonMap = { [key: string]: Json };

/** Where a plugin sits: an HTTP filter (default) or a network (TCP) filter, as Istio's WasmPlugin `type`. */
export type EnvoyFilterKind = "http" | "network";

/** One plugin of the chain, with what only Envoy needs. */
export interface EnvoyPlugin extends DevProxyPlugin {
  type?: EnvoyFilterKind;
  /** FAIL_RELOAD backoff base interval in ms (Envoy `reload_config.backoff.base_interval`; default 1 s). */
  reloadBackoffMs?: number;
}

/** envoy.config.core.v3.Node: what `node` / `xds.node` answer (Istio reads metadata). */
export interface EnvoyNode {
  id?: string;
  cluster?: string;
  /** google.protobuf.Struct, as JSON. */
  metadata?: JsonMap;
  locality?: { region?: string; zone?: string; subZone?: string };
}

/** The dev proxy's options, plus what only an Envoy bootstrap needs. */
export interface EnvoyBootstrapOptions extends DevProxyOptions {
  plugins: EnvoyPlugin[];
  /** Where Envoy reads plugin `i`'s .wasm (e.g. a path inside a container). Default: its absolute local path. */
  wasmPath?: (plugin: EnvoyPlugin, index: number) => string;
  /** An access log line per request on Envoy's stdout, in its default format (the stdout access logger). */
  accessLog?: boolean;
  /** Wasm runtime; default envoy.wasm.runtime.v8 (the one in Envoy's release images). */
  runtime?: string;
  /** The node; `node.*` and `node.metadata.*` properties are folded in. */
  node?: EnvoyNode;
  /** Listener direction (the `listener_direction` property): inbound (1) or outbound (2). */
  listenerDirection?: "inbound" | "outbound" | "unspecified" | number;
  /** Listener metadata by filter namespace (`listener_metadata`). */
  listenerMetadata?: Record<string, JsonMap>;
  /**
   * Serve each Wasm filter through extension config discovery (ECDS) from a file in this directory
   * (as Envoy sees it), `<dir>/<ecdsResourceFile(i)>`, watched by Envoy, so a plugin can be replaced
   * while Envoy runs (cli/envoy/ecds.ts writes the files). Default: the plugins are inline.
   */
  ecdsDir?: string;
  /**
   * Host that replaces loopback hosts in upstream and cluster URLs: Envoy in a container on a
   * bridge network reaches the machine's loopback services as e.g. host.docker.internal.
   */
  loopbackHost?: string;
}

/** A generated bootstrap and what could not be expressed in it. */
export interface EnvoyBootstrap {
  /** The bootstrap (envoy.config.bootstrap.v3.Bootstrap) as JSON, field names as in the protos. */
  config: JsonMap;
  /** Settings the dev proxy honours that have no static Envoy equivalent (one line each). */
  warnings: string[];
}

/** Envoy's Wasm runtime in its release images. */
export const DEFAULT_WASM_RUNTIME = "envoy.wasm.runtime.v8";
/** The dev proxy's failure policy when none is given; written explicitly (Envoy's own default is FAIL_CLOSED). */
const DEFAULT_FAILURE_POLICY: FailurePolicy = "FAIL_RELOAD";
/** Cluster the route sends requests to (the dev proxy reports the same name in `xds.cluster_name`). */
export const UPSTREAM_CLUSTER = "upstream";
/** Names of the listener and route, as the dev proxy reports them in properties. */
const LISTENER_NAME = "pwasm_listener";
const ROUTE_CONFIG_NAME = "local_route";

const TYPE = {
  hcm: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  stdoutAccessLog: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
  httpWasm: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
  networkWasm: "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
  router: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
  tcpProxy: "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
  directResponse: "type.googleapis.com/envoy.extensions.filters.network.direct_response.v3.Config",
  tls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  string: "type.googleapis.com/google.protobuf.StringValue",
  bytes: "type.googleapis.com/google.protobuf.BytesValue",
} as const;

/**
 * Istio's stat tag extraction (its bootstrap's stats_config.stats_tags), which the dev proxy applies
 * by default: Istio-encoded stat names (`reporter=.=destination;.;…;.;istio_requests_total`) become
 * labelled Prometheus series. Other names do not match.
 */
export function istioStatsTags(): JsonMap[] {
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return [
    ...ISTIO_STANDARD_TAGS.map((t) => ({ tag_name: t, regex: `(${escape(t)}=\\.=(.*?);\\.;)` })),
    // Istio's helpers for istio_build and the stats filter's cache counter (host/istio/tag_extractor.ts).
    { tag_name: "component", regex: "(component\\.(.+?)\\.)" },
    { tag_name: "tag", regex: "(tag\\.(.+?);\\.)" },
    { tag_name: "cache", regex: "(cache\\.(.+?)\\.)" },
    { tag_name: "wasm_filter", regex: "(wasm_filter\\.(.+?)\\.)" },
  ];
}

const socketAddress = (address: string, port: number): JsonMap => ({ socket_address: { address, port_value: port } });

// Protobuf JSON durations: "15s", "0.25s".
const duration = (ms: number): string => `${Number((ms / 1000).toFixed(3))}s`;

// Plugin and VM configuration: text travels as a StringValue and binary as a BytesValue; Envoy
// hands both to the plugin byte for byte.
function anyValue(v: string | Uint8Array): JsonMap {
  return typeof v === "string"
    ? { "@type": TYPE.string, value: v }
    : { "@type": TYPE.bytes, value: Buffer.from(v).toString("base64") };
}

function isEmpty(v: string | Uint8Array | undefined): boolean {
  return v === undefined || v.length === 0;
}

/** envoy.extensions.wasm.v3.PluginConfig for one plugin. */
export function pluginConfig(p: EnvoyPlugin, index: number, o: Pick<EnvoyBootstrapOptions, "wasmPath" | "runtime">): JsonMap {
  let code: JsonMap;
  if (typeof p.wasm === "string") {
    code = { local: { filename: o.wasmPath ? o.wasmPath(p, index) : resolve(p.wasm) } };
  } else {
    code = { local: { inline_bytes: Buffer.from(p.wasm).toString("base64") } };
  }
  const vm: JsonMap = {};
  if (p.vmId) vm.vm_id = p.vmId;
  vm.runtime = o.runtime ?? DEFAULT_WASM_RUNTIME;
  vm.code = code;
  if (!isEmpty(p.vmConfiguration)) vm.configuration = anyValue(p.vmConfiguration!);
  const env = Object.entries(p.environment ?? {});
  if (env.length > 0) vm.environment_variables = { key_values: Object.fromEntries(env) };
  const config: JsonMap = {};
  if (p.name) config.name = p.name;
  if (p.rootId) config.root_id = p.rootId;
  config.vm_config = vm;
  if (!isEmpty(p.configuration)) config.configuration = anyValue(p.configuration!);
  config.failure_policy = p.failurePolicy ?? DEFAULT_FAILURE_POLICY;
  if (config.failure_policy === "FAIL_RELOAD" && p.reloadBackoffMs !== undefined) {
    config.reload_config = { backoff: { base_interval: duration(Math.max(1, p.reloadBackoffMs)) } };
  }
  if (p.allowOnHeadersStopIteration) config.allow_on_headers_stop_iteration = true;
  return config;
}

// A cluster for an http(s) URL: static for an IP, DNS otherwise; TLS with SNI for https.
function clusterFor(name: string, spec: string, loopbackHost: string | undefined, what: string): JsonMap {
  const url = httpUrl(spec, what);
  let host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (loopbackHost && isLoopback(host)) host = loopbackHost;
  const tls = url.protocol === "https:";
  const port = Number(url.port || (tls ? 443 : 80));
  const cluster: JsonMap = {
    name,
    type: isIP(host) ? "STATIC" : "STRICT_DNS",
    connect_timeout: "5s",
  };
  // Names such as localhost may resolve to ::1 first while the service listens on IPv4.
  if (!isIP(host)) cluster.dns_lookup_family = "V4_PREFERRED";
  cluster.load_assignment = {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(host, port) } }] }],
  };
  if (tls) {
    cluster.transport_socket = {
      name: "envoy.transport_sockets.tls",
      typed_config: { "@type": TYPE.tls, ...(isIP(host) ? {} : { sni: host }) },
    };
  }
  return cluster;
}

/** Whether a host name or address is this machine's loopback. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function directionName(d: EnvoyBootstrapOptions["listenerDirection"]): string | undefined {
  if (d === undefined || d === "unspecified" || d === 0) return undefined;
  if (d === "inbound" || d === 1) return "INBOUND";
  if (d === "outbound" || d === 2) return "OUTBOUND";
  throw new UserError(`listener direction must be inbound (1) or outbound (2), got ${String(d)}`);
}

const DIRECTION_NUMBERS: Record<string, number> = { unspecified: 0, inbound: 1, outbound: 2 };

// Properties the dev proxy pins that Envoy derives from its configuration — the node's
// (`node.*`, `xds.node.*`) and the listener's (`listener_direction`, `listener_metadata.*`) —
// are folded into the node and listener exactly as the dev proxy folds them
// (host/services/property_pins.ts); the rest are computed per request by Envoy and cannot be pinned.
function foldProperties(o: EnvoyBootstrapOptions, node: EnvoyNode, warnings: string[]): { direction: number; listenerMetadata: Record<string, JsonMap> } {
  const pins = new Map(Object.entries(o.properties ?? {}));
  const d = o.listenerDirection;
  const local = localInfoWithPins({
    node: { ...node },
    listenerDirection: typeof d === "number" ? d : DIRECTION_NUMBERS[d ?? "unspecified"] ?? 0,
    listenerMetadata: o.listenerMetadata ?? {},
  }, pins);
  Object.assign(node, { id: local.node.id, cluster: local.node.cluster }, local.node.metadata ? { metadata: local.node.metadata } : {}, local.node.locality ? { locality: local.node.locality } : {});
  for (const path of pins.keys()) {
    if (!isLocalInfoPin(path)) warnings.push(`property ${path} is computed by Envoy per request and cannot be pinned in a bootstrap; ignored`);
  }
  return { direction: local.listenerDirection, listenerMetadata: local.listenerMetadata as Record<string, JsonMap> };
}

/**
 * Builds the bootstrap for the given dev proxy options. Throws UserError for settings Envoy
 * cannot take (bad URLs, a callout cluster that clashes with the upstream).
 */
export function envoyBootstrap(o: EnvoyBootstrapOptions): EnvoyBootstrap {
  if (o.plugins.length === 0) throw new UserError("no plugins to configure");
  const warnings: string[] = [];
  const node: EnvoyNode = { id: o.node?.id ?? "pwasm", cluster: o.node?.cluster ?? "pwasm", ...(o.node?.metadata ? { metadata: { ...o.node.metadata } } : {}), ...(o.node?.locality ? { locality: o.node.locality } : {}) };
  const { direction, listenerMetadata } = foldProperties(o, node, warnings);
  if (o.tagExtractor) warnings.push("a custom tag extractor is a function in the dev proxy and cannot be written as stats_config; Istio's stats_tags are written instead");

  const httpPlugins = o.plugins.map((p, i) => ({ p, i })).filter(({ p }) => (p.type ?? "http") === "http");
  const networkPlugins = o.plugins.map((p, i) => ({ p, i })).filter(({ p }) => p.type === "network");
  const direct = o.directResponse ?? { status: 200, body: "" };

  const clusters: JsonMap[] = [];
  if (o.upstream) clusters.push(clusterFor(UPSTREAM_CLUSTER, o.upstream, o.loopbackHost, "--upstream"));
  for (const [name, url] of Object.entries(o.clusters ?? {})) {
    if (!name) throw new UserError("a callout cluster needs a name");
    if (name === UPSTREAM_CLUSTER && o.upstream) {
      if (new URL(url).href !== new URL(o.upstream).href) throw new UserError(`cluster "${UPSTREAM_CLUSTER}" is the route's upstream (${o.upstream}); name the callout cluster differently`);
      continue;
    }
    clusters.push(clusterFor(name, url, o.loopbackHost, `--cluster ${name}`));
  }

  // Inline, or discovered from a watched file (ECDS) when the plugins may be replaced at run time.
  const wasmFilter = (p: EnvoyPlugin, i: number, kind: EnvoyFilterKind): JsonMap => {
    const type = kind === "http" ? TYPE.httpWasm : TYPE.networkWasm;
    if (o.ecdsDir === undefined) return { name: `envoy.filters.${kind}.wasm`, typed_config: { "@type": type, config: pluginConfig(p, i, o) } };
    const dir = o.ecdsDir.replace(/\/+$/, "");
    return {
      name: ecdsFilterName(i),
      config_discovery: {
        config_source: { path_config_source: { path: `${dir}/${ecdsResourceFile(i)}`, watched_directory: { path: dir } } },
        type_urls: [type],
      },
    };
  };
  const filters: JsonMap[] = networkPlugins.map(({ p, i }) => wasmFilter(p, i, "network"));
  if (httpPlugins.length > 0 || networkPlugins.length === 0) {
    const route: JsonMap = { match: { prefix: "/" } };
    if (o.upstream) {
      route.route = { cluster: UPSTREAM_CLUSTER, timeout: duration(o.routeTimeoutMs ?? 15_000) };
    } else {
      route.direct_response = { status: direct.status, ...(direct.body ? { body: { inline_string: direct.body } } : {}) };
    }
    filters.push({
      name: "envoy.filters.network.http_connection_manager",
      typed_config: {
        "@type": TYPE.hcm,
        stat_prefix: "ingress_http",
        codec_type: "AUTO",
        // The dev proxy's idle timeout (Envoy's default unless set), written out so both agree.
        stream_idle_timeout: duration(o.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS),
        ...(o.accessLog ? { access_log: [{ name: "envoy.access_loggers.stdout", typed_config: { "@type": TYPE.stdoutAccessLog } }] } : {}),
        route_config: {
          name: ROUTE_CONFIG_NAME,
          virtual_hosts: [{ name: "local", domains: ["*"], routes: [route] }],
        },
        http_filters: [
          ...httpPlugins.map(({ p, i }) => wasmFilter(p, i, "http")),
          { name: "envoy.filters.http.router", typed_config: { "@type": TYPE.router } },
        ],
      },
    });
  } else if (o.upstream) {
    filters.push({ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": TYPE.tcpProxy, stat_prefix: "ingress_tcp", cluster: UPSTREAM_CLUSTER } });
  } else {
    filters.push({
      name: "envoy.filters.network.direct_response",
      typed_config: { "@type": TYPE.directResponse, ...(direct.body ? { response: { inline_string: direct.body } } : {}) },
    });
  }

  const listener: JsonMap = {
    name: LISTENER_NAME,
    address: socketAddress(o.host ?? "127.0.0.1", o.port ?? 10000),
  };
  const trafficDirection = directionName(direction);
  if (trafficDirection) listener.traffic_direction = trafficDirection;
  if (Object.keys(listenerMetadata).length > 0) listener.metadata = { filter_metadata: listenerMetadata };
  listener.filter_chains = [{ filters }];

  const nodeJson: JsonMap = { id: node.id!, cluster: node.cluster! };
  if (node.metadata && Object.keys(node.metadata).length > 0) nodeJson.metadata = node.metadata;
  if (node.locality) {
    const l = node.locality;
    nodeJson.locality = { ...(l.region ? { region: l.region } : {}), ...(l.zone ? { zone: l.zone } : {}), ...(l.subZone ? { sub_zone: l.subZone } : {}) };
  }
  const config: JsonMap = { node: nodeJson };
  if (o.admin !== false) {
    const a = o.admin ?? {};
    config.admin = { address: socketAddress(a.host ?? "127.0.0.1", a.port ?? 9901) };
  }
  config.stats_config = { stats_tags: istioStatsTags() };
  config.static_resources = { listeners: [listener], clusters };
  return { config, warnings };
}

/** Renders a bootstrap as YAML, with `comment` lines on top. */
export function bootstrapYaml(config: JsonMap, comment: string[] = []): string {
  // YAML 1.1 quoting: Envoy's YAML reader (yaml-cpp) takes plain yes/no/on/off as booleans, so
  // strings that look like them must be quoted.
  const body = stringify(config, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false });
  return comment.map((l) => `# ${l}\n`).join("") + body;
}

/** The filter name of plugin `index` served by ECDS (also its resource name and stats prefix). */
export function ecdsFilterName(index: number): string {
  return `pwasm_plugin_${index + 1}`;
}

/** The ECDS resource file of plugin `index`, inside `ecdsDir`. */
export function ecdsResourceFile(index: number): string {
  return `${ecdsFilterName(index)}.yaml`;
}

/**
 * The ECDS resource file's content for one plugin: a discovery response holding one
 * TypedExtensionConfig named like the filter.
 */
export function ecdsResource(p: EnvoyPlugin, index: number, o: Pick<EnvoyBootstrapOptions, "wasmPath" | "runtime">): JsonMap {
  const kind = p.type ?? "http";
  return {
    resources: [{
      "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
      name: ecdsFilterName(index),
      typed_config: { "@type": kind === "http" ? TYPE.httpWasm : TYPE.networkWasm, config: pluginConfig(p, index, o) },
    }],
  };
}

/** A file name for plugin `index` inside a mounted directory, unique within the chain. */
export function mountedWasmName(p: EnvoyPlugin, index: number): string {
  const base = typeof p.wasm === "string" ? basename(p.wasm) : "plugin.wasm";
  return `${index + 1}-${base}`;
}
