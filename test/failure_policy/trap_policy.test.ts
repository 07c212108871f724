// A trap fails the VM, not the host: the failing stream gets exactly one 503 (or passes untouched
// when failing open), the error names the callback, and later streams get a fresh VM.
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { compileProject } from "../../cli/build/compile.js";
import { createTestHost } from "../../host/index.js";

let wasm: string;
beforeAll(async () => {
  wasm = (await compileProject({ dir: join(import.meta.dirname, "fixtures", "trap") })).outFile;
});

const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };

describe("a trapping plugin", () => {
  it("gives exactly one 503 to the stream that trapped, and the next stream succeeds", async () => {
    const host = await createTestHost({ wasm });
    const bad = host.httpStream();
    bad.callOnRequestHeaders({ ...GET, "x-trap": "1" }, true);
    expect(bad.localResponse).toMatchObject({ status: 503, details: "wasm_fail_stream", grpcStatus: 14 });
    expect(bad.downstream.headers?.get(":status")).toBe("503");
    expect(bad.upstream.headers).toBeUndefined();
    // Later events of the failed stream do not produce a second reply.
    bad.callOnResponseHeaders({ ":status": "200" }, true);
    expect(bad.downstream.headers?.get(":status")).toBe("503");
    bad.complete();

    // FAIL_RELOAD reloads once Envoy's backoff has passed (base 1 s, jittered up to 1.5 s).
    host.advanceTime(1500);
    const good = host.httpStream();
    expect(good.callOnRequestHeaders(GET, true)).toBe(0);
    good.callOnResponseHeaders({ ":status": "200" }, true);
    expect(good.localResponse).toBeUndefined();
    expect(good.downstream.headers?.get("x-trap-checked")).toBe("yes");
    good.complete();
  });

  it("names the callback and keeps the plugin's own message", async () => {
    const host = await createTestHost({ wasm });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-trap": "1" }, true);
    expect(host.failures).toHaveLength(1);
    expect(host.failures[0]!.callback).toBe("proxy_on_request_headers");
    // Envoy's words (V8's uncaught exception), at error, as Envoy's own line rather than the plugin's.
    expect(host.failures[0]!.message).toBe("Uncaught RuntimeError: unreachable");
    expect(host.logs("critical")).toEqual([expect.stringMatching(/^trap requested by x-trap at assembly\/index\.ts:\d+:\d+$/)]);
    expect(host.logs("error")[0]).toMatch(/^Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable(\n|$)/);
  });

  it("under FAIL_OPEN fails the stream that trapped, then passes later streams untouched", async () => {
    // As Envoy: the stream during which the VM fails gets its 503 whatever the policy; FAIL_OPEN
    // decides for streams opened after (docs/envoy/lifecycle.md).
    const host = await createTestHost({ wasm, failurePolicy: "FAIL_OPEN" });
    const bad = host.httpStream();
    bad.callOnRequestHeaders({ ...GET, "x-trap": "1" }, true);
    expect(bad.localResponse?.status).toBe(503);
    const s = host.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-trap": "1" }, true);
    expect(s.localResponse).toBeUndefined();
    expect(s.upstream.headers?.get("x-trap")).toBe("1");
    s.callOnResponseHeaders({ ":status": "200" }, true);
    expect(s.downstream.headers?.get(":status")).toBe("200");
    expect(s.downstream.headers?.get("x-trap-checked")).toBeUndefined();
  });

  it("keeps failing every stream under FAIL_CLOSED", async () => {
    const host = await createTestHost({ wasm, failurePolicy: "FAIL_CLOSED" });
    host.httpStream().callOnRequestHeaders({ ...GET, "x-trap": "1" }, true);
    const next = host.httpStream();
    next.callOnRequestHeaders(GET, true);
    expect(next.localResponse?.status).toBe(503);
  });

  it("isolates failures: the host keeps serving other plugins", async () => {
    const a = await createTestHost({ wasm });
    const b = await createTestHost({ wasm });
    a.httpStream().callOnRequestHeaders({ ...GET, "x-trap": "1" }, true);
    const s = b.httpStream();
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders({ ":status": "200" }, true);
    expect(s.downstream.headers?.get("x-trap-checked")).toBe("yes");
    expect(b.failures).toHaveLength(0);
  });
});
