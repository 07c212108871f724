// Failures during a push: retries over 503s and reset connections succeed; a registry killed, or
// stalling, in the middle of a chunked upload leaves no tag behind (the manifest goes last).
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runPwasm } from "../helpers/cli.js";
import { built } from "../helpers/paths.js";
import { buildArtifact } from "../../cli/oci/artifact.js";
import { run, startFaultProxy, startRegistry, type FaultAction, type FaultProxy, type TestRegistry } from "./registry.js";
import { skipWithout } from "../helpers/tools.js";

// Outside tools: the registry and skopeo.
const skip = skipWithout(["docker-registry", "skopeo"], "test/oci/faults.test.ts");

let reg: TestRegistry;
let proxy: FaultProxy | undefined;
const module = new Uint8Array(readFileSync(built("examples/add-header")));

beforeAll(async () => {
  reg = await startRegistry();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});
afterAll(async () => {
  await reg?.close();
});

/** The tag's manifest status straight from the registry (not through the proxy). */
async function tagStatus(repo: string, tag: string): Promise<number> {
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
  await res.arrayBuffer();
  return res.status;
}

describe.skipIf(skip)("push under faults", () => {
  it("retries 503s and reset connections, and still puts the manifest last", async () => {
    const seen = new Map<string, number>();
    proxy = await startFaultProxy(reg.host, ({ method, url }) => {
      const kind = `${method} ${url.replace(/\?.*$/, "").replace(/uploads\/[^/]+$/, "uploads/<id>")}`;
      const n = (seen.get(kind) ?? 0) + 1;
      seen.set(kind, n);
      if (n === 1 && method === "HEAD") return "reset";
      if (n === 1 && (method === "POST" || method === "PUT")) return "503";
      return "pass";
    });
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${proxy.host}/faults/retry:1`, "--json", "--verbose"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/retry 1 of HEAD \/v2\/faults\/retry\/blobs\/sha256:[0-9a-f]+ in \d+ ms: (ECONNRESET|UND_ERR_SOCKET|other side closed|connection failed)/);
    expect(r.stderr).toMatch(/retry 1 of POST .* HTTP 503/);
    expect(r.stderr).toMatch(/retry 1 of PUT .* HTTP 503/);
    const digest = (JSON.parse(r.stdout) as { digest: string }).digest;
    expect(digest).toBe(buildArtifact(module).manifestDigest);
    // The manifest PUT is the last request, after every blob upload completed.
    const puts = proxy.requests.filter((l) => l.startsWith("PUT "));
    expect(puts.at(-1)).toMatch(/^PUT \/v2\/faults\/retry\/manifests\/1$/);
    expect(proxy.requests.at(-1)).toBe(puts.at(-1));
    expect(await tagStatus("faults/retry", "1")).toBe(200);
  });

  it("leaves no tag when the registry is killed during a chunked upload, and a later push completes", async () => {
    let patches = 0;
    proxy = await startFaultProxy(reg.host, async ({ method }): Promise<FaultAction> => {
      if (method === "PATCH" && ++patches === 3) await reg.stop(true); // SIGKILL mid-upload
      return "pass";
    });
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${proxy.host}/faults/killed:1`, "--chunk-size", "1024", "--retries", "1", "--timeout", "5"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pwasm: .*(ECONNRESET|ECONNREFUSED|UND_ERR_SOCKET|other side closed|connection failed|failed at byte \d+)/m);
    expect(patches).toBeGreaterThanOrEqual(3);
    expect(proxy.requests.some((l) => /\/manifests\//.test(l))).toBe(false);
    await reg.restart();
    expect(await tagStatus("faults/killed", "1")).toBe(404);
    const skopeo = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/faults/killed:1`]);
    expect(skopeo.code).not.toBe(0);
    // The registry is whole again: the same push now completes with the expected digest.
    const again = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/faults/killed:1`, "--chunk-size", "1024", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { digest: string }).digest).toBe(buildArtifact(module).manifestDigest);
  });

  it("leaves no tag when the registry stalls mid-upload (per-request timeout, bounded retries)", async () => {
    let patches = 0;
    proxy = await startFaultProxy(reg.host, ({ method }) => (method === "PATCH" && ++patches >= 2 ? "stall" : "pass"));
    const started = Date.now();
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${proxy.host}/faults/stalled:1`, "--chunk-size", "1024", "--retries", "1", "--timeout", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pwasm: uploading sha256:[0-9a-f]{64} to 127\.0\.0\.1:\d+ failed at byte 1024: timeout$/m);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await tagStatus("faults/stalled", "1")).toBe(404);
  });

  it("resumes a chunked upload from the registry's range after a dropped chunk", async () => {
    let patches = 0;
    proxy = await startFaultProxy(reg.host, ({ method }) => (method === "PATCH" && ++patches === 2 ? "reset" : "pass"));
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${proxy.host}/faults/resumed:1`, "--chunk-size", "1024", "--json", "--verbose"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/retry 1 of PATCH .*resuming from the registry's range/);
    expect(proxy.requests.some((l) => l.startsWith("GET /v2/faults/resumed/blobs/uploads/"))).toBe(true);
    const out = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/faults/resumed:1`]);
    expect(out.code, out.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { digest: string }).digest).toBe(buildArtifact(module).manifestDigest);
  });
});
