// Generated Envoy bootstraps against Envoy's v3 API (descriptors of Envoy 1.40 from
// go-control-plane, see api/gen/main.go): every shape `pwasm envoy-config` can write parses as
// Envoy would parse it (strict proto3 JSON, Any resolved by @type) and passes Envoy's validation
// rules. The validator itself is shown to reject what Envoy rejects.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapYaml, envoyBootstrap, type EnvoyBootstrapOptions, type JsonMap } from "../../cli/envoy/bootstrap.js";
import { built } from "../helpers/paths.js";
import { EnvoyApi, type ConfigIssue } from "./api/validator.js";
import { GO_BUILD_FLAGS, skipWithout } from "../helpers/tools.js";

const api = EnvoyApi.load();
const BOOTSTRAP = "envoy.config.bootstrap.v3.Bootstrap";
const wasm = built("examples/add-header");

/** YAML as Envoy reads it (yaml-cpp follows YAML 1.1 for plain scalars). */
const envoyParse = (text: string): unknown => parse(text, { version: "1.1" });

/** Generates, renders to YAML, parses back, validates. */
function generate(o: Omit<EnvoyBootstrapOptions, "plugins"> & { plugins?: EnvoyBootstrapOptions["plugins"] }): { config: JsonMap; parsed: JsonMap; issues: ConfigIssue[]; warnings: string[] } {
  const { config, warnings } = envoyBootstrap({ plugins: [{ wasm, rootId: "add_header" }], ...o });
  const parsed = envoyParse(bootstrapYaml(config, ["test"])) as JsonMap;
  return { config, parsed, issues: api.validate(parsed, BOOTSTRAP), warnings };
}

