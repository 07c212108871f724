// What `pwasm manifest` writes, deployed the way Istio deploys it, in real Envoy 1.40:
//
//   manifest → kube-apiserver's CRD + CEL validation (istio.io/api v1.32.0 CRDs) → istiod's own
//   translation (WasmPlugin → TrafficExtension, a sidecar's listeners with the plugin in its phase,
//   the ECDS resource) → the istio-agent's conversion (gocheck istio-agent: the module fetched from
//   a local docker-registry by Istio's fetcher, ISTIO_META_* stripped, code made a local file) →
//   Envoy, the plugin delivered by ECDS from that resource, exercised with requests.
//
// istiod's translation is recorded (test/oci/istio/translations/): its program takes minutes to
// build. Each case checks that the manifest is still the recorded input (else: stale, regenerate
// with `npm run istio:translations`); the recording is re-made by istiod's code and compared when
// that program is built (PWASM_ISTIO_TRANSLATE=1 builds it; =record rewrites the recordings).
//
// Istio's own filters that plain Envoy lacks (istio.metadata_exchange, istio.alpn, istio.stats) are
// left out of the chain; every other filter keeps Istio's order and configuration. The
// EnvoyExtensionPolicy follows Envoy Gateway's translation, reproduced from its source (its
// packages are internal to its module): docs/istio-deploy.md.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonMap } from "../../cli/envoy/bootstrap.js";
import { startLocalEnvoy } from "../../cli/envoy/local_envoy.js";
import type { RunningEnvoy } from "../../cli/envoy/instance.js";
import { runPwasm } from "../helpers/cli.js";
import { testEnvoy } from "../helpers/envoy.js";
import { httpRequest } from "../helpers/http.js";
import { skipWithout } from "../helpers/tools.js";
import { wat } from "../helpers/wat.js";
import { built } from "../helpers/paths.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";
import {
  currentRecording, istioAgent, istioTranslate, Placeholders, readRecording, recordedCases, removeRecording, STALE, writeRecording,
  type ChainInfo, type FilterInfo, type Translation, type TranslationInput,
} from "./istio/translations.js";
import { buildGoCheck, buildIstioTranslate, goCheckModuleVersions, ISTIO_TRANSLATE, istioCrd, lastJson, run, startRegistry, type TestRegistry } from "./registry.js";

const local = await testEnvoy();
const SKIP = local.skip ? ` — skipped: ${local.skip}` : "";

const ADD_HEADER = built("examples/add-header");
const MX = built("plugins/metadata-exchange");
const STATS = built("plugins/stats");

let reg: TestRegistry;
let gocheck: string;
let work: string;
let upstream: Upstream;
const crds: Record<string, string> = {};
const digests: Record<string, string> = {};

// Outside tools: the registry and Go (the checker); Envoy is looked for above.
const skip = skipWithout(["docker-registry", "go"], "test/oci/istio_deploy.test.ts");

// istiod's translation program: "1" builds it (minutes from a cold Go cache), "record"
// also rewrites the recordings from it (npm run istio:translations); otherwise it is used when
// already built (brought up to date by Go's build cache).
const MODE = process.env.PWASM_ISTIO_TRANSLATE ?? "";
const RECORD = MODE === "record";
const TRANSLATE = RECORD || MODE === "1" || existsSync(ISTIO_TRANSLATE);
const TRANSLATE_SKIP = TRANSLATE ? "" : " — skipped: istiod's translation program is not built (PWASM_ISTIO_TRANSLATE=1 or npm run istio:translations builds it)";
// Recording needs every case to run: a skipped one would keep its old file.
if (RECORD && (skip || local.skip)) throw new Error(`npm run istio:translations needs the suite's tools: ${skip || local.skip}`);

/** The modules whose versions a recording names (cmd/istio-translate's versionedModules). */
const ISTIO_MODULES = ["istio.io/istio", "istio.io/api", "istio.io/client-go", "github.com/envoyproxy/go-control-plane/envoy"];

/** Every case translated below: each has a recording under test/oci/istio/translations/. */
const CASES = [
  "add-header.WasmPlugin", "add-header.TrafficExtension", "mx-stats.WasmPlugin", "mx-stats.TrafficExtension",
  "tcp-stats.TrafficExtension", "unfetchable.FAIL_CLOSE", "unfetchable.FAIL_OPEN", "env-echo.TrafficExtension",
] as const;
type CaseName = (typeof CASES)[number];

