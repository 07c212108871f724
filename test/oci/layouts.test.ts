// Istio's layout rules, differentially: images in every layout users push (good and bad) go to a
// real registry; `pwasm inspect`/`pwasm pull` must agree with Istio's own fetcher
// (istio.io/istio/pkg/wasm) on whether each is accepted, on the digest, and on the module.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../cli/oci/client.js";
import { createTar } from "../../cli/oci/tar.js";
import * as MT from "../../cli/oci/media_types.js";
import { runPwasm } from "../helpers/cli.js";
import { wat } from "../helpers/wat.js";
import { buildGoCheck, lastJson, run, startRegistry, type TestRegistry } from "./registry.js";
import { skipWithout } from "../helpers/tools.js";

// Outside tools: the registry and Go (the checker).
const skip = skipWithout(["docker-registry", "go"], "test/oci/layouts.test.ts");

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const text = (s: string) => new TextEncoder().encode(s);
const MODULE = wat(`(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))`);

interface Part {
  mediaType: string;
  data: Uint8Array;
}
interface Layout {
  manifestType?: string;
  artifactType?: string;
  config: Part;
  layers: Part[];
}

const tarGz = (name: string, data: Uint8Array) => new Uint8Array(gzipSync(createTar({ name, data })));
const imageConfig = text('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const ociConfig: Part = { mediaType: MT.OCI_CONFIG, data: imageConfig };
const runtimeConfig: Part = { mediaType: MT.WASM_CONFIG, data: text('{"type":"envoy_proxy"}') };
const wasmLayer: Part = { mediaType: MT.WASM_CONTENT_LAYER, data: MODULE };

// [name, layout, accepted by Istio, format pwasm should report, reason pwasm should give]
const CASES: Array<[string, Layout, boolean, string | undefined, RegExp | undefined]> = [
  ["Docker image", { manifestType: MT.DOCKER_MANIFEST, config: { mediaType: MT.DOCKER_CONFIG, data: imageConfig }, layers: [{ mediaType: MT.DOCKER_LAYER, data: tarGz("plugin.wasm", MODULE) }] }, true, "docker", undefined],
  ["Docker manifest with an OCI-typed last layer", { manifestType: MT.DOCKER_MANIFEST, config: { mediaType: MT.DOCKER_CONFIG, data: imageConfig }, layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, data: tarGz("plugin.wasm", MODULE) }] }, false, undefined, /docker: invalid media type application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip/],
  ["compat with plugin.wasm in a directory", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, data: tarGz("usr/lib/plugin.wasm", MODULE) }] }, true, "compat", undefined],
  ["compat whose earlier layer is unrelated", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, data: tarGz("README", text("hi")) }, { mediaType: MT.OCI_LAYER_TAR_GZIP, data: tarGz("plugin.wasm", MODULE) }] }, true, "compat", undefined],
  ["oras default: uncompressed tar", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR, data: createTar({ name: "plugin.wasm", data: MODULE }) }] }, false, undefined, /compat: invalid media type application\/vnd\.oci\.image\.layer\.v1\.tar .*oci: number of layers must be 2 but got 1/s],
  ["single raw wasm layer (wasm-to-oci)", { artifactType: "application/vnd.wasm.config.v1+json", config: { mediaType: MT.OCI_EMPTY, data: text("{}") }, layers: [{ mediaType: "application/vnd.wasm.content.layer.v1+wasm", data: MODULE }] }, false, undefined, /number of layers must be 2 but got 1/],
  ["three-layer wasm artifact", { config: runtimeConfig, layers: [runtimeConfig, wasmLayer, { mediaType: "text/plain", data: text("x") }] }, false, undefined, /number of layers must be 2 but got 3/],
  ["two layers without the module type", { config: runtimeConfig, layers: [runtimeConfig, { mediaType: "application/wasm", data: MODULE }] }, false, undefined, /no layer of type application\/vnd\.module\.wasm\.content\.layer\.v1\+wasm/],
  ["OCI 1.1 artifact: empty config, oci-variant layers", { artifactType: "application/vnd.module.wasm.config.v1+json", config: { mediaType: MT.OCI_EMPTY, data: text("{}") }, layers: [runtimeConfig, wasmLayer] }, true, "oci", undefined],
  ["tar without plugin.wasm", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, data: tarGz("filter.wasm", MODULE) }] }, false, undefined, /plugin\.wasm not found in the archive/],
  ["layer typed +gzip that is not gzip", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, data: createTar({ name: "plugin.wasm", data: MODULE }) }] }, false, undefined, /failed to parse layer as tar\.gz/],
  ["zstd layer typed +gzip", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, data: new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]) }] }, false, undefined, /zstd/],
  ["plugin.wasm that is not wasm", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, data: tarGz("plugin.wasm", text("not a module at all")) }] }, false, "compat", /not a WebAssembly module/],
];

