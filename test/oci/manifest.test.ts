// pwasm manifest / push --manifest: WasmPlugin and EnvoyExtensionPolicy resources, validated by
// kube-apiserver's own CRD validation code (OpenAPI schema + x-kubernetes-validations CEL rules
// with Kubernetes' CEL libraries) against Istio's WasmPlugin CRD (from the istio.io/api module).
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPwasm } from "../helpers/cli.js";
import { built, ROOT } from "../helpers/paths.js";
import { buildGoCheck, run, startRegistry, wasmPluginCrd, type TestRegistry } from "./registry.js";
import { skipWithout } from "../helpers/tools.js";

// Outside tools: the registry and Go (the checker).
const skip = skipWithout(["docker-registry", "go"], "test/oci/manifest.test.ts");

let CRD: string;
const module = readFileSync(built("examples/add-header"));
const moduleHex = createHash("sha256").update(module).digest("hex");

let reg: TestRegistry;
let gocheck: string;
let work: string;

beforeAll(async () => {
  [reg, gocheck] = await Promise.all([startRegistry(), buildGoCheck()]);
  CRD = await wasmPluginCrd();
  work = mkdtempSync(join(tmpdir(), "pwasm-manifest-"));
  writeFileSync(join(work, "config.yaml"), "header: x-hello\nvalue: \"on\"\nenabled: true\nports: [80, 443]\nnested: {a: [1, {b: null}]}\n");
  writeFileSync(join(work, "config.json"), JSON.stringify({ mode: "y", limit: 10 }));
}, 600_000);