describe.skipIf(skip)("deploying as Istio and Envoy Gateway would", () => {
  let translator: string | undefined;
  let goModVersions: Record<string, string>;
  let placeholders: Placeholders;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "pwasm-istio-"));
    [reg, gocheck, upstream, translator] = await Promise.all([startRegistry(), buildGoCheck(), startUpstream(), TRANSLATE ? buildIstioTranslate() : undefined]);
    placeholders = new Placeholders(reg.host, digests);
    goModVersions = await goCheckModuleVersions(ISTIO_MODULES);
    expect(goModVersions["istio.io/api"]).toBe("v1.32.0");
    crds.WasmPlugin = await istioCrd("wasmplugins", work);
    crds.TrafficExtension = await istioCrd("trafficextensions", work);
    if (RECORD) for (const name of recordedCases()) if (!(CASES as readonly string[]).includes(name)) removeRecording(name);
    for (const [name, wasm] of [["add-header", ADD_HEADER], ["metadata-exchange", MX], ["stats", STATS]] as const) {
      const r = await runPwasm(["push", wasm, `oci://${reg.host}/plugins/${name}:v1`, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      digests[name] = (JSON.parse(r.stdout) as { sha256: string }).sha256;
    }
  }, 1_800_000);

  afterAll(async () => {
    await reg?.close();
    await upstream?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, any> };

  async function manifest(args: string[]): Promise<{ yaml: string; docs: Doc[]; warnings: string[] }> {
    const r = await runPwasm(["manifest", ...args]);
    expect(r.code, r.stderr).toBe(0);
    return { yaml: r.stdout, docs: parseAllDocuments(r.stdout).map((d) => d.toJS() as Doc), warnings: r.stderr.split("\n").filter((l) => l.startsWith("pwasm: warning: ")) };
  }

  /** kube-apiserver's validation of every document of the kind, against its istio.io/api CRD. */
  async function validate(kind: "WasmPlugin" | "TrafficExtension", yamlText: string): Promise<string[]> {
    const file = join(work, `v-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yamlText);
    const r = await run(gocheck, ["validate-crd", crds[kind]!, file]);
    expect(r.code, r.stderr).toBe(0);
    const verdicts = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; errors: string[] });
    expect(verdicts.every((v) => v.kind === kind)).toBe(true);
    return verdicts.flatMap((v) => v.errors);
  }

  /**
   * istiod's translation of `yamlText` for a workload with these labels — the recording of case
   * `name`, which must have been made from exactly this input (re-recorded first under
   * PWASM_ISTIO_TRANSLATE=record) — then the agent's step on it, against this run's registry.
   */
  async function translate(name: CaseName, yamlText: string, labels: string, pullSecrets: Record<string, string> = {}): Promise<Translation> {
    const dir = mkdtempSync(join(work, "istio-"));
    const input: TranslationInput = { resources: placeholders.toRecorded(yamlText), labels, pullSecrets };
    if (RECORD) writeRecording(name, input, await istioTranslate(translator!, input, dir), placeholders);
    return istioAgent(gocheck, currentRecording(name, input, goModVersions), placeholders, dir);
  }

  function chain(t: Translation, direction: "CLIENT" | "SERVER", port: number): ChainInfo {
    const c = t.chains.find((x) => x.direction === direction && x.port === port);
    if (!c) throw new Error(`no ${direction} chain for port ${port}: ${JSON.stringify(t.chains.map((x) => `${x.direction} ${x.port}`))}`);
    return c;
  }

  const pluginNames = (filters: FilterInfo[] | undefined) => (filters ?? []).filter((f) => f.ecds).map((f) => f.name);

  // ECDS from the agent's resource, as a file Envoy watches (the agent would send it over ADS).
  function discovered(f: FilterInfo, t: Translation): JsonMap {
    const resource = t.ecds.find((e) => e.name === f.name);
    if (!resource) throw new Error(`istiod built no ECDS resource for ${f.name}`);
    return {
      name: f.name,
      config_discovery: {
        config_source: { path_config_source: { path: resource.file }, resource_api_version: "V3" },
        type_urls: (f.config as { typeUrls: string[] }).typeUrls,
      },
    };
  }

  /** Istio's chain as Envoy listener filters: plugins by ECDS, plain Envoy's filters as Istio configured them, Istio-only filters left out. */
  function envoyFilters(c: ChainInfo, t: Translation): { filters: JsonMap[]; leftOut: string[] } {
    const leftOut: string[] = [];
    const pick = (f: FilterInfo): JsonMap | undefined => {
      if (f.ecds) return discovered(f, t);
      if (f.config) return { name: f.name, typed_config: f.config };
      leftOut.push(f.name);
      return undefined;
    };
    const filters: JsonMap[] = [];
    for (const f of c.networkFilters) {
      if (f.name === "envoy.filters.network.http_connection_manager") {
        filters.push({
          name: f.name,
          typed_config: {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            stat_prefix: `${c.direction === "SERVER" ? "inbound" : "outbound"}_${c.port}`,
            route_config: { name: "local", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "upstream" } }] }] },
            http_filters: (c.httpFilters ?? []).map(pick).filter((x): x is JsonMap => x !== undefined),
          },
        });
      } else if (f.name === "envoy.filters.network.tcp_proxy") {
        filters.push({ name: f.name, typed_config: { ...f.config!, cluster: "upstream" } });
      } else {
        const p = pick(f);
        if (p) filters.push(p);
      }
    }
    return { filters, leftOut };
  }

  /** Envoy 1.40 running one chain as Istio built it; `extra` edits the bootstrap further. */
  async function envoyFor(filters: JsonMap[], o: { direction: "INBOUND" | "OUTBOUND"; node?: JsonMap; extra?: (config: JsonMap) => void }): Promise<RunningEnvoy> {
    return startLocalEnvoy({
      envoy: local.envoy!,
      // pwasm's bootstrap gives the admin listener, the upstream cluster and Istio's stats tags;
      // the listener's filters are replaced by Istio's chain.
      proxy: { plugins: [{ wasm: ADD_HEADER }], upstream: upstream.url, port: 0, admin: { port: 0 }, node: { id: "sidecar~10.1.2.3~reviews-v1.default~default.svc.cluster.local", cluster: "reviews.default", metadata: o.node } },
      readyTimeoutMs: 60_000,
      editConfig: (config) => {
        const listener = ((config.static_resources as JsonMap).listeners as JsonMap[])[0]!;
        listener.traffic_direction = o.direction;
        listener.filter_chains = [{ filters }];
        o.extra?.(config);
        return config;
      },
    });
  }

  const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

  describe("pwasm manifest --kind TrafficExtension", () => {
    it("writes every field: selection, phase, priority and match at the top, the plugin under spec.wasm; the API server accepts it", async () => {
      const cfg = join(work, "te-config.yaml");
      writeFileSync(cfg, "header: x-hello\nvalue: \"on\"\n");
      const m = await manifest([
        `oci://${reg.host}/plugins/add-header:v1`, "--kind", "TrafficExtension,WasmPlugin", "-n", "shop", "--root-id", "add_header", "--target-ref", "Gateway/ingress",
        "--phase", "UNSPECIFIED", "--priority", "7", "--match", "CLIENT:8080", "--plugin-config", cfg, "--fail-strategy", "FAIL_RELOAD", "--pull-policy", "Always",
        "--pull-secret", "regcred", "--env", "MODE=y", "--host-env", "POD_NAME", "--type", "HTTP",
      ]);
      const [wp, te] = m.docs as [Doc, Doc];
      expect(wp.kind).toBe("WasmPlugin"); // kinds are written in a fixed order
      expect(te).toEqual({
        apiVersion: "extensions.istio.io/v1alpha1",
        kind: "TrafficExtension",
        metadata: { name: "add-header", namespace: "shop" },
        spec: {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "ingress" }],
          phase: "UNSPECIFIED",
          priority: 7,
          match: [{ mode: "CLIENT", ports: [{ number: 8080 }] }],
          wasm: {
            url: `oci://${reg.host}/plugins/add-header:v1`,
            sha256: digests["add-header"],
            imagePullPolicy: "Always",
            imagePullSecret: "regcred",
            pluginName: "add_header",
            failStrategy: "FAIL_RELOAD",
            type: "HTTP",
            vmConfig: { env: [{ name: "MODE", value: "y" }, { name: "POD_NAME", valueFrom: "HOST" }] },
            pluginConfig: { header: "x-hello", value: "on" },
          },
        },
      });
      expect(wp.spec.phase).toBe("UNSPECIFIED_PHASE"); // each kind's spelling
      const [wpYaml, teYaml] = m.yaml.split(/^---$/m) as [string, string];
      expect(await validate("TrafficExtension", teYaml)).toEqual([]);
      expect(await validate("WasmPlugin", wpYaml)).toEqual([]);
    });

    it("is refused by the CRD where TrafficExtension differs from WasmPlugin (negative control)", async () => {
      const errors = await validate("TrafficExtension", `apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata: {name: bad}
spec:
  phase: UNSPECIFIED_PHASE
  url: oci://r.example/p:1
  wasm: {url: "ftp://r.example/p.wasm"}
  lua: {inlineCode: "x"}
`);
      const all = errors.join("\n");
      expect(all).toMatch(/spec\.phase: Unsupported value: "UNSPECIFIED_PHASE"/);
      expect(all).toMatch(/spec\.url: .*unknown field/);
      expect(all).toMatch(/exactly one of wasm or lua must be set/);
      expect(all).toMatch(/url must have schema one of/);
    });

    it("refuses --kind and --for together, and an unknown kind, in one line", async () => {
      const both = await runPwasm(["manifest", "oci://r.example/p:1", "--no-resolve", "--kind", "TrafficExtension", "--for", "istio"]);
      expect([both.code, both.stderr, both.stdout]).toEqual([1, "pwasm: give --kind or --for, not both\n", ""]);
      const lua = await runPwasm(["manifest", "oci://r.example/p:1", "--no-resolve", "--kind", "Lua"]);
      expect(lua.code).toBe(1);
      expect(lua.stderr).toMatch(/--kind: expected WasmPlugin, TrafficExtension or EnvoyExtensionPolicy \(comma-separated\), got 'lua'/);
      // A bare name with oci:// would mean Docker Hub: refused at once instead of asking docker.io.
      const bare = await runPwasm(["manifest", "oci://not-a-url"], { timeoutMs: 5_000 });
      expect(bare.code).toBe(1);
      expect(bare.stderr).toMatch(/names no registry/);
    });
  });

  describe.each(["WasmPlugin", "TrafficExtension"] as const)("examples/add-header as a %s", (kind) => {
    let doc: Doc;
    let t: Translation;
    let yamlText: string;
    const synthetic = kind === "WasmPlugin" ? "~istio-translated-wasmplugin" : "";
    const filterName = `extensions.istio.io/trafficextension/default.add-header${synthetic}`;

    beforeAll(async () => {
      const m = await manifest([
        `oci://${reg.host}/plugins/add-header:v1`, "--kind", kind, "-n", "default", "--root-id", "add_header", "--selector", "app=reviews",
        "--phase", "AUTHN", "--fail-strategy", "FAIL_CLOSE", "--pull-policy", "Always", "--env", "GREETING=hi", "--host-env", "HOME",
        "--match", "SERVER:8080", "--wasm", ADD_HEADER,
      ]);
      yamlText = m.yaml;
      expect(m.warnings).toEqual([]);
      [doc] = m.docs as [Doc];
      t = await translate(`add-header.${kind}`, yamlText, "app=reviews");
    }, 180_000);

    it("is what the API server accepts (CRD schema and CEL rules of istio.io/api v1.32.0)", async () => {
      expect(doc.kind).toBe(kind);
      expect(await validate(kind, yamlText)).toEqual([]);
    });

    it("is placed by istiod in phase AUTHN of the inbound HTTP chain only (match SERVER:8080)", () => {
      const inbound = chain(t, "SERVER", 8080);
      const names = inbound.httpFilters!.map((f) => f.name);
      // AUTHN: after metadata exchange, before the stats-side filters and the router.
      expect(names.slice(0, 3)).toEqual(["istio.metadata_exchange", filterName, "envoy.filters.http.grpc_stats"]);
      expect(names.at(-1)).toBe("envoy.filters.http.router");
      expect(pluginNames(chain(t, "CLIENT", 8080).httpFilters)).toEqual([]);
      expect(pluginNames(chain(t, "SERVER", 9000).networkFilters)).toEqual([]);
    });

    it("is delivered as Istio delivers it: ECDS, remote oci:// code, FAIL_CLOSED, env; the agent makes the code local", () => {
      expect(t.ecds.map((e) => e.name)).toEqual([filterName]);
      const istiod = t.ecds[0]!.istiod.typedConfig;
      expect(istiod["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
      expect(istiod.config).toMatchObject({
        name: `default.add-header${synthetic}`,
        rootId: "add_header",
        failurePolicy: "FAIL_CLOSED",
        vmConfig: {
          runtime: "envoy.wasm.runtime.v8",
          code: { remote: { httpUri: { uri: `oci://${reg.host}/plugins/add-header:v1`, cluster: "_", timeout: "30s" }, sha256: digests["add-header"] } },
          environmentVariables: { hostEnvKeys: ["HOME"], keyValues: { GREETING: "hi", ISTIO_META_WASM_IMAGE_PULL_POLICY: "Always", ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION: "1" } },
        },
      });
      // No pluginConfig: an empty Any (no StringValue at all).
      expect(istiod.config.configuration).toEqual({});
      expect(t.agentError).toBeUndefined();
      const agent = t.ecds[0]!.agent.typedConfig;
      expect(agent["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
      const file = agent.config.vmConfig.code.local.filename as string;
      expect(sha256(readFileSync(file))).toBe(sha256(readFileSync(ADD_HEADER)));
      expect(agent.config.vmConfig.environmentVariables).toEqual({ hostEnvKeys: ["HOME"], keyValues: { GREETING: "hi" } });
    });

    it.skipIf(!local.envoy)(`runs in Envoy 1.40 from the agent's resource and adds its header${SKIP}`, async () => {
      const { filters, leftOut } = envoyFilters(chain(t, "SERVER", 8080), t);
      expect(leftOut).toEqual(["istio.metadata_exchange", "istio.metadata_exchange"]); // network and HTTP
      const envoy = await envoyFor(filters, { direction: "INBOUND" });
      try {
        const seen = upstream.seen.length;
        const r = await httpRequest(`${envoy.url}/productpage`);
        expect(r.status, envoy.output.slice(-20).join("\n")).toBe(200);
        expect(r.headers["x-pwasm"]).toBe("add-header");
        expect(upstream.seen.length).toBe(seen + 1);
        // The filter Envoy runs is the agent's: its ECDS resource was accepted under Istio's name.
        const dump = JSON.parse((await httpRequest(`${envoy.adminUrl}/config_dump?resource=ecds_filters`)).body) as { configs: Array<{ ecds_filter: { name: string } }> };
        expect(dump.configs.map((c) => c.ecds_filter.name)).toEqual([filterName]);
      } finally {
        await envoy.stop();
      }
    }, 120_000);
  });

  // A downstream Istio sidecar's peer metadata (plugins/metadata-exchange/README.md's reference node:
  // productpage-v1 in default, app=productpage, version=v1).
  const PEER_METADATA = "CjMKBkxBQkVMUxIpKicKFAoDYXBwEg0aC3Byb2R1Y3RwYWdlCg8KB3ZlcnNpb24SBBoCdjEKFgoJTkFNRVNQQUNFEgkaB2RlZmF1bHQKIQoNV09SS0xPQURfTkFNRRIQGg5wcm9kdWN0cGFnZS12MQ==";
  const REVIEWS_NODE: JsonMap = { NAMESPACE: "default", WORKLOAD_NAME: "reviews-v1", CLUSTER_ID: "Kubernetes", LABELS: { app: "reviews", version: "v1" } };

  describe.each(["WasmPlugin", "TrafficExtension"] as const)("the metadata-exchange + stats pair as %ss", (kind) => {
    let yamlText: string;
    let t: Translation;
    let statsConfig: string;
    const synthetic = kind === "WasmPlugin" ? "~istio-translated-wasmplugin" : "";

    beforeAll(async () => {
      // A stats configuration Istio passes as JSON text: destination_app from a request header.
      statsConfig = join(work, `stats-${kind}.json`);
      writeFileSync(statsConfig, JSON.stringify({ metrics: [{ name: "requests_total", dimensions: { destination_app: "request.headers['x-app']" } }] }));
      const mx = await manifest([`oci://${reg.host}/plugins/metadata-exchange:v1`, "--kind", kind, "-n", "default", "--name", "mx", "--root-id", "metadata_exchange", "--phase", "AUTHN", "--priority", "100", "--wasm", MX]);
      const stats = await manifest([`oci://${reg.host}/plugins/stats:v1`, "--kind", kind, "-n", "default", "--name", "stats", "--root-id", "stats_inbound", "--phase", "STATS", "--match", "SERVER", "--plugin-config", statsConfig, "--wasm", STATS]);
      expect([...mx.warnings, ...stats.warnings]).toEqual([]);
      yamlText = `${mx.yaml}---\n${stats.yaml}`;
      t = await translate(`mx-stats.${kind}`, yamlText, "app=reviews,version=v1");
    }, 180_000);

    it("validates, and istiod orders them by phase: exchange (AUTHN) before stats (STATS), the configuration as a JSON string", async () => {
      expect(await validate(kind, yamlText)).toEqual([]);
      const mx = `extensions.istio.io/trafficextension/default.mx${synthetic}`;
      const stats = `extensions.istio.io/trafficextension/default.stats${synthetic}`;
      expect(pluginNames(chain(t, "SERVER", 8080).httpFilters)).toEqual([mx, stats]);
      expect(pluginNames(chain(t, "CLIENT", 8080).httpFilters)).toEqual([mx]); // stats matches SERVER only
      const config = t.ecds.find((e) => e.name === stats)!.istiod.typedConfig.config;
      expect(config.configuration["@type"]).toBe("type.googleapis.com/google.protobuf.StringValue");
      // istiod's JSON: compact, object keys sorted — what pwasm predicts for the warnings' check.
      expect(config.configuration.value).toBe('{"metrics":[{"dimensions":{"destination_app":"request.headers[\'x-app\']"},"name":"requests_total"}]}');
      const { istioPluginConfiguration } = await import("../../cli/manifest/warnings.js");
      expect(istioPluginConfiguration(JSON.parse(readFileSync(statsConfig, "utf8")) as Record<string, unknown>)).toBe(config.configuration.value);
    });

    it.skipIf(!local.envoy)(`runs in Envoy 1.40: the peer is exchanged and Istio's series are labelled${SKIP}`, async () => {
      const { filters } = envoyFilters(chain(t, "SERVER", 8080), t);
      const envoy = await envoyFor(filters, { direction: "INBOUND", node: REVIEWS_NODE });
      try {
        const seen = upstream.seen.length;
        const r = await httpRequest(`${envoy.url}/reviews/0`, {
          headers: { "x-envoy-peer-metadata": PEER_METADATA, "x-envoy-peer-metadata-id": "sidecar~10.0.0.9~productpage-v1.default~default.svc.cluster.local", "x-app": "from-config" },
        });
        expect(r.status, envoy.output.slice(-20).join("\n")).toBe(200);
        // metadata-exchange: the caller's headers are consumed, this node's go back.
        expect(upstream.seen[seen]!.headers["x-envoy-peer-metadata"]).toBeUndefined();
        expect(r.headers["x-envoy-peer-metadata-id"]).toBe("sidecar~10.1.2.3~reviews-v1.default~default.svc.cluster.local");
        await expect.poll(async () => (await httpRequest(`${envoy.adminUrl}/stats/prometheus`)).body, { timeout: 10_000 }).toMatch(/^istio_requests_total\{/m);
        const body = (await httpRequest(`${envoy.adminUrl}/stats/prometheus`)).body;
        const series = body.split("\n").find((l) => l.startsWith("istio_requests_total{"))!;
        expect(series).toContain('reporter="destination"');
        expect(series).toContain('source_workload="productpage-v1"');
        expect(series).toContain('source_app="productpage"');
        expect(series).toContain('destination_workload="reviews-v1"');
        expect(series).toContain('destination_app="from-config"'); // the pluginConfig reached the plugin
        expect(series).toContain('response_code="200"');
        expect(series).toMatch(/ 1$/);
      } finally {
        await envoy.stop();
      }
    }, 120_000);
  });

  describe("examples/add-header as an EnvoyExtensionPolicy (Envoy Gateway)", () => {
    // Envoy Gateway's translation (internal/xds/translator/wasm.go, reproduced: its packages are
    // internal): the controller fetches the image (internal/wasm is a port of Istio's fetcher, run
    // here as Istio's) and serves the module over HTTP; the HCM gets a disabled
    // `envoy.filters.http.wasm/<name>` filter, enabled on the route, configuration the raw JSON in a
    // StringValue, code remote from that server with the module's sha256, vm_id the filter's name.
    it.skipIf(!local.envoy)(`is fetched as Envoy Gateway fetches it and adds its header in Envoy 1.40${SKIP}`, async () => {
      const m = await manifest([`oci://${reg.host}/plugins/add-header:v1`, "--kind", "EnvoyExtensionPolicy", "--root-id", "add_header", "--target-ref", "Gateway/eg", "--fail-strategy", "FAIL_OPEN", "--wasm", ADD_HEADER]);
      const [eep] = m.docs as [Doc];
      expect(eep.kind).toBe("EnvoyExtensionPolicy");
      const wasm = eep.spec.wasm[0] as { name: string; rootID: string; code: { image: { url: string; sha256: string } }; failOpen: boolean };
      const out = join(work, "eg-module.wasm");
      const fetched = await run(gocheck, ["fetch", wasm.code.image.url, out]);
      expect(fetched.code, fetched.stderr).toBe(0);
      expect(lastJson<{ digest: string }>(fetched.stdout).digest).toBe(wasm.code.image.sha256);
      const module = readFileSync(out);
      const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/wasm" }).end(module));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const servedPort = (server.address() as AddressInfo).port;
      const irName = `envoyextensionpolicy/default/${eep.metadata.name}/wasm/0`;
      const filterName = `envoy.filters.http.wasm/${irName}`;
      const filter: JsonMap = {
        name: filterName,
        disabled: true,
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
          config: {
            name: wasm.name,
            root_id: wasm.rootID,
            vm_config: {
              vm_id: irName,
              runtime: "envoy.wasm.runtime.v8",
              code: { remote: { http_uri: { uri: `http://127.0.0.1:${servedPort}/${irName}.wasm`, cluster: "wasm_cluster", timeout: "10s" }, sha256: sha256(module) } },
            },
            configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "" },
            fail_open: wasm.failOpen,
          },
        },
      };
      const filters: JsonMap[] = [{
        name: "envoy.filters.network.http_connection_manager",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          stat_prefix: "http-10080",
          route_config: {
            name: "default/eg/http",
            virtual_hosts: [{
              name: "all", domains: ["*"],
              routes: [{ match: { prefix: "/" }, route: { cluster: "upstream" }, typed_per_filter_config: { [filterName]: { "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", config: {} } } }],
            }],
          },
          http_filters: [filter, { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
        },
      }];
      const envoy = await envoyFor(filters, {
        direction: "OUTBOUND",
        extra: (config) => {
          ((config.static_resources as JsonMap).clusters as JsonMap[]).push({
            name: "wasm_cluster", type: "STATIC", connect_timeout: "5s",
            load_assignment: { cluster_name: "wasm_cluster", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: servedPort } } } }] }] },
          });
        },
      });
      try {
        await expect.poll(async () => (await httpRequest(`${envoy.url}/`)).headers["x-pwasm"], { timeout: 15_000 }).toBe("add-header");
      } finally {
        await envoy.stop();
        await new Promise<void>((r) => server.close(() => r()));
      }
    }, 120_000);
  });

  describe("pwasm manifest's warnings (stderr, before anything is written)", () => {
    it("names choices Istio would refuse or that would surprise, and still writes valid resources", async () => {
      const cfg = join(work, "not-for-add-header.yaml");
      // add-header's configuration is "name: value" text; written as YAML it becomes {"x-hello":"world"}.
      writeFileSync(cfg, "x-hello: world\n");
      const r = await runPwasm([
        "manifest", `oci://${reg.host}/plugins/jwt-auth:v1`, "--no-resolve", "--kind", "TrafficExtension", "--root-id", "jwt_auth",
        "--pull-policy", "IfNotPresent", "--fail-strategy", "FAIL_OPEN", "--type", "NETWORK", "--phase", "AUTHZ", "--plugin-config", cfg,
        "--wasm", built("examples/auth-callout"),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stderr.trim().split("\n");
      expect(lines.every((l) => l.startsWith("pwasm: warning: TrafficExtension: "))).toBe(true);
      expect(r.stderr).toMatch(/tag :v1 without a digest and pullPolicy IfNotPresent/);
      expect(r.stderr).toMatch(/FAIL_OPEN on what looks like a security filter \(name 'jwt_auth'\)/);
      expect(r.stderr).toMatch(/a NETWORK plugin in phase AUTHZ/);
      expect(await validate("TrafficExtension", r.stdout)).toEqual([]);
    });

    // A plugin that checks its configuration's first byte: `wantsJson` refuses anything but a JSON
    // object (and an empty configuration), otherwise it refuses JSON (it wants "name: value" text).
    function configChecker(wantsJson: boolean): string {
      const file = join(work, `checker-${wantsJson}.wasm`);
      writeFileSync(file, wat(`(module
        (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (global $heap (mut i32) (i32.const 1024))
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
          (local $p i32) (local.set $p (global.get $heap)) (global.set $heap (i32.add (global.get $heap) (local.get $n))) (local.get $p))
        (func (export "proxy_on_context_create") (param i32 i32))
        (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
        (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
          (if (i32.eqz (local.get $size)) (then (return (i32.const ${wantsJson ? 0 : 1}))))
          (drop (call $get (i32.const 7) (i32.const 0) (local.get $size) (i32.const 16) (i32.const 20)))
          (i32.${wantsJson ? "eq" : "ne"} (i32.load8_u (i32.load (i32.const 16))) (i32.const 123)))
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0)))`));
      return file;
    }

    it("starts the module with the configuration as Istio passes it and reports a refusal", async () => {
      const yamlText = join(work, "header.yaml");
      writeFileSync(yamlText, "x-hello: world\n"); // meant as "name: value" text; YAML makes it a mapping
      const url = `oci://${reg.host}/plugins/checker:v1`;
      const base = [url, "--no-resolve", "--pull-policy", "Always"];
      const text = await runPwasm(["manifest", ...base, "--plugin-config", yamlText, "--wasm", configChecker(false)]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stderr).toContain('pwasm: warning: WasmPlugin: the plugin refuses the configuration Istio would pass it (the JSON text {"x-hello":"world"}; Istio always sends pluginConfig as JSON)');
      const missing = await runPwasm(["manifest", ...base, "--wasm", configChecker(true)]);
      expect(missing.stderr).toContain("the plugin refuses the configuration Istio would pass it (an empty configuration;");
      const json = await runPwasm(["manifest", ...base, "--plugin-config", yamlText, "--wasm", configChecker(true)]);
      expect(json.code, json.stderr).toBe(0);
      expect(json.stderr).toBe("");
    });
  });

  describe("plugins/stats as a NETWORK TrafficExtension (type NETWORK)", () => {
    it.skipIf(!local.envoy)(`is a network filter of the TCP chain, before tcp_proxy, and reports Istio's TCP series in Envoy 1.40${SKIP}`, async () => {
      const m = await manifest([`oci://${reg.host}/plugins/stats:v1`, "--kind", "TrafficExtension", "-n", "default", "--name", "tcp-stats", "--root-id", "stats_inbound", "--type", "NETWORK", "--match", "SERVER:9000", "--wasm", STATS]);
      expect(await validate("TrafficExtension", m.yaml)).toEqual([]);
      const t = await translate("tcp-stats.TrafficExtension", m.yaml, "app=reviews");
      const name = "extensions.istio.io/trafficextension/default.tcp-stats";
      const tcp = chain(t, "SERVER", 9000);
      expect(tcp.networkFilters.map((f) => f.name)).toEqual(["istio.metadata_exchange", name, "envoy.filters.network.tcp_proxy"]);
      expect(pluginNames(chain(t, "SERVER", 8080).networkFilters)).toEqual([]); // match SERVER:9000
      expect(t.ecds[0]!.istiod.typedConfig["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm");
      const { filters, leftOut } = envoyFilters(tcp, t);
      expect(leftOut).toEqual(["istio.metadata_exchange"]);
      const envoy = await envoyFor(filters, { direction: "INBOUND", node: REVIEWS_NODE });
      try {
        // HTTP through the TCP proxy: one connection, closed after the response.
        const r = await httpRequest(`${envoy.url}/tcp`);
        expect(r.status, envoy.output.slice(-20).join("\n")).toBe(200);
        await expect.poll(async () => (await httpRequest(`${envoy.adminUrl}/stats/prometheus`)).body, { timeout: 15_000 }).toMatch(/^istio_tcp_connections_closed_total\{/m);
        const body = (await httpRequest(`${envoy.adminUrl}/stats/prometheus`)).body;
        const opened = body.split("\n").find((l) => l.startsWith("istio_tcp_connections_opened_total{"))!;
        expect(opened).toContain('reporter="destination"');
        expect(opened).toContain('destination_workload="reviews-v1"');
        expect(opened).toContain('request_protocol="tcp"');
        expect(opened).toMatch(/ 1$/);
      } finally {
        await envoy.stop();
      }
    }, 120_000);
  });

  describe.each([["FAIL_CLOSE", 403, "wasm-default-deny"], ["FAIL_OPEN", 200, "wasm-default-allow"]] as const)("a module the agent cannot fetch, with %s", (strategy, status, statPrefix) => {
    it.skipIf(!local.envoy)(`is replaced by the agent's RBAC filter (${statPrefix}) and Envoy answers ${status}${SKIP}`, async () => {
      const m = await manifest([`oci://${reg.host}/plugins/add-header:missing`, "--no-resolve", "--kind", "TrafficExtension", "-n", "default", "--root-id", "add_header", "--pull-policy", "Always", "--fail-strategy", strategy]);
      const t = await translate(`unfetchable.${strategy}`, m.yaml, "app=reviews");
      expect(t.ecds[0]!.agent.typedConfig["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC");
      expect(JSON.stringify(t.ecds[0]!.agent.typedConfig)).toContain(statPrefix);
      const envoy = await envoyFor(envoyFilters(chain(t, "SERVER", 8080), t).filters, { direction: "INBOUND" });
      try {
        const r = await httpRequest(`${envoy.url}/`);
        expect(r.status).toBe(status);
        expect(r.headers["x-pwasm"]).toBeUndefined();
      } finally {
        await envoy.stop();
      }
    }, 120_000);
  });

  describe("the VM environment, as Istio sets it", () => {
    // A plugin that answers with its WASI environment: `x-env: NAME=value,NAME=value`.
    const ENV_ECHO = wat(`(module
      (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
      (memory (export "memory") 2)
      (global $heap (mut i32) (i32.const 65536))
      (data (i32.const 0) "x-env")
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
        (local $p i32) (local.set $p (global.get $heap)) (global.set $heap (i32.add (global.get $heap) (local.get $n))) (local.get $p))
      (func (export "proxy_on_context_create") (param i32 i32))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (local $i i32) (local $end i32)
        (drop (call $sizes (i32.const 16) (i32.const 20)))
        (drop (call $get (i32.const 1024) (i32.const 4096)))
        (local.set $end (i32.add (i32.const 4096) (i32.load (i32.const 20))))
        (local.set $i (i32.const 4096))
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
          (if (i32.eqz (i32.load8_u (local.get $i))) (then (i32.store8 (local.get $i) (i32.const 44))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
        (drop (call $add (i32.const 2) (i32.const 0) (i32.const 5) (i32.const 4096) (i32.sub (i32.load (i32.const 20)) (i32.const 1))))
        (i32.const 0)))`);

    it.skipIf(!local.envoy)(`reaches the plugin in Envoy 1.40: inline values and HOST variables, none of Istio's ISTIO_META_*${SKIP}`, async () => {
      // Envoy inherits this process's environment: the HOST variable's value comes from there.
      process.env.PWASM_TEST_HOST_VAR = "from-the-proxy";
      const file = join(work, "env-echo.wasm");
      writeFileSync(file, ENV_ECHO);
      const pushed = await runPwasm(["push", file, `oci://${reg.host}/plugins/env-echo:v1`, "--json"]);
      expect(pushed.code, pushed.stderr).toBe(0);
      digests["env-echo"] = (JSON.parse(pushed.stdout) as { sha256: string }).sha256;
      const m = await manifest([`oci://${reg.host}/plugins/env-echo:v1`, "--kind", "TrafficExtension", "-n", "default", "--env", "GREETING=hi", "--env", "EMPTY=", "--host-env", "PWASM_TEST_HOST_VAR", "--pull-secret", "regcred", "--wasm", file]);
      expect(await validate("TrafficExtension", m.yaml)).toEqual([]);
      // istiod adds the pull secret (here the Secret's dockerconfigjson: anonymous) for the agent only.
      const t = await translate("env-echo.TrafficExtension", m.yaml, "app=reviews", { regcred: JSON.stringify({ auths: {} }) });
      expect(Object.keys(t.ecds[0]!.istiod.typedConfig.config.vmConfig.environmentVariables.keyValues).sort()).toEqual(["EMPTY", "GREETING", "ISTIO_META_WASM_IMAGE_PULL_SECRET", "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION"]);
      const { filters } = envoyFilters(chain(t, "SERVER", 8080), t);
      const envoy = await envoyFor(filters, { direction: "INBOUND" });
      try {
        const reply = await httpRequest(`${envoy.url}/`);
        expect(reply.status).toBe(200);
        const env = (reply.headers["x-env"] as string).split(",").sort();
        expect(env).toEqual(["EMPTY=", "GREETING=hi", "PWASM_TEST_HOST_VAR=from-the-proxy"]);
      } finally {
        await envoy.stop();
      }
    }, 120_000);
  });

  describe("the recorded translation, made again by istiod's code (test/oci/gocheck/cmd/istio-translate)", () => {
    // Last: under PWASM_ISTIO_TRANSLATE=record the cases above have just written their files.
    it("exists for every case translated above, and for none other", () => {
      expect(recordedCases(), STALE).toEqual([...CASES].sort());
    });

    for (const name of CASES) {
      it.skipIf(!TRANSLATE)(`of ${name} equals the recording${TRANSLATE_SKIP}`, async () => {
        const recorded = readRecording(name);
        if (!recorded) throw new Error(`${STALE} (no recording of case ${name})`);
        const fresh = await istioTranslate(translator!, recorded, mkdtempSync(join(work, "istio-")));
        expect(fresh, `istiod translates ${name} differently now: ${STALE}`).toEqual({ versions: recorded.versions, chains: recorded.chains, ecds: recorded.ecds });
      }, 120_000);
    }
  });
});