// Layouts whose manifest alone decides the refusal (no layer needs reading).
const REFUSED_BY_MANIFEST = new Set([
  "Docker manifest with an OCI-typed last layer",
  "oras default: uncompressed tar",
  "single raw wasm layer (wasm-to-oci)",
  "three-layer wasm artifact",
  "two layers without the module type",
]);

let reg: TestRegistry;
let gocheck: string;
let client: RegistryClient;
let work: string;

beforeAll(async () => {
  [reg, gocheck] = await Promise.all([startRegistry(), buildGoCheck()]);
  client = new RegistryClient({ registry: reg.host });
  work = mkdtempSync(join(tmpdir(), "pwasm-layouts-"));
}, 600_000);

afterAll(async () => {
  await reg?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function descriptor(p: Part) {
  return { mediaType: p.mediaType, digest: sha(p.data), size: p.data.length };
}

/** Pushes a layout with pwasm's client (blobs, then the manifest); returns the manifest digest. */
async function pushLayout(repo: string, tag: string, l: Layout): Promise<{ digest: string; size: number; mediaType: string }> {
  for (const p of [l.config, ...l.layers]) await client.pushBlob(repo, sha(p.data), p.data);
  const mediaType = l.manifestType ?? MT.OCI_MANIFEST;
  const manifest = { schemaVersion: 2, mediaType, ...(l.artifactType ? { artifactType: l.artifactType } : {}), config: descriptor(l.config), layers: l.layers.map(descriptor) };
  const bytes = text(JSON.stringify(manifest));
  return { digest: await client.putManifest(repo, tag, bytes, mediaType), size: bytes.length, mediaType };
}

/** Istio's verdict: its fetcher returns the bytes and they pass its wasm check (magic). */
async function istio(ref: string): Promise<{ accepted: boolean; digest?: string; module?: Buffer; error?: string }> {
  const out = join(work, `${Math.random().toString(36).slice(2)}.wasm`);
  const r = await run(gocheck, ["fetch", ref, out]);
  if (r.code !== 0) return { accepted: false, error: r.stderr };
  const module = readFileSync(out);
  const digest = `sha256:${lastJson<{ digest: string }>(r.stdout).digest}`;
  return { accepted: module.length >= 8 && module.subarray(0, 4).equals(Buffer.from([0, 0x61, 0x73, 0x6d])), digest, module };
}

interface InspectJson {
  digest: string;
  istio: { accepted: boolean; format?: string; reasons: string[] };
  module?: { digest: string };
}

describe.skipIf(skip)("pwasm agrees with Istio's fetcher on every layout", () => {
  it.each(CASES)("%s", async (name, layout, accepted, format, reason) => {
    const repo = `layouts/${name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
    const pushed = await pushLayout(repo, "t", layout);
    const ref = `${reg.host}/${repo}:t`;
    const [truth, inspect] = await Promise.all([istio(ref), runPwasm(["inspect", `oci://${ref}`, "--json"])]);
    expect(truth.accepted, truth.error).toBe(accepted);
    expect(inspect.code, inspect.stderr).toBe(accepted ? 0 : 3);
    const ours = JSON.parse(inspect.stdout) as InspectJson;
    expect(ours.digest).toBe(pushed.digest);
    if (truth.digest) expect(truth.digest).toBe(pushed.digest);
    expect(ours.istio.accepted).toBe(accepted);
    expect(ours.istio.format).toBe(format);
    if (reason) expect(ours.istio.reasons.join("\n")).toMatch(reason);
    // pwasm manifest warns about layouts Istio refuses by their manifest alone.
    const manifest = await runPwasm(["manifest", `oci://${ref}`]);
    expect(manifest.code, manifest.stderr).toBe(0);
    expect(manifest.stdout).toContain(`sha256: ${pushed.digest.slice(7)}`);
    expect(/warning: Istio would refuse/.test(manifest.stderr)).toBe(REFUSED_BY_MANIFEST.has(name));
    const out = join(work, `${repo.replace(/\//g, "_")}.wasm`);
    const pull = await runPwasm(["pull", `oci://${ref}`, "-o", out]);
    if (accepted) {
      expect(pull.code, pull.stderr).toBe(0);
      expect(readFileSync(out).equals(truth.module!)).toBe(true);
      expect(ours.module?.digest).toBe(sha(MODULE));
    } else {
      expect(pull.code).toBe(1);
      expect(pull.stderr).toMatch(/^pwasm: Istio would refuse .*: /m);
    }
  });

  it("resolves an index to its linux/amd64 child, as Istio does, and refuses one without it", async () => {
    const good = await pushLayout("layouts/index", "amd64", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, data: tarGz("plugin.wasm", MODULE) }] });
    const other = await pushLayout("layouts/index", "arm64", { config: ociConfig, layers: [{ mediaType: MT.OCI_LAYER_TAR, data: createTar({ name: "x", data: MODULE }) }] });
    const entry = (d: { digest: string; size: number; mediaType: string }, architecture: string) => ({ ...d, platform: { os: "linux", architecture } });
    const putIndex = (tag: string, entries: unknown[]) =>
      client.putManifest("layouts/index", tag, text(JSON.stringify({ schemaVersion: 2, mediaType: MT.OCI_INDEX, manifests: entries })), MT.OCI_INDEX);
    const indexDigest = await putIndex("multi", [entry(other, "arm64"), entry(good, "amd64")]);
    await putIndex("arm-only", [entry(other, "arm64")]);

    const truth = await istio(`${reg.host}/layouts/index:multi`);
    expect(truth.accepted).toBe(true);
    expect(truth.digest).toBe(good.digest); // the child, not the index
    const inspect = await runPwasm(["inspect", `oci://${reg.host}/layouts/index:multi`, "--json"]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ digest: good.digest, index: { digest: indexDigest }, istio: { accepted: true, format: "compat" } });
    // pwasm manifest pins the digest Istio compares: the child's.
    const m = await runPwasm(["manifest", `oci://${reg.host}/layouts/index:multi`]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toContain(`sha256: ${good.digest.slice(7)}`);

    expect((await istio(`${reg.host}/layouts/index:arm-only`)).accepted).toBe(false);
    const refused = await runPwasm(["inspect", `oci://${reg.host}/layouts/index:arm-only`]);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(/REFUSED: the image index has no linux\/amd64 manifest \(it has: linux\/arm64\)/);
  });

  it("refuses blobs whose content does not match their descriptor", async () => {
    // A manifest that claims a wrong size for a real blob: the registry serves it, the digest check must not pass.
    const layer = tarGz("plugin.wasm", MODULE);
    await client.pushBlob("layouts/lying", sha(layer), layer);
    await client.pushBlob("layouts/lying", sha(imageConfig), imageConfig);
    const bytes = text(JSON.stringify({ schemaVersion: 2, mediaType: MT.OCI_MANIFEST, config: descriptor(ociConfig), layers: [{ mediaType: MT.OCI_LAYER_TAR_GZIP, digest: sha(layer), size: layer.length - 1 }] }));
    await client.putManifest("layouts/lying", "t", bytes, MT.OCI_MANIFEST);
    const pull = await runPwasm(["pull", `oci://${reg.host}/layouts/lying:t`, "-o", join(work, "lying.wasm")]);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/blob sha256:[0-9a-f]{64} is \d+ bytes, more than the \d+ expected|the descriptor says/);
  });
});
