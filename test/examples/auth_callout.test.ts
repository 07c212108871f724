// examples/auth-callout (native API) and examples/compat-auth-callout (proxy-runtime's API), each
// compiled with AssemblyScript 0.28 and 0.27, pass the same behavioural checks: every request waits
// for the auth service, a 200 lets it through with a header, anything else is a local 401.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../host/index.js";
import { buildExample, exampleBuilds } from "./variants.js";

const REQUEST = { ":method": "POST", ":path": "/orders", ":authority": "shop.example", authorization: "Bearer t0k3n" };

describe.each(exampleBuilds("auth-callout", "compat-auth-callout"))("$name", (build) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildExample(build);
  });
  const host = (configuration = "auth"): Promise<TestHost> =>
    createTestHost({ wasm, rootId: "auth", configuration, clusters: ["auth"] });

  it("asks the auth cluster with the request's headers and holds the request meanwhile", async () => {
    const t = await host();
    const s = t.httpStream();
    expect(s.callOnRequestHeaders(REQUEST, false)).toBe(1);
    const [call] = t.httpCalls;
    expect(call).toMatchObject({ cluster: "auth", timeoutMs: 1000, body: "" });
    expect(call!.headers).toMatchObject({ ":method": "POST", ":path": "/orders", ":authority": "shop.example", authorization: "Bearer t0k3n" });
    // Body and trailers wait for the decision.
    s.callOnRequestBody("payload", false);
    s.callOnRequestTrailers({ "x-checksum": "1" });
    expect(s.upstream.headers).toBeUndefined();
    expect(s.upstream.body.length).toBe(0);

    t.respondToHttpCall({ status: 200, body: "ok" });
    expect(s.upstream.headers?.get("added-header")).toBe("authorized");
    expect(s.upstream.headers?.get(":path")).toBe("/orders");
    expect(s.requestBody).toBe("payload");
    expect(s.upstream.trailers?.get("x-checksum")).toBe("1");
    expect(t.logs("debug")).toContain("auth body: ok");

    s.callOnResponseHeaders({ ":status": "201" }, true);
    expect(s.downstream.headers?.get("hello")).toBe("wasm!");
  });

  it("answers 401 when the service says no", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders(REQUEST, true);
    t.respondToHttpCall({ status: 403, body: "denied" });
    expect(s.localResponse).toMatchObject({ status: 401, details: "not_authorized", grpcStatus: 16 });
    expect(s.upstream.headers).toBeUndefined();
    expect(t.logs("debug")).toContain("auth body: denied");
  });

  it("answers 401 when the callout fails", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders(REQUEST, true);
    t.failHttpCall();
    expect(s.localResponse).toMatchObject({ status: 401, grpcStatus: 16 });
  });

  it("answers 401 on a callout timeout (Envoy's generated 504)", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders(REQUEST, true);
    t.timeoutHttpCall();
    expect(s.localResponse?.status).toBe(401);
  });

  it("answers 500 when the callout cannot be sent", async () => {
    const t = await host("no-such-cluster");
    const s = t.httpStream();
    s.callOnRequestHeaders(REQUEST, true);
    expect(t.httpCalls).toHaveLength(0);
    expect(s.localResponse).toMatchObject({ status: 500, details: "internal_server_error", grpcStatus: 13 });
  });

  it("keeps concurrent requests apart", async () => {
    const t = await host();
    const a = t.httpStream();
    const b = t.httpStream();
    a.callOnRequestHeaders({ ...REQUEST, ":path": "/a" }, true);
    b.callOnRequestHeaders({ ...REQUEST, ":path": "/b" }, true);
    const [ca, cb] = t.httpCalls;
    expect(ca!.headers[":path"]).toBe("/a");
    t.respondToHttpCall({ status: 401 }, cb!.token);
    t.respondToHttpCall({ status: 200 }, ca!.token);
    expect(a.upstream.headers?.get(":path")).toBe("/a");
    expect(b.localResponse?.status).toBe(401);
    expect(b.upstream.headers).toBeUndefined();
  });

  it("survives an answer for a request that is already gone", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders(REQUEST, true);
    s.complete();
    t.respondToHttpCall({ status: 200 });
    expect(t.failures).toHaveLength(0);
    const next = t.httpStream();
    expect(next.callOnRequestHeaders(REQUEST, true)).toBe(1);
  });
});
