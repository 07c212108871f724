// examples/singleton (native API) and examples/compat-singleton (proxy-runtime's API), each compiled
// with AssemblyScript 0.28 and 0.27, pass the same behavioural checks: a singleton root polls a
// token server and shares the token; the HTTP root admits only requests that carry it.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../host/index.js";
import { buildExample, exampleBuilds } from "./variants.js";

const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };

describe.each(exampleBuilds("singleton", "compat-singleton"))("$name", (build) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildExample(build);
  });

  // The HTTP filter and the singleton: two plugins of one module sharing a VM id, as in Envoy.
  async function setup(): Promise<TestHost> {
    const t = await createTestHost({ wasm, rootId: "auth", vmId: "token", clusters: ["token_server"] });
    await t.host.loadPlugin(wasm, { rootId: "auth_singleton", vmId: "token", configuration: "token_server" });
    t.runPending();
    return t;
  }
  const request = (t: TestHost, token?: string) => {
    const s = t.httpStream();
    s.callOnRequestHeaders(token === undefined ? GET : { ...GET, "x-auth": token }, true);
    return s;
  };

  it("denies every request until a token arrived", async () => {
    const t = await setup();
    expect(request(t).localResponse).toMatchObject({ status: 401, details: "not_authorized", grpcStatus: 13 });
    expect(request(t, "").localResponse?.status).toBe(401);
  });

  it("polls the token server each second and admits requests with the shared token", async () => {
    const t = await setup();
    t.advanceTime(1000);
    const [call] = t.httpCalls;
    expect(call).toMatchObject({ cluster: "token_server", timeoutMs: 1000 });
    expect(call!.headers).toMatchObject({ ":path": "/fetch", ":method": "GET", ":authority": "foo" });
    t.respondToHttpCall({ status: 200, body: "s3cret" });
    expect(t.sharedData("data")?.value).toBe("s3cret");
    expect(t.logs("info")).toContain("singleton: token updated");

    // The HTTP root picks the token up on its next tick.
    t.advanceTime(1000);
    const ok = request(t, "s3cret");
    expect(ok.localResponse).toBeUndefined();
    expect(ok.upstream.headers?.get("x-auth")).toBe("s3cret");
    expect(request(t, "wrong").localResponse?.status).toBe(401);
    expect(request(t).localResponse?.status).toBe(401);
  });

  it("keeps the last token when a poll fails, and rotates it when a new one comes", async () => {
    const t = await setup();
    t.advanceTime(1000);
    t.respondToHttpCall({ status: 200, body: "one" });
    t.advanceTime(1000);
    t.failHttpCall();
    t.advanceTime(1000);
    expect(request(t, "one").localResponse).toBeUndefined();
    t.respondToHttpCall({ status: 200, body: "two" });
    t.advanceTime(1000);
    expect(request(t, "one").localResponse?.status).toBe(401);
    expect(request(t, "two").localResponse).toBeUndefined();
  });
});
