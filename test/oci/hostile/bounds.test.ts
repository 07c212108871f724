// Bounds of the registry client against a hostile registry: every body it reads has a cap (the
// /v2/ ping, token, error and retry bodies, manifests, blobs by their descriptor's size), every
// request (token requests included) is under --timeout, a descriptor size that is not a
// non-negative integer is refused before any download, a chunked upload that never advances gives
// up, and a connection reset mid-body is retried. Each case logs its figures (seconds, peak RSS,
// bytes the server got out) and asserts the bound; every failure is one line.
import type http from "node:http";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildArtifact, serializeManifest, type ImageManifest } from "../../../cli/oci/artifact.js";
import { built } from "../../helpers/paths.js";
import { fakeRegistry, sha256, stockArtifact, type Override, type RegistryAuth, type Route } from "./fake_registry.js";
import { endless, hostileNet, resetConnection, type Machine } from "./net.js";
import { figures, mb, oneLineError, runAgainst, type Measured } from "./run.js";

const module = new Uint8Array(readFileSync(built("examples/add-header")));
const artifact = buildArtifact(module);
const net = hostileNet();

// What the client may read of a body it does not use, plus what loopback socket buffers hold.
const BODY_BOUND = 16 * 1024 * 1024;
// A pull of a 7 KB module stays far below this; reading a 1 GiB body does not.
const RSS_BOUND = 200 * 1024 * 1024;

/** A registry with the artifact under team/p:1 whose answers `hostile` may replace. */
async function registry(name: string, hostile: Override, auth?: RegistryAuth, stocked = true): Promise<Machine> {
  const reg = fakeRegistry(auth);
  if (stocked) stockArtifact(reg, artifact, "team/p", "1");
  reg.override = hostile;
  return net.serve(name, "https", reg.handler);
}

/** Answers requests of `kind` (while `when` holds) with `status` and an endless body. */
function endlessOn(kind: Route["kind"], status: number, headers: http.OutgoingHttpHeaders, when = () => true): Override {
  return (route, _req, res) => {
    if (route.kind !== kind || !when()) return false;
    res.writeHead(status, headers);
    void endless(res);
    return true;
  };
}

const pull = (m: Machine, ...extra: string[]) => ["pull", `oci://${m.host}/team/p:1`, "-o", net.path(`${m.host}.wasm`), ...extra];

function bounded(label: string, r: Measured, origin: string): void {
  console.log(figures(label, r, `server got ${mb(net.bytesSent(origin))} out`));
  expect(r.timedOut).toBe(false);
  expect(net.bytesSent(origin)).toBeLessThan(BODY_BOUND);
  expect(r.peakRss).toBeGreaterThan(0);
  expect(r.peakRss).toBeLessThan(RSS_BOUND);
}

describe("bodies the client does not use are capped", () => {
  it("an endless /v2/ ping body", async () => {
    const m = await registry("ping-endless", endlessOn("ping", 200, { "content-type": "application/json" }));
    const r = await runAgainst(net, pull(m, "--timeout", "20"), { timeoutMs: 90_000 });
    bounded("endless /v2/ body", r, m.origin);
    expect(r.code, r.stderr).toBe(0);
  });

  it("an endless token response", async () => {
    const auth = await net.serve("token-endless", "https", (req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      void endless(res);
    });
    const m = await registry("token-endless-registry", () => false, { scheme: "bearer", realm: `${auth.origin}/token` });
    const r = await runAgainst(net, pull(m, "--timeout", "20", "--retries", "0"), { timeoutMs: 90_000 });
    bounded("endless token response", r, auth.origin);
    expect(oneLineError(r)).toMatch(/token/);
  });

  it("an endless error body", async () => {
    const m = await registry("error-endless", endlessOn("manifest", 400, { "content-type": "text/plain" }));
    const r = await runAgainst(net, pull(m, "--timeout", "20"), { timeoutMs: 90_000 });
    bounded("endless error body", r, m.origin);
    expect(oneLineError(r)).toMatch(/HTTP 400/);
  });

  it("endless bodies on the 503s before a retry", async () => {
    let n = 0;
    const m = await registry("retry-endless", endlessOn("manifest", 503, { "content-type": "text/plain", "retry-after": "0" }, () => ++n <= 2));
    const r = await runAgainst(net, pull(m, "--timeout", "20", "--retries", "2"), { timeoutMs: 90_000 });
    bounded("endless 503 bodies before retries", r, m.origin);
    expect(r.code, r.stderr).toBe(0);
  });

  it("a manifest larger than 4 MiB", async () => {
    const m = await registry("manifest-huge", endlessOn("manifest", 200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }));
    const r = await runAgainst(net, pull(m, "--timeout", "20"), { timeoutMs: 90_000 });
    bounded("endless manifest", r, m.origin);
    expect(oneLineError(r)).toMatch(/manifest .*longer than the 4194304 bytes/);
  });
});

