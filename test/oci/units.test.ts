// The OCI building blocks on their own: references, tar, reproducible gzip, auth challenges,
// Docker credentials, manifest serialization, YAML quoting.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, inflateRawSync } from "node:zlib";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { buildArtifact, goJson, serializeManifest } from "../../cli/oci/artifact.js";
import { istioRealmProblem, parseChallenge } from "../../cli/oci/auth.js";
import { dockerConfigCredentials } from "../../cli/oci/credentials.js";
import { findOras } from "../../cli/oci/oras.js";
import { deflateRaw } from "../../cli/oci/deflate.js";
import { gzipReproducible } from "../../cli/oci/gzip.js";
import { isLoopback, parseReference } from "../../cli/oci/reference.js";
import { createTar, readTar } from "../../cli/oci/tar.js";
import { toYaml } from "../../cli/manifest/render.js";
import { wat } from "../helpers/wat.js";
import { skipWithout } from "../helpers/tools.js";

const work = mkdtempSync(join(tmpdir(), "pwasm-oci-units-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MODULE = wat(`(module (memory (export "memory") 1))`);
// The compat image of the pinned input below, as pwasm 0.1 builds it. If this changes, every
// digest users pinned in WasmPlugins changes with it: change it only on purpose.
const PINNED_COMPAT_DIGEST = "sha256:73b9eee186ce3e28eabf89bc8c17e1406161bde7275204d4fd476c2f6a4578e4";

describe("parseReference (go-containerregistry rules)", () => {
  it.each([
    ["oci://127.0.0.1:5000/plugins/add-header:v1", { registry: "127.0.0.1:5000", apiHost: "127.0.0.1:5000", repository: "plugins/add-header", tag: "v1" }],
    ["localhost/a/b", { registry: "localhost", repository: "a/b", tag: "latest" }],
    ["ghcr.io/acme/filter", { registry: "ghcr.io", repository: "acme/filter", tag: "latest" }],
    ["istio/proxyv2:1.22", { registry: "docker.io", apiHost: "registry-1.docker.io", repository: "istio/proxyv2", tag: "1.22" }],
    ["nginx", { registry: "docker.io", repository: "library/nginx", tag: "latest" }],
    [`r.example:443/x@sha256:${"a".repeat(64)}`, { registry: "r.example:443", repository: "x", tag: undefined, digest: `sha256:${"a".repeat(64)}` }],
    [`r.example/x:t@sha256:${"b".repeat(64)}`, { repository: "x", tag: "t", digest: `sha256:${"b".repeat(64)}` }],
    ["[::1]:5000/x:1", { registry: "[::1]:5000", repository: "x", tag: "1" }],
  ])("%s", (input, expected) => {
    expect(parseReference(input)).toMatchObject(expected);
  });

  it.each([
    ["https://r.example/x:1", /not an OCI reference/],
    ["r.example/UPPER:1", /bad repository/],
    ["r.example/x:-bad", /bad tag/],
    ["r.example/x@sha256:abc", /bad digest/],
    ["", /empty image reference/],
  ])("refuses %s", (input, re) => {
    expect(() => parseReference(input)).toThrow(re);
  });

  it("allows plain HTTP only for loopback", () => {
    expect(["127.0.0.1:5000", "127.8.9.1", "localhost:80", "[::1]:5000", "reg.localhost"].map(isLoopback)).toEqual([true, true, true, true, true]);
    expect(["10.0.0.1:5000", "registry.example.com", "128.0.0.1", "[::2]:5000"].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

describe("tar and gzip", () => {
  it("writes archives GNU tar reads, and reads GNU/PAX archives with long names", () => {
    const long = `${"d".repeat(120)}/plugin.wasm`;
    const src = join(work, "src");
    mkdirSync(join(src, "d".repeat(120)), { recursive: true });
    writeFileSync(join(src, long), MODULE);
    for (const format of ["gnu", "pax"]) {
      const file = join(work, `${format}.tar`);
      execFileSync("tar", [`--format=${format}`, "-cf", file, "-C", src, long]);
      const entries = [...readTar(new Uint8Array(readFileSync(file)))];
      expect(entries.map((e) => [e.name, e.type, Buffer.from(e.data).equals(Buffer.from(MODULE))])).toEqual([[long, "0", true]]);
    }
    const ours = join(work, "ours.tar");
    writeFileSync(ours, createTar({ name: "plugin.wasm", data: MODULE, mtime: 1_700_000_000 }));
    expect(execFileSync("tar", ["-tvf", ours, "--utc"]).toString()).toMatch(/^-rw-r--r-- 0\/0 +\d+ 2023-11-14 22:13 plugin\.wasm\n$/);
  });

  it("gzips reproducibly with a header that carries no time, name or OS, and gzip -t accepts it", () => {
    const data = new Uint8Array(createTar({ name: "plugin.wasm", data: MODULE }));
    const a = gzipReproducible(data);
    expect(Buffer.from(gzipReproducible(data)).equals(Buffer.from(a))).toBe(true);
    expect([...a.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    expect(Buffer.from(gunzipSync(a)).equals(Buffer.from(data))).toBe(true);
    const file = join(work, "x.gz");
    writeFileSync(file, a);
    execFileSync("gzip", ["-t", file]);
  });
});

describe("deflate", () => {
  it("round-trips through zlib's inflater on text, binary, runs and random data of many sizes", () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 8;
    for (let k = 0; k < 120; k++) {
      const len = k < 40 ? k : rand() % 90_000;
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) {
        const mode = k % 4;
        b[i] = mode === 0 ? rand() & 0xff : mode === 1 ? rand() & 3 : mode === 2 && i > 9 ? b[i - 1 - (rand() % 9)]! : (i * 7) & 0xff;
      }
      const out = deflateRaw(b);
      expect(Buffer.from(inflateRawSync(out)).equals(Buffer.from(b)), `case ${k} (${len} bytes)`).toBe(true);
    }
  });

  it.skipIf(skipWithout(["python3"], "test/oci/units.test.ts: the pinned-digest check"))("gives the same bytes as ever: a pinned digest for a pinned input (reproducible across machines and Node builds)", () => {
    const m = new Uint8Array(8 + 65536);
    m.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    for (let i = 8; i < m.length; i++) m[i] = (i * 31 + (i >> 7)) % 251;
    // Canonical zlib (Python's, the system library) decodes it too: the stream is standard DEFLATE.
    const gz = join(work, "pinned.gz");
    writeFileSync(gz, gzipReproducible(m));
    const py = execFileSync("python3", ["-c", "import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())", gz]).toString().trim();
    expect(`sha256:${py}`).toBe(buildArtifact(m).moduleDigest);
    expect(buildArtifact(m).manifestDigest).toBe(PINNED_COMPAT_DIGEST);
  });
});

describe("artifacts", () => {
  it("are deterministic, and differ when the module, variant, time or annotations differ", () => {
    const a = buildArtifact(MODULE);
    expect(buildArtifact(MODULE).manifestDigest).toBe(a.manifestDigest);
    const other = new Uint8Array(MODULE);
    other[other.length - 1] ^= 1;
    const digests = [
      a.manifestDigest,
      buildArtifact(other).manifestDigest,
      buildArtifact(MODULE, { variant: "oci" }).manifestDigest,
      buildArtifact(MODULE, { created: new Date(1000) }).manifestDigest,
      buildArtifact(MODULE, { annotations: { "org.opencontainers.image.source": "https://x" } }).manifestDigest,
    ];
    expect(new Set(digests).size).toBe(digests.length);
  });

  it("serialize manifests as Go's encoding/json would (field order, sorted keys, HTML-safe escapes)", () => {
    const d = { mediaType: "m", digest: "sha256:x", size: 1 };
    const bytes = serializeManifest({ schemaVersion: 2, mediaType: "t", config: d, layers: [{ ...d, annotations: { z: "1", a: "<&>" } }], annotations: { b: "2", a: "1" } });
    expect(new TextDecoder().decode(bytes)).toBe(
      '{"schemaVersion":2,"mediaType":"t","config":{"mediaType":"m","digest":"sha256:x","size":1},"layers":[{"mediaType":"m","digest":"sha256:x","size":1,"annotations":{"a":"\\u003c\\u0026\\u003e","z":"1"}}],"annotations":{"a":"1","b":"2"}}',
    );
    expect(goJson({ b: [{ d: 1, c: 2 }], a: "\u2028" })).toBe('{"a":"\\u2028","b":[{"c":2,"d":1}]}');
  });
});

describe("auth", () => {
  it("parses challenges with quoted commas and escapes", () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" },
    });
    expect(parseChallenge('Basic realm="say \\"hi\\""')).toEqual({ scheme: "basic", params: { realm: 'say "hi"' } });
    expect(parseChallenge(null)).toBeUndefined();
  });

  it("predicts Istio's realm check", () => {
    const realm = (r: string) => istioRealmProblem({ scheme: "bearer", params: { realm: r } });
    expect(realm("https://auth.docker.io/token")).toBeUndefined();
    expect(realm("Registry Realm")).toMatch(/not an http\(s\) URL/);
    expect(realm("http://127.0.0.1:5000/token")).toMatch(/private, loopback or link-local/);
    expect(realm("http://10.1.2.3/token")).toMatch(/private/);
    expect(realm("https://localhost/token")).toMatch(/points at localhost/);
    expect(realm("http://[fd00::1]/t")).toMatch(/private/);
  });

  it("reads Docker's config: auths by host or URL key, Docker Hub aliases, identity tokens", async () => {
    const dir = join(work, "docker");
    mkdirSync(dir, { recursive: true });
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    writeFileSync(join(dir, "config.json"), JSON.stringify({
      auths: {
        "https://index.docker.io/v1/": { auth: b64("hub:pw") },
        "http://r.example:5000": { auth: b64("u:p:with:colons") },
        "ghcr.io": { identitytoken: "refresh" },
      },
    }));
    const env = { DOCKER_CONFIG: dir };
    expect(await dockerConfigCredentials("docker.io", env)).toMatchObject({ username: "hub", password: "pw" });
    expect(await dockerConfigCredentials("r.example:5000", env)).toMatchObject({ username: "u", password: "p:with:colons" });
    expect(await dockerConfigCredentials("ghcr.io", env)).toMatchObject({ identityToken: "refresh" });
    expect(await dockerConfigCredentials("quay.io", env)).toBeUndefined();
    expect(await dockerConfigCredentials("quay.io", { DOCKER_CONFIG: join(work, "absent") })).toBeUndefined();
    writeFileSync(join(dir, "config.json"), "{not json");
    await expect(dockerConfigCredentials("quay.io", env)).rejects.toThrow(/is not valid JSON/);
  });
});

describe("findOras", () => {
  const bin = join(work, "oras-bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "oras"), "#!/bin/sh\n", { mode: 0o755 });

  it("finds oras on PATH when none is named", () => {
    expect(findOras(undefined, { PATH: bin })).toBe(join(bin, "oras"));
  });

  it("refuses a named oras that does not exist instead of quietly using another one", () => {
    expect(() => findOras(join(work, "no-such-oras"), { PATH: bin })).toThrow(/^--oras .*no-such-oras: no such file$/);
    expect(() => findOras(undefined, { PATH: bin, PWASM_ORAS: join(work, "no-such-oras") })).toThrow(/^PWASM_ORAS .*no-such-oras: no such file$/);
  });
});

describe("YAML output", () => {
  it("quotes every string a YAML 1.1 or 1.2 reader would take for something else", () => {
    const tricky = ["y", "n", "yes", "No", "on", "OFF", "true", "null", "~", "0o17", "0x1F", "017", "1e3", "1_000", "12:30", ".inf", "", " lead", "a: b", "- x", "#c", "plain"];
    const resource = { apiVersion: "v1", kind: "K", metadata: { name: "x" }, spec: Object.fromEntries(tricky.map((s, i) => [`k${i}`, s])) };
    const text = toYaml([resource]);
    for (const version of ["1.1", "1.2"] as const) expect(parse(text, { version })).toEqual(resource);
  });
});