afterAll(async () => {
  await reg?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Verdict {
  kind: string;
  name: string;
  errors: string[];
}

/** Validates every WasmPlugin in the YAML as the API server would. */
async function validate(yamlText: string): Promise<Verdict[]> {
  const file = join(work, `v-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yamlText);
  const r = await run(gocheck, ["validate-crd", CRD, file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Verdict);
}

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, any> };
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Doc);

async function manifest(args: string[]): Promise<string> {
  const r = await runPwasm(["manifest", ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(skip)("the CRD validator (negative control: it does reject)", () => {
  it("reports every CEL rule and schema violation of a bad WasmPlugin", async () => {
    const [v] = await validate(`apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: bad}
spec:
  url: "ftp://example.com/p.wasm"
  sha256: "sha256:${moduleHex}"
  selector: {matchLabels: {"app*": "x"}}
  targetRefs: [{kind: Gateway, name: gw}]
  phase: AUTHZZ
  vmConfig: {env: [{name: A, valueFrom: HOST, value: x}]}
  extra: 1
`);
    const all = v!.errors.join("\n");
    expect(all).toMatch(/spec\.url: .*url must have schema one of \[http, https, file, oci\]/);
    expect(all).toMatch(/spec: .*only one of targetRefs or selector can be set/);
    expect(all).toMatch(/wildcard not allowed in label key match/);
    expect(all).toMatch(/value may only be set when valueFrom is INLINE/);
    expect(all).toMatch(/spec\.sha256 .*should match/);
    expect(all).toMatch(/spec\.phase: Unsupported value: "AUTHZZ"/);
    expect(all).toMatch(/spec\.extra: .*unknown field/);
  });
});

describe.skipIf(skip)("pwasm manifest", () => {
  it("resolves the manifest digest from the registry and writes a WasmPlugin the API server accepts", async () => {
    const pushed = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/add-header:v1`, "--json"]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const digest = (JSON.parse(pushed.stdout) as { sha256: string }).sha256;
    const text = await manifest([
      `oci://${reg.host}/plugins/add-header:v1`, "-n", "istio-system", "--root-id", "add_header", "--selector", "app=web", "--selector", "version=on",
      "--phase", "AUTHN", "--priority", "-5", "--plugin-config", join(work, "config.yaml"), "--fail-strategy", "FAIL_OPEN",
      "--pull-policy", "Always", "--pull-secret", "regcred", "--match", "SERVER:8080,8443", "--match", "CLIENT",
      "--env", "MODE=y", "--env", "EMPTY=", "--host-env", "POD_NAME", "--type", "HTTP",
    ]);
    expect(await validate(text)).toEqual([{ kind: "WasmPlugin", name: "add-header", errors: [] }]);
    const [wp] = docs(text);
    expect(wp).toEqual({
      apiVersion: "extensions.istio.io/v1alpha1",
      kind: "WasmPlugin",
      metadata: { name: "add-header", namespace: "istio-system" },
      spec: {
        selector: { matchLabels: { app: "web", version: "on" } },
        url: `oci://${reg.host}/plugins/add-header:v1`,
        sha256: digest,
        imagePullPolicy: "Always",
        imagePullSecret: "regcred",
        pluginName: "add_header",
        phase: "AUTHN",
        priority: -5,
        failStrategy: "FAIL_OPEN",
        type: "HTTP",
        match: [{ mode: "SERVER", ports: [{ number: 8080 }, { number: 8443 }] }, { mode: "CLIENT" }],
        vmConfig: { env: [{ name: "MODE", value: "y" }, { name: "EMPTY", value: "" }, { name: "POD_NAME", valueFrom: "HOST" }] },
        pluginConfig: { header: "x-hello", value: "on", enabled: true, ports: [80, 443], nested: { a: [1, { b: null }] } },
      },
    });
    // Strings YAML 1.1 would read as booleans stay quoted (kubectl parses YAML 1.1).
    expect(text).toMatch(/value: "y"/);
    expect(text).toMatch(/version: "on"/);
  });

  it("writes valid resources for every URL form and target", async () => {
    const wasm = built("examples/add-header");
    const cases: string[][] = [
      [`oci://${reg.host}/plugins/add-header:v1`, "--pin", "--target-ref", "Gateway/ingress", "--target-ref", "networking.istio.io/ServiceEntry/api"],
      [`${reg.host}/plugins/add-header:v1`, "--no-resolve", "--name", "no-scheme"],
      ["https://example.com/filters/add-header.wasm", "--wasm", wasm, "--plugin-config", join(work, "config.json")],
      ["file:///var/local/wasm/add-header.wasm", "--target-ref", "/Service/waypoint"],
      [`oci://${reg.host}/plugins/add-header:v1`, "--sha256", `sha256:${"a".repeat(64)}`, "--type", "NETWORK", "--fail-strategy", "FAIL_RELOAD"],
    ];
    for (const args of cases) {
      const text = await manifest(args);
      const verdicts = await validate(text);
      expect(verdicts, `${args.join(" ")}\n${text}`).toEqual([{ kind: "WasmPlugin", name: expect.any(String), errors: [] }]);
    }
    const [pinned] = docs(await manifest(cases[0]!));
    expect(pinned!.spec.url).toMatch(new RegExp(`^oci://${reg.host}/plugins/add-header@sha256:([0-9a-f]{64})$`));
    expect(pinned!.spec.url.endsWith(pinned!.spec.sha256)).toBe(true);
    expect(pinned!.spec.targetRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "ingress" }, { group: "networking.istio.io", kind: "ServiceEntry", name: "api" }]);
    const [http] = docs(await manifest(cases[2]!));
    expect(http!.spec.sha256).toBe(moduleHex); // for http(s): the module's sha256, not a manifest digest
    expect(http!.metadata.name).toBe("add-header");
  });

  it("refuses combinations the CRD forbids, naming the option", async () => {
    const refs: Array<[string[], RegExp]> = [
      [["oci://r.example/p:1", "--no-resolve", "--selector", "a=b", "--target-ref", "Gateway/g"], /either --selector or --target-ref, not both/],
      [["oci://r.example/p:1", "--sha256", "abc"], /sha256 must be 64 hex digits/],
      [["ftp://r.example/p.wasm"], /url must be oci:\/\/, http:\/\/, https:\/\/ or file:\/\//],
      [["oci://r.example/p:1", "--no-resolve", "--selector", "app=*"], /wildcards are not allowed/],
      [["oci://r.example/p:1", "--no-resolve", "--for", "envoy-gateway"], /EnvoyExtensionPolicy needs --target-ref/],
      [["oci://r.example/p:1", "--no-resolve", "--match", "INBOUND"], /--match INBOUND: mode must be one of/],
      [["oci://r.example/p:1", "--no-resolve", "--plugin-config", join(work, "missing.yaml")], /--plugin-config: cannot read/],
      [[`oci://r.example/p@sha256:${"b".repeat(64)}`, "--sha256", "c".repeat(64)], /Istio requires both to agree/],
      [["https://e.example/p.wasm", "--wasm", built("examples/add-header"), "--sha256", "d".repeat(64)], /does not match/],
    ];
    for (const [args, re] of refs) {
      const r = await runPwasm(["manifest", ...args]);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(r.stdout).toBe("");
    }
  });
});

