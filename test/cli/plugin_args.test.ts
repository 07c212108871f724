// `pwasm run` and `pwasm envoy-config` read the shared plugin options alike: one set of options is
// resolved the way each command resolves it (the dev proxy's options; the bootstrap's), then what
// the embedded host answers a plugin is compared with what the written Envoy config holds.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envoyBootstrap, type JsonMap } from "../../cli/envoy/bootstrap.js";
import { envoyOptionsFromArgs } from "../../cli/envoy/options.js";
import { devProxyOptionsFromArgs, type PluginArgs } from "../../cli/plugin_args.js";
import { startDevProxy, type DevProxy, type DevProxyOptions } from "../../host/proxy/dev_proxy.js";
import { OUT, ProxyWat } from "../host/helpers/proxy_wat.js";

// What the probe reports, in its order: the VM configuration (on_vm_start), then in on_configure
// the plugin configuration and these properties, then in a request the listener direction (Envoy
// answers it in a stream only; docs/envoy/properties.md).
const PROPERTIES = ["xds\0node\0metadata\0NAME", "xds\0node\0metadata\0ZONE", "xds\0node\0id", "xds\0node\0cluster", "plugin_name", "plugin_root_id", "plugin_vm_id"];
const REPORTS = ["vm configuration", "plugin configuration", ...PROPERTIES.map((p) => p.replace(/\0/g, ".")), "xds.listener_direction"];

function probe(): Uint8Array {
  const m = new ProxyWat();
  const read = (path: string) => `(drop (call $proxy_get_property ${m.s(path)} (i32.const ${OUT}) (i32.const ${OUT + 4}))) (call $log_out)`;
  // Buffer types 6 and 7: the VM's and the plugin's configuration (docs/envoy/lifecycle.md).
  const buffer = (type: number) => `(drop (call $proxy_get_buffer_bytes (i32.const ${type}) (i32.const 0) (i32.const 4096) (i32.const ${OUT}) (i32.const ${OUT + 4}))) (call $log_out)`;
  return m.build(`
    (func (export "proxy_on_vm_start") (param i32 i32) (result i32) ${buffer(6)} (i32.const 1))
    (func (export "proxy_on_configure") (param i32 i32) (result i32) ${buffer(7)} ${PROPERTIES.map(read).join(" ")} (i32.const 1))
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) ${read("xds\0listener_direction")} (i32.const 0))`);
}

/** Every shared option, each set to something other than its default. */
function everyOption(): PluginArgs {
  return {
    listen: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    upstream: "http://127.0.0.1:9",
    directResponse: "418:short and stout",
    config: ["plugin-config"],
    rootId: ["probe_root"],
    name: ["probe"],
    vmId: ["probe_vm"],
    vmConfig: ["vm-config"],
    type: ["http"],
    failurePolicy: "FAIL_RELOAD",
    env: ["MODE=probe"],
    cluster: ["auth=http://127.0.0.1:9000"],
    // Pins that overlap the flags below: the more specific --property wins in both.
    property: ["node.metadata.NAME=from-property", "listener_direction=2"],
    nodeMetadata: JSON.stringify({ NAME: "from-node-metadata", ZONE: "z1" }),
    nodeId: "sidecar~10.0.0.1~web.default~default.svc.cluster.local",
    nodeCluster: "web.default",
    listenerDirection: "inbound",
    reloadBackoff: 250,
    streamIdleTimeout: 7000,
    debug: false,
    concurrency: 1,
    logLevel: "info",
  };
}

const DIRECTIONS: Record<string, number> = { INBOUND: 1, OUTBOUND: 2 };

