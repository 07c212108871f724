// pwasm push / pull / inspect against a real registry (CNCF distribution), checked with skopeo,
// GNU tar, oras, Istio's own Wasm fetcher and go-containerregistry's validate.Image: both
// variants, native and --with oras, are exactly what Istio requires, and reproducible.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPwasm } from "../helpers/cli.js";
import { built } from "../helpers/paths.js";
import { buildGoCheck, lastJson, run, startRegistry, type TestRegistry } from "./registry.js";
import { skipWithout } from "../helpers/tools.js";

// Outside tools: the registry, skopeo, oras and Go (the checker).
const skip = skipWithout(["docker-registry", "skopeo", "oras", "go"], "test/oci/push_pull.test.ts");

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

interface PushJson {
  variant: string;
  digest: string;
  sha256: string;
  moduleDigest: string;
  references: Array<{ reference: string; digest: string; blobs: Array<{ outcome: string }> }>;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

let reg: TestRegistry;
let gocheck: string;
let work: string;
const module = new Uint8Array(readFileSync(built("examples/add-header")));

beforeAll(async () => {
  [reg, gocheck] = await Promise.all([startRegistry(), buildGoCheck()]);
  work = mkdtempSync(join(tmpdir(), "pwasm-oci-"));
}, 600_000);

afterAll(async () => {
  await reg?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function push(args: string[]): Promise<PushJson> {
  const r = await runPwasm(["push", ...args, "--json"]);
  expect(r.stderr + r.stdout).not.toMatch(/unexpected error/);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PushJson;
}

/** The registry serves an image manifest whose digest is the sha256 of its bytes. */
async function fetchManifest(ref: string): Promise<{ bytes: Buffer; manifest: Manifest; digest: string }> {
  const raw = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`]);
  expect(raw.code, raw.stderr).toBe(0);
  const [repo, tag] = ref.slice(reg.host.length + 1).split(":");
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" },
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.toString()).toBe(raw.stdout.trim());
  const manifest = JSON.parse(bytes.toString()) as Manifest;
  expect(res.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
  expect(manifest.mediaType).toBe(res.headers.get("content-type"));
  expect(manifest.schemaVersion).toBe(2);
  const digest = sha(bytes);
  expect(res.headers.get("docker-content-digest")).toBe(digest);
  const again = Buffer.from(await (await fetch(`http://${reg.host}/v2/${repo}/manifests/${digest}`, { headers: { accept: manifest.mediaType! } })).arrayBuffer());
  expect(again.equals(bytes)).toBe(true);
  return { bytes, manifest, digest };
}

/** On a `skopeo copy` into an oci: layout: every blob's digest and size, and the layer content Istio reads. */
async function checkLayout(ref: string, expectDigest: string, variant: "compat" | "oci"): Promise<void> {
  const dir = join(work, `layout-${expectDigest.slice(7, 19)}`);
  const copy = await run("skopeo", ["copy", "--src-tls-verify=false", `docker://${ref}`, `oci:${dir}:t`]);
  expect(copy.code, copy.stderr).toBe(0);
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: Descriptor[] };
  expect(index.manifests[0]!.digest).toBe(expectDigest); // copied without conversion
  const blob = (d: Descriptor) => {
    const b = readFileSync(join(dir, "blobs", "sha256", d.digest.slice(7)));
    expect(sha(b)).toBe(d.digest);
    expect(b.length).toBe(d.size);
    return b;
  };
  const manifest = JSON.parse(blob(index.manifests[0]!).toString()) as Manifest;
  const config = JSON.parse(blob(manifest.config).toString()) as Record<string, unknown>;
  const layers = manifest.layers.map(blob);
  if (variant === "compat") {
    expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(manifest.layers).toHaveLength(1);
    const last = manifest.layers.at(-1)!;
    expect(last.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    const gz = layers.at(-1)!;
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    // The image config is valid: platform and diff_ids = sha256 of the uncompressed tar.
    expect(config).toMatchObject({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(gunzipSync(gz))] } });
    // GNU tar, not our reader: exactly one regular file plugin.wasm, with the module's bytes.
    const file = join(dir, "layer.tar.gz");
    writeFileSync(file, gz);
    const list = await run("tar", ["-tvzf", file]);
    expect(list.code, list.stderr).toBe(0);
    const entries = list.stdout.trim().split("\n");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(new RegExp(`^-rw-r--r-- 0/0 +${module.length} 1970-01-01 00:00 plugin\\.wasm$`));
    const into = join(dir, "extracted");
    const extracted = await run("sh", ["-c", `mkdir -p "${into}" && tar -xzf "${file}" -C "${into}"`]);
    expect(extracted.code, extracted.stderr).toBe(0);
    expect(readFileSync(join(into, "plugin.wasm")).equals(Buffer.from(module))).toBe(true);
  } else {
    expect(manifest.layers).toHaveLength(2);
    const i = manifest.layers.findIndex((l) => l.mediaType === "application/vnd.module.wasm.content.layer.v1+wasm");
    expect(i).toBeGreaterThanOrEqual(0);
    const wasm = layers[i]!;
    expect([...wasm.subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    expect(Buffer.from(wasm).equals(Buffer.from(module))).toBe(true);
    const other = manifest.layers[1 - i]!;
    expect(other.mediaType).toBe("application/vnd.module.wasm.config.v1+json");
    expect(JSON.parse(layers[1 - i]!.toString())).toMatchObject({ type: "envoy_proxy", abiVersions: ["0.2.1"], config: { root_ids: ["add_header"] } });
  }
}

/** Istio's own fetcher (istio.io/istio/pkg/wasm) extracts the module; its digest is the manifest digest. */
async function istioFetch(ref: string, env: NodeJS.ProcessEnv = {}, pullSecret?: string): Promise<{ digest: string; module: Buffer }> {
  const out = join(work, `istio-${Math.random().toString(36).slice(2)}.wasm`);
  const r = await run(gocheck, ["fetch", ref, out, ...(pullSecret ? [pullSecret] : [])], { env });
  expect(r.code, r.stderr).toBe(0);
  const { digest, size } = lastJson<{ digest: string; size: number }>(r.stdout);
  const bytes = readFileSync(out);
  expect(bytes.length).toBe(size);
  return { digest: `sha256:${digest}`, module: bytes };
}

describe.skipIf(skip).each(["compat", "oci"] as const)("pwasm push --variant %s", (variant) => {
  it("pushes an Istio-accepted layout that Istio's fetcher, go-containerregistry, skopeo and pwasm pull all read back", async () => {
    const ref = `${reg.host}/plugins/add-header:${variant}`;
    const pushed = await push([built("examples/add-header"), `oci://${ref}`, "--variant", variant, "--root-id", "add_header"]);
    expect(pushed.variant).toBe(variant);
    expect(pushed.moduleDigest).toBe(sha(module));
    expect(pushed.sha256).toBe(pushed.digest.slice(7));
    const { manifest, digest } = await fetchManifest(ref);
    expect(digest).toBe(pushed.digest);
    expect(manifest.annotations).toMatchObject({ "module.wasm.image/variant": variant, "org.opencontainers.image.created": "1970-01-01T00:00:00Z" });
    await checkLayout(ref, pushed.digest, variant);

    const istio = await istioFetch(`oci://${ref}`);
    expect(istio.digest).toBe(pushed.digest);
    expect(istio.module.equals(Buffer.from(module))).toBe(true);

    const ggcr = await run(gocheck, ["validate-image", ref]);
    expect(ggcr.code, ggcr.stderr).toBe(0);

    const out = join(work, `pulled-${variant}.wasm`);
    const pulled = await runPwasm(["pull", `oci://${ref}`, "-o", out, "--sha256", pushed.sha256, "--json"]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ digest: pushed.digest, format: variant, moduleDigest: sha(module) });
    expect(readFileSync(out).equals(Buffer.from(module))).toBe(true);

    const inspect = await runPwasm(["inspect", `oci://${ref}`]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain(`digest     ${pushed.digest}`);
    expect(inspect.stdout).toMatch(/istio {6}accepted: /);
  });

  it("is reproducible: pushing again, to another repository, or with oras gives the same digest", async () => {
    const first = await push([built("examples/add-header"), `oci://${reg.host}/repro/a:${variant}`, "--variant", variant, "--root-id", "add_header"]);
    const again = await push([built("examples/add-header"), `oci://${reg.host}/repro/a:${variant}`, "--variant", variant, "--root-id", "add_header"]);
    expect(again.digest).toBe(first.digest);
    expect(again.references[0]!.blobs.every((b) => b.outcome === "exists")).toBe(true);
    // A second repository on the same registry mounts the blobs instead of uploading them.
    const two = await push([built("examples/add-header"), `oci://${reg.host}/repro/b:${variant}`, `oci://${reg.host}/repro/c:${variant}`, "--variant", variant, "--root-id", "add_header"]);
    expect(two.references.map((r) => r.digest)).toEqual([first.digest, first.digest]);
    expect(two.references[1]!.blobs.map((b) => b.outcome)).toEqual(two.references[1]!.blobs.map(() => "mounted"));
    // oras, handed the same blobs, media types and annotations, produces the same manifest.
    const ref = `${reg.host}/repro/oras:${variant}`;
    const oras = await push([built("examples/add-header"), `oci://${ref}`, "--variant", variant, "--root-id", "add_header", "--with", "oras"]);
    expect(oras.digest).toBe(first.digest);
    const istio = await istioFetch(ref);
    expect(istio.digest).toBe(first.digest);
    expect(istio.module.equals(Buffer.from(module))).toBe(true);
    // A different recorded time is a different artifact.
    const later = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/repro/a:later`, "--variant", variant, "--root-id", "add_header", "--json"], { env: { SOURCE_DATE_EPOCH: "1700000000" } });
    expect(later.code, later.stderr).toBe(0);
    expect((JSON.parse(later.stdout) as PushJson).digest).not.toBe(first.digest);
  });
});

describe.skipIf(skip)("pwasm pull output", () => {
  it("refuses an output that is a directory or in a missing directory, in one line, leaving nothing behind", async () => {
    const ref = `oci://${reg.host}/plugins/pull-out:1`;
    await push([built("examples/add-header"), ref]);
    const dir = mkdtempSync(join(work, "out-"));
    for (const [out, code] of [[dir, "EISDIR"], [join(dir, "missing", "p.wasm"), "ENOENT"]] as const) {
      const r = await runPwasm(["pull", ref, "-o", out]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(`pwasm: cannot write ${out}: ${code}\n`);
    }
    expect(readdirSync(dir)).toEqual([]);
    expect(readdirSync(work).filter((f) => f.includes(".tmp"))).toEqual([]);
  });
});

describe.skipIf(skip)("pwasm push input", () => {
  it("builds a project directory first and pushes its release module", async () => {
    const r = await push(["examples/add-header", `oci://${reg.host}/plugins/from-dir:1`]);
    expect(r.moduleDigest).toBe(sha(module));
  });

  it("refuses what is not a wasm module, and a reference pinning another digest, before contacting the registry", async () => {
    const bad = join(work, "not.wasm");
    writeFileSync(bad, "hello");
    const r1 = await runPwasm(["push", bad, `oci://${reg.host}/x/y:1`]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/^pwasm: .*not a WebAssembly module/m);
    const r2 = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/x/y@sha256:${"0".repeat(64)}`]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/pins sha256:0+, but this artifact's manifest digest is sha256:[0-9a-f]{64}/);
    const r3 = await runPwasm(["push", built("examples/add-header"), "oci://Bad/Repo:1"]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/bad repository/);
  });

  it("pushes by digest (no tag) when the reference pins the artifact's own digest", async () => {
    const tagged = await push([built("examples/add-header"), `oci://${reg.host}/bydigest/p:t`]);
    const r = await push([built("examples/add-header"), `oci://${reg.host}/bydigest/q@${tagged.digest}`]);
    expect(r.digest).toBe(tagged.digest);
    const istio = await istioFetch(`${reg.host}/bydigest/q@${tagged.digest}`);
    expect(istio.digest).toBe(tagged.digest);
  });

  it("reports upload progress on stderr with --progress (chunked), and none by default on a pipe", async () => {
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/progress/p:1`, "--chunk-size", "1024", "--progress", "--variant", "oci"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split("\n").filter((l) => /layer plugin\.wasm [0-9a-f]{12} /.test(l));
    // One line per chunk that crosses into a new quarter: 1024-byte chunks of the module.
    const expected = [0];
    for (let done = 1024; ; done += 1024) {
      const pct = Math.floor((Math.min(done, module.length) * 100) / module.length);
      if (Math.floor(pct / 25) > Math.floor(expected.at(-1)! / 25)) expected.push(pct);
      if (done >= module.length) break;
    }
    expect(lines.map((l) => Number(/(\d+)%$/.exec(l)?.[1]))).toEqual(expected);
    expect(expected.at(-1)).toBe(100);
    const quiet = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/progress/q:1`, "--chunk-size", "1024", "--variant", "oci"]);
    expect(quiet.stderr).not.toMatch(/%/);
  });

  it("refuses plain HTTP to a registry that is not on loopback unless --insecure", async () => {
    // 127.0.0.1 is loopback; the same registry through a non-loopback name must ask for --insecure.
    const r = await runPwasm(["push", built("examples/add-header"), "oci://registry.invalid:5000/x/y:1", "--retries", "0", "--timeout", "5"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach registry registry\.invalid:5000: https:\/\/registry\.invalid:5000\/v2\/: .*\(a plain-HTTP registry needs --insecure\)/);
  });

  it("refuses a destination without oci:// before building or pushing anything", async () => {
    for (const dest of [`${reg.host}/bare/p:1`, "plugin-copy.wasm"]) {
      const r = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/bare/ok:1`, dest]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`pwasm: push destination '${dest}' is not an oci:// reference (expected oci://host[:port]/repo:tag)\n`);
    }
    const res = await fetch(`http://${reg.host}/v2/bare/ok/manifests/1`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect(res.status).toBe(404);
  });
});
