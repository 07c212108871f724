// The SDK's callout wrappers through the host, in every build variant: HTTP callouts (dispatch,
// response headers/body/trailers, failure status, routing by token to the calling stream with the
// effective context set, a stream that is gone, raw tokens going to the root), unary gRPC calls
// and gRPC streams (send, cancel, close, initial/trailing metadata, messages, close status).
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { createTestHost, type TestHost } from "../../host/index.js";
import { VARIANTS, buildVariant } from "./variants.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "abi");
const GET = { ":method": "GET", ":path": "/abi", ":authority": "example.com" };

describe.each(VARIANTS)("SDK callout wrappers ($name)", (variant) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildVariant(FIXTURE, variant);
  });
  const host = (rootId = "http"): Promise<TestHost> =>
    createTestHost({ wasm, rootId, clusters: ["auth", "grpc"] });

  it("dispatches an HTTP callout and routes the response to the stream that made it", async () => {
    const t = await host();
    const s = t.httpStream();
    expect(s.callOnRequestHeaders({ ...GET, "x-op": "http-call" }, true)).toBe(1);
    const [call] = t.httpCalls;
    expect(call).toMatchObject({ cluster: "auth", body: "ping", timeoutMs: 500, trailers: { "x-req-trailer": "t1" } });
    expect(call!.headers).toMatchObject({ ":method": "POST", ":path": "/check", ":authority": "auth.local", "x-from": "abi", "content-length": "4" });
    expect(s.requestHeaders.get("x-token")).toBe(String(call!.token));
    expect(s.upstream.headers).toBeUndefined();

    t.respondToHttpCall({ status: 200, headers: { "x-r": "1" }, body: "pong!", trailers: { "x-resp-trailer": "tt" } }, call!.token);
    // The answer edited this stream's headers and resumed it: the effective context was the stream.
    const up = s.upstream.headers!;
    expect(up.get("x-callout-status")).toBe("200");
    expect(up.get("x-callout-headers")).toBe("2/2");
    expect(up.get("x-callout-body")).toBe("pong!/5/5");
    expect(up.get("x-callout-trailer")).toBe("tt/1");
    expect(up.get("x-callout-token-ok")).toBe("yes");
  });

  it("routes concurrent callouts by token", async () => {
    const t = await host();
    const a = t.httpStream();
    const b = t.httpStream();
    a.callOnRequestHeaders({ ...GET, "x-op": "http-call" }, true);
    b.callOnRequestHeaders({ ...GET, "x-op": "http-call" }, true);
    const [ca, cb] = t.httpCalls;
    t.respondToHttpCall({ status: 204 }, cb!.token);
    expect(b.upstream.headers?.get("x-callout-status")).toBe("204");
    expect(a.upstream.headers).toBeUndefined();
    t.respondToHttpCall({ status: 202 }, ca!.token);
    expect(a.upstream.headers?.get("x-callout-status")).toBe("202");
  });

  it("reports a failed callout through getStatus", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "http-call" }, true);
    t.failHttpCall();
    expect(s.localResponse).toMatchObject({ status: 503, body: "status 11 reset" });
  });

  it("returns token 0 and the host's status when a callout is refused", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "http-call-refused" }, true);
    expect(s.requestHeaders.get("x-token")).toBe("0");
    expect(s.requestHeaders.get("x-result")).toBe("2"); // BadArgument: unknown cluster
    expect(t.httpCalls).toHaveLength(0);
  });

  it("drops the answer safely when the stream is already gone", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "http-call" }, true);
    s.complete();
    t.respondToHttpCall({ status: 200 });
    expect(t.failures).toHaveLength(0);
    expect(t.logs("debug")).toContain("pwasm: callout answer dropped: the context that made it is gone");
    // The VM is still healthy.
    const next = t.httpStream();
    expect(next.callOnRequestHeaders(GET, true)).toBe(0);
  });

  it("delivers callouts made through raw imports to the root context", async () => {
    const t = await host("raw");
    const s = t.httpStream();
    s.callOnRequestHeaders(GET, true);
    const [call] = t.httpCalls;
    expect(t.logs("info")).toContain(`raw http call 0 token ${call!.token}`);
    t.respondToHttpCall({ status: 200, body: "abc" });
    expect(t.logs("info")).toContain(`root got raw callout ${call!.token} 1 3`);
  });

  it("makes a unary gRPC call and receives its response", async () => {
    const t = await host();
    const s = t.httpStream();
    expect(s.callOnRequestHeaders({ ...GET, "x-op": "grpc-call" }, true)).toBe(1);
    const [call] = t.grpc.calls;
    expect(call).toMatchObject({ cluster: "grpc", serviceName: "abi.Echo", method: "Say", timeoutMs: 700, initialMetadata: { "x-md": "m1" } });
    expect(call!.message.toString()).toBe("request-bytes");
    expect(call!.token & 3).toBe(1); // gRPC call tokens: 5, 9, …
    t.grpc.respond("reply-bytes");
    expect(s.upstream.headers?.get("x-grpc-reply")).toBe("reply-bytes/11");
    expect(t.grpc.calls).toHaveLength(0);
  });

  it("reports a failed gRPC call with its status and message", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "grpc-call" }, true);
    t.grpc.fail(14, "upstream down");
    expect(s.upstream.headers?.get("x-grpc-close")).toBe("14/14/upstream down");
  });

  it("refuses a gRPC call to an unknown cluster", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "grpc-call-refused" }, true);
    expect(s.requestHeaders.get("x-token")).toBe("0");
    expect(s.requestHeaders.get("x-result")).toBe("4"); // ParseFailure, as Envoy answers
  });

  it("cancels a gRPC call", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "grpc-cancel" }, true);
    expect(s.requestHeaders.get("x-cancel")).toBe("0");
    expect(s.requestHeaders.get("x-cancel-again")).toBe("1"); // NotFound
    expect(s.requestHeaders.get("x-send-on-call")).toBe("2"); // BadArgument: not a stream
    expect(s.requestHeaders.get("x-cancel-http-token")).toBe("2/2"); // BadArgument: an HTTP token
    expect(t.grpc.calls).toHaveLength(0);
    expect(t.grpc.cancelled).toHaveLength(1);
  });

  it("runs a gRPC stream: send, initial metadata, messages, trailing metadata, close", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "grpc-stream" }, true);
    const [stream] = t.grpc.streams;
    expect(stream).toMatchObject({ cluster: "grpc", serviceName: "abi.Chat", method: "Talk", initialMetadata: { "x-md": "s1" }, halfClosed: false });
    expect(stream!.token & 3).toBe(2);
    expect(stream!.sent.map(String)).toEqual(["hello"]);

    t.grpc.sendInitialMetadata({ "x-init": "i1", "x-other": "o" });
    t.grpc.sendMessage("first");
    expect(t.grpc.streams[0]!.sent.map(String)).toEqual(["hello", "echo first"]);
    t.grpc.sendMessage("second");
    // The plugin half-closed with its answer to "second".
    expect(t.grpc.streams[0]!.sent.map(String)).toEqual(["hello", "echo first", "echo second"]);
    expect(t.grpc.streams[0]!.halfClosed).toBe(true);
    t.grpc.sendTrailingMetadata({ "x-trail": "t1" });
    t.grpc.closeStream(0, "done");

    const up = s.upstream.headers!;
    expect(up.get("x-grpc-stream-log")).toBe("init:i1/2;trailing-now:none;msg:first;msg:second;trail:t1/1;");
    expect(up.get("x-grpc-close")).toBe("0/0/done");
    // Closing our side after the server closed is fine and forgets the stream.
    expect(up.get("x-grpc-close-local")).toBe("0");
  });

  it("half-closes and resets gRPC streams", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "grpc-stream-reset" }, true);
    expect(s.requestHeaders.get("x-close")).toBe("0");
    expect(s.requestHeaders.get("x-reset")).toBe("0");
    expect(s.requestHeaders.get("x-reset-again")).toBe("1");
    expect(t.grpc.streams).toHaveLength(0);
    expect(t.grpc.cancelled).toHaveLength(1);
  });

  it("drops gRPC events for a stream context that is gone", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "grpc-stream" }, true);
    s.complete();
    t.grpc.sendMessage("late");
    t.grpc.closeStream(0);
    expect(t.failures).toHaveLength(0);
    expect(t.logs("debug").filter((l) => l.includes("callout answer dropped"))).toHaveLength(2);
  });
});
