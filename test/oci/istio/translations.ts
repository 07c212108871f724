// Istio's translation of the manifests test/oci/istio_deploy.test.ts deploys, recorded as data.
//
// istiod's translation (WasmPlugin → TrafficExtension, the sidecar's listeners, the ECDS
// resources) is computed by Istio's own code in test/oci/gocheck/cmd/istio-translate, which takes
// minutes to build; CI runs the recording instead. Each case is two files under translations/:
// `<case>.yaml`, the manifest exactly as `pwasm manifest` wrote it, and `<case>.json`, the labels,
// pull secrets and Istio module versions it was translated with, and istiod's output. The
// registry host and module digests of a run vary, so they are recorded as placeholders
// (REGISTRY_PLACEHOLDER, placeholderDigest) and put back before the agent step. docs/istio-deploy.md
// says how the files are regenerated (`npm run istio:translations`).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../helpers/paths.js";
import type { JsonMap } from "../../../cli/envoy/bootstrap.js";
import { lastJson, run } from "../registry.js";

/** Where the recordings live. */
export const TRANSLATIONS_DIR = join(ROOT, "test", "oci", "istio", "translations");

/** What a failed comparison with the recording tells the reader to do. */
export const STALE = "the recorded Istio translation is stale: run npm run istio:translations";

/** Stands for the test registry's `127.0.0.1:<port>` in recordings (.test is reserved: RFC 2606). */
export const REGISTRY_PLACEHOLDER = "registry.test:5000";

/** Stands for the sha256 of a module (named as pushed: `add-header`, `stats`, …) in recordings. */
export function placeholderDigest(module: string): string {
  return createHash("sha256").update(`pwasm test placeholder for the digest of ${module}`).digest("hex");
}

/** One filter of a chain as istiod wrote it (cmd/istio-translate's filterInfo). */
export interface FilterInfo { name: string; ecds: boolean; typeUrl?: string; config?: JsonMap }

/** One filter chain of one of the sidecar's listeners. */
export interface ChainInfo { listener: string; direction: "CLIENT" | "SERVER"; port: number; protocol: "http" | "tcp"; networkFilters: FilterInfo[]; httpFilters?: FilterInfo[] }

/** A TypedExtensionConfig in protojson; the typed config's fields vary by filter. */
export interface ExtensionConfig { name: string; typedConfig: any }

/** What istiod sends for one case (cmd/istio-translate's output). */
export interface IstiodTranslation {
  /** Module path → version linked into istio-translate. */
  versions: Record<string, string>;
  chains: ChainInfo[];
  ecds: Array<{ name: string; istiod: ExtensionConfig }>;
}

/** What goes into istiod for one case. */
export interface TranslationInput {
  /** The manifest(s), with placeholders for the registry and digests. */
  resources: string;
  /** The workload's labels, `k=v,k=v`. */
  labels: string;
  /** Pull Secret name → its .dockerconfigjson. */
  pullSecrets: Record<string, string>;
}

/** A recorded case. */
export interface Recording extends IstiodTranslation, TranslationInput {}

/** istiod's and the agent's translation, with this run's registry and digests, as the tests use it. */
export interface Translation {
  chains: ChainInfo[];
  ecds: Array<{ name: string; istiod: ExtensionConfig; agent: ExtensionConfig; file: string }>;
  agentError?: string;
}

/** Maps this run's registry host and module digests to and from their placeholders. */
export class Placeholders {
  /** `registry` is `host:port`; `digests` maps a module's name to its sha256 (filled as modules are pushed). */
  constructor(private readonly registry: string, private readonly digests: Record<string, string>) {}

  private pairs(): Array<[live: string, recorded: string]> {
    return [[this.registry, REGISTRY_PLACEHOLDER], ...Object.entries(this.digests).map(([m, d]) => [d, placeholderDigest(m)] as [string, string])];
  }

  /** `text` as recorded. */
  toRecorded(text: string): string {
    return this.pairs().reduce((t, [live, recorded]) => t.replaceAll(live, recorded), text);
  }

  /** `text` from a recording, for this run. */
  toLive(text: string): string {
    return this.pairs().reduce((t, [live, recorded]) => t.replaceAll(recorded, live), text);
  }

  /** What each placeholder in `text` stands for, for a reader of the recording. */
  describe(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (text.includes(REGISTRY_PLACEHOLDER)) out[REGISTRY_PLACEHOLDER] = "the test's docker-registry (127.0.0.1:<port>)";
    for (const m of Object.keys(this.digests).sort()) {
      if (text.includes(placeholderDigest(m))) out[placeholderDigest(m)] = `the sha256 of the ${m} module as pushed`;
    }
    return out;
  }
}

const files = (name: string) => ({ yaml: join(TRANSLATIONS_DIR, `${name}.yaml`), json: join(TRANSLATIONS_DIR, `${name}.json`) });

/** Names of the recorded cases, sorted. */
export function recordedCases(): string[] {
  if (!existsSync(TRANSLATIONS_DIR)) return [];
  return [...new Set(readdirSync(TRANSLATIONS_DIR).filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => f.replace(/\.(ya?ml|json)$/, "")))].sort();
}