// Walks a parsed config by path segments.
function at(v: unknown, ...path: Array<string | number>): unknown {
  return path.reduce<unknown>((cur, k) => (cur as Record<string | number, unknown>)?.[k], v);
}
const hcm = (c: unknown) => at(c, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config") as JsonMap;
const httpFilters = (c: unknown) => hcm(c).http_filters as JsonMap[];

describe("the Envoy API descriptors", () => {
  it("come from go-control-plane's envoy module and hold the messages bootstraps use", () => {
    expect(api.source).toMatch(/^github\.com\/envoyproxy\/go-control-plane\/envoy@v1\.\d+\.\d+$/);
    for (const t of [
      BOOTSTRAP, "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
      "envoy.extensions.filters.http.wasm.v3.Wasm", "envoy.extensions.filters.network.wasm.v3.Wasm",
      "envoy.extensions.filters.http.router.v3.Router", "envoy.config.cluster.v3.Cluster",
      "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
    ]) expect(api.hasMessage(t), t).toBe(true);
    // Envoy >= 1.33 fields the generator relies on.
    expect(api.fieldNames("envoy.extensions.wasm.v3.PluginConfig")).toEqual(expect.arrayContaining(["failure_policy", "allow_on_headers_stop_iteration", "vm_config"]));
  });
});

// The descriptors can be regenerated offline when Go and the module are at hand.
const GEN_DIR = join(import.meta.dirname, "api", "gen");
const goModule = (() => {
  try {
    const cache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
    const version = /go-control-plane\/envoy (v[\d.]+)/.exec(readFileSync(join(GEN_DIR, "go.mod"), "utf8"))![1];
    const dir = join(cache, "github.com", "envoyproxy", "go-control-plane", `envoy@${version}`);
    return existsSync(dir) ? { ok: true as const } : { ok: false as const, reason: `go-control-plane/envoy@${version} is not in the Go module cache` };
  } catch {
    return { ok: false as const, reason: skipWithout(["go"], "test/envoy/bootstrap.test.ts: the checks against Envoy's Go API") ?? "go env failed" };
  }
})();

describe("envoy-api.json", () => {
  it.skipIf(!goModule.ok)(`is what api/gen produces from go-control-plane${goModule.ok ? "" : ` — skipped: ${goModule.reason}`}`, () => {
    const fresh = execFileSync("go", ["run", ...GO_BUILD_FLAGS, "."], { cwd: GEN_DIR, encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off" }, stdio: ["ignore", "pipe", "ignore"] });
    expect(fresh === readFileSync(join(import.meta.dirname, "api", "envoy-api.json"), "utf8")).toBe(true);
  }, 180_000);
});

describe("the validator rejects what Envoy rejects", () => {
  const valid = () => generate({ upstream: "http://127.0.0.1:8080" }).parsed;
  const messages = (issues: ConfigIssue[]) => issues.map((i) => `${i.path}: ${i.message}`);

  it("accepts a generated config as is (the baseline of the cases below)", () => {
    expect(messages(api.validate(valid(), BOOTSTRAP))).toEqual([]);
  });

  it("rejects an unknown field deep inside a typed_config", () => {
    const c = valid();
    (at(httpFilters(c)[0], "typed_config", "config") as JsonMap).rootid = "typo";
    expect(messages(api.validate(c, BOOTSTRAP))).toEqual([
      expect.stringMatching(/http_filters\[0\]\.typed_config\.config\.rootid: unknown field "rootid" in envoy\.extensions\.wasm\.v3\.PluginConfig$/),
    ]);
  });

  it("rejects wrong JSON types: a port as text, a list as a map, a number as a string field", () => {
    const c = valid();
    (at(c, "admin", "address", "socket_address") as JsonMap).port_value = "ninety";
    (at(c, "static_resources", "clusters", 0) as JsonMap).name = 7;
    (at(hcm(c), "route_config", "virtual_hosts", 0) as JsonMap).domains = "*";
    const got = messages(api.validate(c, BOOTSTRAP));
    expect(got).toContainEqual(expect.stringMatching(/^admin\.address\.socket_address\.port_value: expected an integer \(uint32\), got the string "ninety"$/));
    expect(got).toContainEqual(expect.stringMatching(/^static_resources\.clusters\[0\]\.name: expected a string, got number 7$/));
    expect(got).toContainEqual(expect.stringMatching(/virtual_hosts\[0\]\.domains: expected a list/));
  });

  it("rejects an unknown enum name and a deprecated field", () => {
    const c = valid();
    const config = at(httpFilters(c)[0], "typed_config", "config") as JsonMap;
    config.failure_policy = "FAIL_SOMETIMES";
    config.fail_open = true;
    const got = messages(api.validate(c, BOOTSTRAP));
    expect(got).toContainEqual(expect.stringMatching(/failure_policy: "FAIL_SOMETIMES" is not a value of envoy\.extensions\.wasm\.v3\.FailurePolicy/));
    expect(got).toContainEqual(expect.stringMatching(/fail_open: deprecated field envoy\.extensions\.wasm\.v3\.PluginConfig\.fail_open/));
  });

  it("resolves Any by @type: unknown types, extra fields of a StringValue, fields of the wrong message fail", () => {
    const c = valid();
    (httpFilters(c)[1]!.typed_config as JsonMap)["@type"] = "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope";
    (at(httpFilters(c)[0], "typed_config", "config") as JsonMap).configuration = { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "v", extra: "x" };
    const got = messages(api.validate(c, BOOTSTRAP));
    expect(got).toContainEqual(expect.stringMatching(/http_filters\[1\]\.typed_config\.@type: unknown type envoy\.extensions\.filters\.http\.nope\.v3\.Nope/));
    expect(got).toContainEqual(expect.stringMatching(/configuration\.extra: unknown field "extra" in Any of google\.protobuf\.StringValue/));
    // The HCM's fields read as a Router's: Envoy would refuse them.
    const c2 = valid();
    hcm(c2)["@type"] = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
    expect(messages(api.validate(c2, BOOTSTRAP))).toContainEqual(expect.stringMatching(/filters\[0\]\.typed_config\.stat_prefix: unknown field "stat_prefix" in envoy\.extensions\.filters\.http\.router\.v3\.Router$/));
  });

  it("applies Envoy's validation rules: required fields, lengths, ranges, oneofs", () => {
    const c = valid();
    const cluster = at(c, "static_resources", "clusters", 0) as JsonMap;
    delete cluster.name;
    cluster.connect_timeout = "0s";
    const route = at(hcm(c), "route_config", "virtual_hosts", 0, "routes", 0) as JsonMap;
    route.direct_response = { status: 99 };
    delete (hcm(c) as JsonMap).stat_prefix;
    const got = messages(api.validate(c, BOOTSTRAP));
    expect(got).toContainEqual(expect.stringMatching(/^static_resources\.clusters\[0\]\.name: name: must be at least 1 character\(s\) long$/));
    expect(got).toContainEqual(expect.stringMatching(/^static_resources\.clusters\[0\]\.connect_timeout: connect_timeout: must be greater than 0s$/));
    expect(got).toContainEqual(expect.stringMatching(/routes\[0\]: oneof action has several members set: route, direct_response$/));
    expect(got).toContainEqual(expect.stringMatching(/direct_response\.status: status: must be at least 200$/));
    expect(got).toContainEqual(expect.stringMatching(/typed_config\.stat_prefix: stat_prefix: must be at least 1 character/));
  });

  it("rejects a route with no action (a required oneof)", () => {
    const c = valid();
    const route = at(hcm(c), "route_config", "virtual_hosts", 0, "routes", 0) as JsonMap;
    delete route.route;
    expect(messages(api.validate(c, BOOTSTRAP))).toContainEqual(expect.stringMatching(/routes\[0\]: oneof action of envoy\.config\.route\.v3\.Route is required/));
  });
});

// Every shape the generator can write.
const cases: Array<[string, Parameters<typeof generate>[0]]> = [
  ["one HTTP plugin, upstream", { upstream: "http://127.0.0.1:8080" }],
  ["direct response with a body, no admin", { directResponse: { status: 418, body: "short and stout\n" }, admin: false }],
  ["every plugin setting", {
    upstream: "http://localhost:8080",
    plugins: [{
      wasm, name: "my_plugin", rootId: "add_header", vmId: "vm_1", configuration: '{"header":"x-hello"}',
      vmConfiguration: "vm-config", environment: { MODE: "on", LEVEL: "3" }, failurePolicy: "FAIL_OPEN", allowOnHeadersStopIteration: true,
    }],
  }],
  ["a chain of two plugins and callout clusters (IP, DNS, https)", {
    upstream: "https://api.example.com",
    plugins: [{ wasm, rootId: "add_header" }, { wasm, rootId: "second", failurePolicy: "FAIL_CLOSED" }],
    clusters: { auth: "http://127.0.0.1:9000", geo: "https://geo.example.com:8443", ipv6: "http://[::1]:7000" },
    routeTimeoutMs: 2500,
  }],
  ["binary plugin configuration and inline module bytes", {
    plugins: [{ wasm: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), configuration: new Uint8Array([1, 2, 3, 255]) }],
  }],
  ["Istio node: id, metadata (nested), locality; inbound listener with metadata", {
    node: { id: "sidecar~10.0.0.1~web-1.default~default.svc.cluster.local", cluster: "web.default", metadata: { NAMESPACE: "default", LABELS: { app: "web", version: "v1" }, ISTIO_VERSION: "1.27.0" }, locality: { region: "eu", zone: "eu-1a" } },
    properties: { "node.metadata.WORKLOAD_NAME": "web", listener_direction: 1n },
    listenerMetadata: { istio: { service: "web" } },
  }],
  ["a TCP plugin in front of a TCP upstream", { upstream: "http://127.0.0.1:5432", plugins: [{ wasm, type: "network", rootId: "tcp" }] }],
  ["a TCP plugin with a direct response", { plugins: [{ wasm, type: "network" }], directResponse: { status: 200, body: "hello\n" } }],
  ["network and HTTP plugins on one listener", { upstream: "http://127.0.0.1:8080", plugins: [{ wasm, type: "network", rootId: "conn" }, { wasm, rootId: "add_header" }] }],
  ["listener and admin on all interfaces, route timeout off", { host: "0.0.0.0", port: 0, admin: { host: "0.0.0.0", port: 0 }, upstream: "http://10.1.2.3", routeTimeoutMs: 0 }],
];

describe("pwasm envoy-config bootstraps validate against Envoy's API", () => {

  it.each(cases)("%s", (_, o) => {
    const { config, parsed, issues } = generate(o);
    expect(issues).toEqual([]);
    // YAML says exactly what the generator meant (no value changed type on the way).
    expect(parsed).toEqual(config);
  });

  it("puts each HTTP plugin before the router, in order, with its PluginConfig", () => {
    const { parsed } = generate({
      upstream: "http://127.0.0.1:8080",
      plugins: [{ wasm, rootId: "first", configuration: "x-hello: world" }, { wasm, rootId: "second", vmId: "shared" }],
    });
    const filters = httpFilters(parsed);
    expect(filters.map((f) => f.name)).toEqual(["envoy.filters.http.wasm", "envoy.filters.http.wasm", "envoy.filters.http.router"]);
    expect(at(filters[0], "typed_config", "config")).toEqual({
      root_id: "first",
      vm_config: { runtime: "envoy.wasm.runtime.v8", code: { local: { filename: wasm } } },
      configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "x-hello: world" },
      failure_policy: "FAIL_RELOAD",
    });
    expect(at(filters[1], "typed_config", "config", "vm_config", "vm_id")).toBe("shared");
    expect(at(hcm(parsed), "route_config", "virtual_hosts", 0, "routes", 0)).toEqual({ match: { prefix: "/" }, route: { cluster: "upstream", timeout: "15s" } });
  });

  it("writes the failure policy the dev proxy applies (FAIL_RELOAD unless told), never Envoy's implicit default", () => {
    const policies = (["FAIL_RELOAD", "FAIL_CLOSED", "FAIL_OPEN", undefined] as const).map((failurePolicy) =>
      at(httpFilters(generate({ plugins: [{ wasm, failurePolicy }] }).parsed)[0], "typed_config", "config", "failure_policy"));
    expect(policies).toEqual(["FAIL_RELOAD", "FAIL_CLOSED", "FAIL_OPEN", "FAIL_RELOAD"]);
  });

  it("writes the FAIL_RELOAD backoff the dev proxy uses, and only with FAIL_RELOAD", () => {
    const reload = generate({ plugins: [{ wasm, reloadBackoffMs: 250 }] });
    expect(reload.issues).toEqual([]);
    expect(at(httpFilters(reload.parsed)[0], "typed_config", "config", "reload_config")).toEqual({ backoff: { base_interval: "0.25s" } });
    const open = generate({ plugins: [{ wasm, reloadBackoffMs: 250, failurePolicy: "FAIL_OPEN" }] });
    expect(at(httpFilters(open.parsed)[0], "typed_config", "config", "reload_config")).toBeUndefined();
  });

  it("keeps plugin configuration byte for byte, including text YAML would retype", () => {
    for (const text of ["on", "yes", "0777", "1.0", "null", "~", "- a", "{\"k\": [1, 2]}", "multi\nline\n", "  padded  ", "héllo ✓"]) {
      const { parsed, issues } = generate({ plugins: [{ wasm, configuration: text, vmConfiguration: text, environment: { K: text } }] });
      expect(issues).toEqual([]);
      const config = at(httpFilters(parsed)[0], "typed_config", "config") as JsonMap;
      expect(at(config, "configuration", "value"), JSON.stringify(text)).toBe(text);
      expect(at(config, "vm_config", "configuration", "value")).toBe(text);
      expect(at(config, "vm_config", "environment_variables", "key_values", "K")).toBe(text);
    }
  });

  it("names one cluster per callout target, with the callout's name, and the route's upstream", () => {
    const { parsed } = generate({ upstream: "http://127.0.0.1:8080", clusters: { auth: "http://127.0.0.1:9000", geo: "https://geo.example.com" } });
    const clusters = at(parsed, "static_resources", "clusters") as JsonMap[];
    expect(clusters.map((c) => [c.name, c.type, at(c, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address")])).toEqual([
      ["upstream", "STATIC", { address: "127.0.0.1", port_value: 8080 }],
      ["auth", "STATIC", { address: "127.0.0.1", port_value: 9000 }],
      ["geo", "STRICT_DNS", { address: "geo.example.com", port_value: 443 }],
    ]);
    expect(at(clusters[2], "transport_socket", "typed_config", "sni")).toBe("geo.example.com");
  });

  it("maps node metadata and listener direction the way the dev proxy's properties read them", () => {
    const { parsed, warnings } = generate({
      properties: { "node.metadata.NAMESPACE": "prod", "node.metadata.REPLICAS": 3n, "xds.node.id": "router~1.2.3.4~gw.prod~prod.svc.cluster.local", listener_direction: 2n, "request.id": "fixed" },
      node: { metadata: { LABELS: { app: "gw" } } },
    });
    expect(at(parsed, "node")).toEqual({ id: "router~1.2.3.4~gw.prod~prod.svc.cluster.local", cluster: "pwasm", metadata: { LABELS: { app: "gw" }, NAMESPACE: "prod", REPLICAS: 3 } });
    expect(at(parsed, "static_resources", "listeners", 0, "traffic_direction")).toBe("OUTBOUND");
    // A per-request attribute cannot be pinned in Envoy: said, not silently dropped.
    expect(warnings).toEqual(["property request.id is computed by Envoy per request and cannot be pinned in a bootstrap; ignored"]);
  });

  it("extracts Istio's stat tags as the dev proxy does, so istio_* metrics print with the same labels", () => {
    const { parsed } = generate({});
    const tags = at(parsed, "stats_config", "stats_tags") as Array<{ tag_name: string; regex: string }>;
    const reporter = tags.find((t) => t.tag_name === "reporter")!;
    expect(reporter.regex).toBe("(reporter=\\.=(.*?);\\.;)");
    // Envoy's semantics: group 1 is cut from the name, group 2 is the value.
    const m = new RegExp(reporter.regex).exec("reporter=.=destination;.;response_code=.=200;.;istio_requests_total")!;
    expect([m[1], m[2]]).toEqual(["reporter=.=destination;.;", "destination"]);
    expect(tags.map((t) => t.tag_name)).toEqual(expect.arrayContaining(["source_workload", "destination_service", "response_code", "grpc_response_status", "component"]));
  });

  it("uses envoy.filters.network.wasm for TCP plugins, ahead of tcp_proxy", () => {
    const { parsed } = generate({ upstream: "http://127.0.0.1:5432", plugins: [{ wasm, type: "network", rootId: "tcp", name: "conn_logger" }] });
    const filters = at(parsed, "static_resources", "listeners", 0, "filter_chains", 0, "filters") as JsonMap[];
    expect(filters.map((f) => [f.name, at(f, "typed_config", "@type")])).toEqual([
      ["envoy.filters.network.wasm", "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm"],
      ["envoy.filters.network.tcp_proxy", "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"],
    ]);
    expect(at(filters[0], "typed_config", "config", "root_id")).toBe("tcp");
  });

  it("rewrites loopback upstreams for a container on a bridge network", () => {
    const { parsed, issues } = generate({ upstream: "http://127.0.0.1:8080", clusters: { auth: "http://localhost:9000", ext: "http://10.0.0.5" }, loopbackHost: "host.docker.internal" });
    expect(issues).toEqual([]);
    const hosts = (at(parsed, "static_resources", "clusters") as JsonMap[]).map((c) => at(c, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address", "address"));
    expect(hosts).toEqual(["host.docker.internal", "host.docker.internal", "10.0.0.5"]);
  });

  it("refuses what Envoy cannot take, with one clear line", () => {
    expect(() => envoyBootstrap({ plugins: [{ wasm }], upstream: "ftp://files" })).toThrow("--upstream must be an http:// or https:// URL, got ftp://files");
    expect(() => envoyBootstrap({ plugins: [{ wasm }], clusters: { auth: "not a url" } })).toThrow("--cluster auth is not a URL: not a url");
    expect(() => envoyBootstrap({ plugins: [{ wasm }], upstream: "http://127.0.0.1:1", clusters: { upstream: "http://127.0.0.1:2" } })).toThrow(/cluster "upstream" is the route's upstream/);
    expect(() => envoyBootstrap({ plugins: [] })).toThrow("no plugins to configure");
  });
});

// The same configs through Envoy's own Go API (protojson + protoc-gen-validate, api/gen/check): the
// TypeScript validator must agree with it on what is accepted and what is refused.
describe("a second opinion from Envoy's Go API", () => {
  const checker = join(tmpdir(), `pwasm-envoy-check-${process.pid}`);
  const goCheck = (configs: unknown[]): string[] =>
    execFileSync(checker, { input: configs.map((c) => JSON.stringify(c)).join("\n") + "\n", encoding: "utf8", maxBuffer: 64 << 20 }).trimEnd().split("\n");

  beforeAll(() => {
    if (goModule.ok) execFileSync("go", ["build", ...GO_BUILD_FLAGS, "-o", checker, "./check"], { cwd: GEN_DIR, env: { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off" }, stdio: "ignore" });
  }, 180_000);
  afterAll(() => rmSync(checker, { force: true }));

  it.skipIf(!goModule.ok)(`accepts every generated config${goModule.ok ? "" : ` — skipped: ${goModule.reason}`}`, () => {
    const configs = cases.map(([, o]) => generate(o).parsed);
    expect(goCheck(configs)).toEqual(configs.map(() => "ok"));
  });

  it.skipIf(!goModule.ok)(`refuses what the TypeScript validator refuses, and accepts the JSON forms it accepts${goModule.ok ? "" : ` — skipped: ${goModule.reason}`}`, () => {
    const base = () => generate({ upstream: "http://127.0.0.1:8080", plugins: [{ wasm, configuration: "c" }] }).parsed;
    const mutations: Array<[string, (c: JsonMap) => void]> = [
      ["unknown field", (c) => void ((at(httpFilters(c)[0], "typed_config", "config") as JsonMap).rootid = "x")],
      ["port as text", (c) => void ((at(c, "admin", "address", "socket_address") as JsonMap).port_value = "ninety")],
      ["unknown enum name", (c) => void ((at(httpFilters(c)[0], "typed_config", "config") as JsonMap).failure_policy = "FAIL_SOMETIMES")],
      ["unknown Any type", (c) => void ((httpFilters(c)[1]!.typed_config as JsonMap)["@type"] = "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope")],
      ["extra field in a StringValue", (c) => void ((at(httpFilters(c)[0], "typed_config", "config", "configuration") as JsonMap).extra = "x")],
      ["cluster without a name", (c) => void delete (at(c, "static_resources", "clusters", 0) as JsonMap).name],
      ["zero connect timeout", (c) => void ((at(c, "static_resources", "clusters", 0) as JsonMap).connect_timeout = "0s")],
      ["route and direct response", (c) => void ((at(hcm(c), "route_config", "virtual_hosts", 0, "routes", 0) as JsonMap).direct_response = { status: 200 })],
      ["route without an action", (c) => void delete (at(hcm(c), "route_config", "virtual_hosts", 0, "routes", 0) as JsonMap).route],
      ["HCM without stat_prefix", (c) => void delete hcm(c).stat_prefix],
      ["status out of range", (c) => { const r = at(hcm(c), "route_config", "virtual_hosts", 0, "routes", 0) as JsonMap; delete r.route; r.direct_response = { status: 99 }; }],
    ];
    const refused = mutations.map(([, m]) => { const c = base(); m(c); return c; });
    const go = goCheck(refused);
    mutations.forEach(([name], i) => {
      expect(go[i], name).not.toBe("ok");
      expect(api.validate(refused[i], BOOTSTRAP), name).not.toEqual([]);
    });
    // Accepted by both: lowerCamel names, 64-bit and 32-bit numbers as strings, null for unset.
    const accepted: Array<[string, (c: JsonMap) => void]> = [
      ["lowerCamel field names", (c) => { const a = at(c, "admin", "address", "socket_address") as JsonMap; a.portValue = a.port_value!; delete a.port_value; }],
      ["a number as a string", (c) => void ((at(c, "admin", "address", "socket_address") as JsonMap).port_value = "9901")],
      ["null for an unset field", (c) => void ((at(httpFilters(c)[0], "typed_config", "config") as JsonMap).name = null)],
    ];
    const ok = accepted.map(([, m]) => { const c = base(); m(c); return c; });
    expect(goCheck(ok)).toEqual(ok.map(() => "ok"));
    accepted.forEach(([name], i) => expect(api.validate(ok[i], BOOTSTRAP), name).toEqual([]));
  });
});