// The parts of a bootstrap a comparison reads.
function envoyView(config: JsonMap) {
  const sr = config.static_resources as { listeners: JsonMap[]; clusters: JsonMap[] };
  const listener = sr.listeners[0]!;
  const hcm = (((listener.filter_chains as JsonMap[])[0]!.filters as JsonMap[])[0]!.typed_config) as JsonMap;
  const wasmFilter = (hcm.http_filters as JsonMap[]).find((f) => f.name === "envoy.filters.http.wasm");
  const plugin = ((wasmFilter?.typed_config as JsonMap | undefined)?.config ?? {}) as JsonMap;
  const vm = plugin.vm_config as JsonMap;
  const node = config.node as { id: string; cluster: string; metadata?: JsonMap };
  const address = (a: unknown) => (a as { socket_address: { address: string; port_value: number } }).socket_address;
  const endpoint = (name: string) => {
    const c = sr.clusters.find((x) => x.name === name) as { load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: unknown } }> }> } } | undefined;
    if (!c) return undefined;
    const a = address(c.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address);
    return `${a.address}:${a.port_value}`;
  };
  const route = (((hcm.route_config as JsonMap).virtual_hosts as JsonMap[])[0]!.routes as JsonMap[])[0]!;
  return {
    answers: [
      (vm.configuration as JsonMap | undefined)?.value, (plugin.configuration as JsonMap | undefined)?.value,
      node.metadata?.NAME, node.metadata?.ZONE, node.id, node.cluster, plugin.name, plugin.root_id, vm.vm_id,
      DIRECTIONS[String(listener.traffic_direction)] ?? 0,
    ],
    listen: address(listener.address),
    admin: address((config.admin as JsonMap).address),
    upstream: endpoint("upstream"),
    auth: endpoint("auth"),
    directResponse: route.direct_response as { status: number; body?: { inline_string: string } } | undefined,
    httpFilter: wasmFilter !== undefined,
    environment: (vm.environment_variables as JsonMap | undefined)?.key_values,
    failurePolicy: plugin.failure_policy,
    reloadBackoff: ((plugin.reload_config as JsonMap | undefined)?.backoff as JsonMap | undefined)?.base_interval,
    streamIdleTimeout: hcm.stream_idle_timeout,
  };
}

let wasm: string;
const proxies: DevProxy[] = [];

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "pwasm-plugin-args-"));
  wasm = join(dir, "probe.wasm");
  writeFileSync(wasm, probe());
});
afterAll(async () => {
  for (const p of proxies) await p.close();
});

// What the embedded host answers the probe, in REPORTS order: one VM's start (the first reports),
// then one request's.
async function hostAnswers(options: DevProxyOptions): Promise<Array<string | number>> {
  const lines: string[] = [];
  const p = await startDevProxy({ ...options, onLog: (e) => lines.push(e.message) });
  proxies.push(p);
  const answers: Array<string | number> = lines.slice(0, REPORTS.length - 1);
  await (await fetch(p.url)).arrayBuffer();
  // listener_direction is an int64 (little-endian): its first byte.
  answers.push(lines.at(-1)!.charCodeAt(0));
  return answers;
}

describe("pwasm run and pwasm envoy-config resolve the shared options alike", () => {
  it("every shared option: what the embedded host answers is what the bootstrap holds", async () => {
    const o = everyOption();
    const run = await devProxyOptionsFromArgs([wasm], o);
    const envoy = envoyView(envoyBootstrap(await envoyOptionsFromArgs([wasm], o)).config);

    const answers = await hostAnswers(run);
    expect(Object.fromEntries(REPORTS.map((r, i) => [r, answers[i]]))).toEqual(Object.fromEntries(REPORTS.map((r, i) => [r, envoy.answers[i]])));
    // The precedence rule, stated: the --property pins won over --node-metadata and --listener-direction.
    expect(answers.slice(2, 4)).toEqual(["from-property", "z1"]);
    expect(answers.at(-1)).toBe(2);

    const plugin = run.plugins[0]!;
    expect({ host: run.host, port: run.port }).toEqual({ host: envoy.listen.address, port: envoy.listen.port_value });
    expect(run.admin).toEqual({ host: envoy.admin.address, port: envoy.admin.port_value });
    expect(new URL(run.upstream!).host).toBe(envoy.upstream);
    expect(new URL(run.clusters!.auth!).host).toBe(envoy.auth);
    expect(plugin.type ?? "http").toBe("http");
    expect(envoy.httpFilter).toBe(true);
    expect(plugin.environment).toEqual(envoy.environment);
    expect(plugin.failurePolicy).toBe(envoy.failurePolicy);
    expect(`${plugin.reloadBackoffMs! / 1000}s`).toBe(envoy.reloadBackoff);
    expect(`${run.streamIdleTimeoutMs! / 1000}s`).toBe(envoy.streamIdleTimeout);
  });

  it("--direct-response and --fail-open, which the first set overrides", async () => {
    const o = { ...everyOption(), upstream: undefined, failOpen: true };
    const run = await devProxyOptionsFromArgs([wasm], o);
    const envoy = envoyView(envoyBootstrap(await envoyOptionsFromArgs([wasm], o)).config);
    expect(run.directResponse).toEqual({ status: 418, body: "short and stout" });
    expect(envoy.directResponse).toEqual({ status: 418, body: { inline_string: "short and stout" } });
    expect(run.plugins[0]!.failurePolicy).toBe("FAIL_OPEN");
    expect(envoy.failurePolicy).toBe("FAIL_OPEN");
  });
});