/** The recording of `name`, or undefined when there is none. */
export function readRecording(name: string): Recording | undefined {
  const f = files(name);
  if (!existsSync(f.yaml) || !existsSync(f.json)) return undefined;
  const json = JSON.parse(readFileSync(f.json, "utf8")) as Omit<Recording, "resources">;
  return { ...json, resources: readFileSync(f.yaml, "utf8") };
}

// Sorted keys at every level: the files diff by content, whatever order Go's protojson chose.
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/** Writes the recording of `name`; `placeholders` explains the placeholders in it. */
export function writeRecording(name: string, input: TranslationInput, output: IstiodTranslation, placeholders: Placeholders): void {
  const f = files(name);
  const json = {
    about: `istiod's translation of ${name}.yaml by test/oci/gocheck/cmd/istio-translate; generated by npm run istio:translations, do not edit`,
    placeholders: placeholders.describe(input.resources),
    labels: input.labels,
    pullSecrets: input.pullSecrets,
    versions: output.versions,
    chains: output.chains,
    ecds: output.ecds,
  };
  mkdirSync(TRANSLATIONS_DIR, { recursive: true });
  writeFileSync(f.yaml, input.resources);
  // Top-level fields in reading order; sorted keys below.
  writeFileSync(f.json, `${JSON.stringify(Object.fromEntries(Object.entries(json).map(([k, v]) => [k, canonical(v)])), null, 2)}\n`);
}

/** Removes the recording of `name`. */
export function removeRecording(name: string): void {
  const f = files(name);
  rmSync(f.yaml, { force: true });
  rmSync(f.json, { force: true });
}

function firstDifference(a: string, b: string): string {
  const al = a.split("\n");
  const bl = b.split("\n");
  const i = al.findIndex((l, n) => l !== bl[n]);
  const n = i === -1 ? al.length : i;
  return `line ${n + 1}: recorded ${JSON.stringify(al[n] ?? "(end)")}, now ${JSON.stringify(bl[n] ?? "(end)")}`;
}

/**
 * The recording of `name`, checked against what the test would send to istiod now and the Istio
 * versions the checker's go.mod selects; throws STALE with the first difference otherwise.
 */
export function currentRecording(name: string, input: TranslationInput, versions: Record<string, string>): Recording {
  const r = readRecording(name);
  if (!r) throw new Error(`${STALE} (no recording of case ${name} in ${TRANSLATIONS_DIR})`);
  if (r.resources !== input.resources) throw new Error(`${STALE} (case ${name}: pwasm manifest now writes something else, ${firstDifference(r.resources, input.resources)})`);
  if (r.labels !== input.labels) throw new Error(`${STALE} (case ${name}: the workload's labels were ${r.labels}, now ${input.labels})`);
  if (JSON.stringify(canonical(r.pullSecrets)) !== JSON.stringify(canonical(input.pullSecrets))) throw new Error(`${STALE} (case ${name}: the pull secrets differ)`);
  for (const [module, version] of Object.entries(versions)) {
    if (r.versions[module] !== version) throw new Error(`${STALE} (case ${name}: translated with ${module} ${r.versions[module] ?? "(none)"}, the checker's go.mod has ${version})`);
  }
  return r;
}

/** Runs istiod's translation (the istio-translate program) on `input`; `dir` holds its files. */
export async function istioTranslate(program: string, input: TranslationInput, dir: string): Promise<IstiodTranslation> {
  writeFileSync(join(dir, "resources.yaml"), input.resources);
  const secrets = Object.entries(input.pullSecrets).flatMap(([secret, content]) => {
    const file = join(dir, `pull-secret-${secret}.json`);
    writeFileSync(file, content);
    return ["--pull-secret", `${secret}=${file}`];
  });
  const r = await run(program, ["--labels", input.labels, ...secrets, join(dir, "resources.yaml")], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`istio-translate failed (${r.code}):\n${r.stderr.slice(-3000)}`);
  return lastJson<IstiodTranslation>(r.stdout);
}

/**
 * The istio-agent's step on a recorded translation (gocheck istio-agent: Istio's fetcher from the
 * test registry, code made local), with this run's registry and digests; `dir` holds the module
 * cache and the ECDS files Envoy reads.
 */
export async function istioAgent(gocheck: string, recording: IstiodTranslation, placeholders: Placeholders, dir: string): Promise<Translation> {
  const live = JSON.parse(placeholders.toLive(JSON.stringify({ chains: recording.chains, ecds: recording.ecds }))) as Pick<IstiodTranslation, "chains" | "ecds">;
  const input = join(dir, "istiod-ecds.json");
  writeFileSync(input, JSON.stringify(live.ecds.map((e) => e.istiod)));
  const r = await run(gocheck, ["istio-agent", "--out", dir, input], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`gocheck istio-agent failed (${r.code}):\n${r.stderr.slice(-3000)}`);
  const agent = lastJson<{ ecds: Array<{ name: string; agent: ExtensionConfig; file: string }>; agentError?: string }>(r.stdout);
  return {
    chains: live.chains,
    ecds: live.ecds.map((e, i) => ({ name: e.name, istiod: e.istiod, agent: agent.ecds[i]!.agent, file: agent.ecds[i]!.file })),
    agentError: agent.agentError,
  };
}