describe.skipIf(skip)("pwasm push --manifest", () => {
  it("pushes and writes a WasmPlugin and an EnvoyExtensionPolicy for the pushed digest, atomically", async () => {
    const out = join(work, "deploy.yaml");
    const r = await runPwasm([
      "push", built("examples/add-header"), `oci://${reg.host}/plugins/eg:1`, "--json", "--manifest", out, "--for", "both",
      "--root-id", "add_header", "--target-ref", "Gateway/eg", "--plugin-config", join(work, "config.json"), "--fail-strategy", "FAIL_OPEN",
      "--pull-secret", "regcred", "--pull-policy", "IfNotPresent", "--host-env", "POD_NAME", "--phase", "STATS",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: EnvoyExtensionPolicy: --phase has no Envoy Gateway equivalent/);
    const { sha256 } = JSON.parse(r.stdout) as { sha256: string };
    const text = readFileSync(out, "utf8");
    expect(readdirSync(work).filter((f) => f.startsWith("deploy.yaml.tmp"))).toEqual([]);
    expect(await validate(text)).toEqual([
      { kind: "WasmPlugin", name: "eg", errors: [] },
      { kind: "EnvoyExtensionPolicy", name: "eg", errors: [] }, // not a WasmPlugin: skipped by the validator
    ]);
    const [wp, eep] = docs(text);
    expect(wp!.spec).toMatchObject({ url: `oci://${reg.host}/plugins/eg:1`, sha256, pluginName: "add_header", phase: "STATS", targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "eg" }] });
    expect(eep).toEqual({
      apiVersion: "gateway.envoyproxy.io/v1alpha1",
      kind: "EnvoyExtensionPolicy",
      metadata: { name: "eg" },
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "eg" }],
        wasm: [{
          name: "eg",
          rootID: "add_header",
          code: { type: "Image", image: { url: `${reg.host}/plugins/eg:1`, sha256, pullSecretRef: { group: "", kind: "Secret", name: "regcred" } }, pullPolicy: "IfNotPresent" },
          config: { mode: "y", limit: 10 },
          failOpen: true,
          env: { hostKeys: ["POD_NAME"] },
        }],
      },
    });
  });

  it("takes --kind: a TrafficExtension for the pushed digest", async () => {
    const out = join(work, "te.yaml");
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/te:1`, "--json", "--manifest", out, "--kind", "TrafficExtension", "--root-id", "add_header", "--phase", "STATS"]);
    expect(r.code, r.stderr).toBe(0);
    const { sha256 } = JSON.parse(r.stdout) as { sha256: string };
    const [te] = docs(readFileSync(out, "utf8"));
    expect(te).toEqual({
      apiVersion: "extensions.istio.io/v1alpha1",
      kind: "TrafficExtension",
      metadata: { name: "te" },
      spec: { phase: "STATS", wasm: { url: `oci://${reg.host}/plugins/te:1`, sha256, pluginName: "add_header" } },
    });
  });

  it("refuses bad manifest options before pushing anything", async () => {
    const out = join(work, "never.yaml");
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/never:1`, "--manifest", out, "--selector", "a=b", "--target-ref", "Gateway/g"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/either --selector or --target-ref/);
    expect(existsSync(out)).toBe(false);
    const res = await fetch(`http://${reg.host}/v2/plugins/never/tags/list`);
    expect(res.status).toBe(404); // the repository was never created
  });
});