describe("descriptor sizes", () => {
  const layer = artifact.manifest.layers[0]!;
  // The raw JSON of each size, as a hostile registry would write it.
  for (const size of ['"12abc"', "-1", "1e3", "1.5", "123456789012345678901234567890", "null"]) {
    it(`refuses size ${size} before downloading anything`, async () => {
      const manifest: ImageManifest = { ...artifact.manifest, layers: [{ ...layer, size: 424242 }] };
      const bytes = new TextEncoder().encode(new TextDecoder().decode(serializeManifest(manifest)).replace('"size":424242', `"size":${size}`));
      const m = await registry(`size-${sha256(new TextEncoder().encode(size)).slice(7, 15)}`, (route, _req, res) => {
        if (route.kind === "manifest") {
          res.writeHead(200, { "content-type": manifest.mediaType!, "content-length": bytes.length }).end(Buffer.from(bytes));
          return true;
        }
        if (route.kind === "blob" && route.ref === layer.digest) {
          res.writeHead(200, { "content-type": "application/octet-stream" });
          void endless(res);
          return true;
        }
        return false;
      });
      const r = await runAgainst(net, pull(m, "--timeout", "20"), { timeoutMs: 90_000 });
      const blobGets = net.requests(m.origin).filter((s) => s.url.includes("/blobs/")).length;
      console.log(figures(`layer size ${size}`, r, `blob requests ${blobGets}, server got ${mb(net.bytesSent(m.origin))} out`));
      expect(oneLineError(r)).toMatch(/size/);
      expect(blobGets).toBe(0);
    });
  }
});

describe("descriptor digests", () => {
  const layer = artifact.manifest.layers[0]!;
  for (const digest of ["sha256:../../../v2/team/p/manifests/1", "latest", "sha512:" + "a".repeat(128)]) {
    it(`refuses layer digest ${digest.slice(0, 24)}… before requesting anything with it`, async () => {
      const manifest: ImageManifest = { ...artifact.manifest, layers: [{ ...layer, digest }] };
      const bytes = serializeManifest(manifest);
      const m = await registry(`digest-${sha256(new TextEncoder().encode(digest)).slice(7, 15)}`, (route, _req, res) => {
        if (route.kind !== "manifest") return false;
        res.writeHead(200, { "content-type": manifest.mediaType!, "content-length": bytes.length }).end(Buffer.from(bytes));
        return true;
      });
      const r = await runAgainst(net, pull(m), { timeoutMs: 60_000 });
      const requested = net.requests(m.origin).map((s) => `${s.method} ${s.url}`);
      console.log(figures(`layer digest ${digest.slice(0, 24)}…`, r, `requests: ${requested.length}`));
      expect(oneLineError(r)).toMatch(/layer 0: digest .* is not sha256: and 64 lower-case hex digits; refused before downloading anything/);
      // The ping (and its 401-less answer) and the manifest: nothing the hostile digest addressed.
      expect(requested.filter((q) => !/^GET \/v2\/$/.test(q) && !/^GET \/v2\/team\/p\/manifests\/1$/.test(q))).toEqual([]);
      expect(requested.filter((q) => q === "GET /v2/team/p/manifests/1")).toHaveLength(1);
    });
  }
});

describe("time", () => {
  const hangAfterHeaders = (res: http.ServerResponse, type = "application/json") => {
    res.writeHead(200, { "content-type": type, "content-length": 1000 });
    res.flushHeaders();
  };

  it("a token server that hangs after its headers is under --timeout", async () => {
    const auth = await net.serve("token-hangs", "https", (req, res) => {
      req.resume();
      hangAfterHeaders(res);
    });
    const m = await registry("token-hangs-registry", () => false, { scheme: "bearer", realm: `${auth.origin}/token` });
    const r = await runAgainst(net, pull(m, "--timeout", "2", "--retries", "1"), { timeoutMs: 60_000 });
    console.log(figures("token server hanging after headers (--timeout 2 --retries 1)", r));
    expect(r.timedOut).toBe(false);
    expect(oneLineError(r)).toMatch(/timeout/);
    expect(r.seconds).toBeLessThan(30);
  });

  it("a token server that never answers is under --timeout", async () => {
    const auth = await net.serve("token-silent", "https", () => undefined);
    const m = await registry("token-silent-registry", () => false, { scheme: "bearer", realm: `${auth.origin}/token` });
    const r = await runAgainst(net, pull(m, "--timeout", "2", "--retries", "1"), { timeoutMs: 60_000 });
    console.log(figures("token server never answering (--timeout 2 --retries 1)", r));
    expect(r.timedOut).toBe(false);
    expect(oneLineError(r)).toMatch(/timeout/);
  });

  it("a blob that hangs after its headers is under --timeout", async () => {
    const m = await registry("blob-hangs", (route, _req, res) => {
      if (route.kind !== "blob") return false;
      hangAfterHeaders(res, "application/octet-stream");
      return true;
    });
    const r = await runAgainst(net, pull(m, "--timeout", "2", "--retries", "1"), { timeoutMs: 60_000 });
    console.log(figures("blob hanging after headers (--timeout 2 --retries 1)", r));
    expect(r.timedOut).toBe(false);
    expect(oneLineError(r)).toMatch(/timeout/);
  });
});

describe("uploads and resets", () => {
  it("a chunked upload whose range never advances gives up after bounded attempts", async () => {
    const m = await registry("range-stuck", (route, req, res) => {
      if (route.kind !== "upload" || req.method !== "PATCH") return false;
      req.resume();
      res.writeHead(202, { location: req.url!, range: "0-1023", "content-length": 0 }).end();
      return true;
    }, undefined, false);
    const r = await runAgainst(net, ["push", built("examples/add-header"), `oci://${m.host}/team/p:2`, "--chunk-size", "1024", "--retries", "3", "--timeout", "5"], { timeoutMs: 30_000 });
    const patches = net.requests(m.origin).filter((s) => s.method === "PATCH").length;
    console.log(figures("upload range never advancing", r, `${patches} PATCH requests`));
    expect(r.timedOut).toBe(false);
    expect(oneLineError(r)).toMatch(/progress|advance/);
    expect(patches).toBeLessThanOrEqual(6);
    expect(net.requests(m.origin).some((s) => s.url.includes("/manifests/"))).toBe(false);
  });

  it("a connection reset in the middle of a blob is retried", async () => {
    let resets = 0;
    const big = artifact.blobs.find((b) => b.role.startsWith("layer"))!;
    const m = await registry("reset-mid-body", (route, _req, res) => {
      if (route.kind !== "blob" || route.ref !== big.descriptor.digest || resets++ > 0) return false;
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": big.data.length });
      res.write(Buffer.from(big.data.subarray(0, 1000)), () => setTimeout(() => resetConnection(res), 50));
      return true;
    });
    const r = await runAgainst(net, pull(m, "--verbose"), { timeoutMs: 60_000 });
    console.log(figures("reset mid-body", r));
    expect(r.code, r.stderr).toBe(0);
    expect(resets).toBe(2);
    expect(r.stderr).toMatch(/retry 1 of GET \/v2\/team\/p\/blobs\/sha256:[0-9a-f]+ in \d+ ms: /);
    expect(readFileSync(net.path(`${m.host}.wasm`))).toEqual(Buffer.from(module));
  });

  it("a reset in the middle of every attempt fails in one line after the retries", async () => {
    const m = await registry("reset-always", (route, _req, res) => {
      if (route.kind !== "manifest") return false;
      res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "content-length": 5000 });
      res.write("{\"schemaVersion\":", () => setTimeout(() => resetConnection(res), 50));
      return true;
    });
    const r = await runAgainst(net, pull(m, "--retries", "2"), { timeoutMs: 60_000 });
    const gets = net.requests(m.origin).filter((s) => s.url.includes("/manifests/")).length;
    console.log(figures("reset mid-body on every attempt", r, `${gets} manifest requests`));
    expect(oneLineError(r)).toMatch(/manifest/);
    expect(gets).toBe(3);
  });
});

