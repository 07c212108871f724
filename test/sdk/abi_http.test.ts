// The SDK's HTTP wrappers through the host, in every supported build variant: header maps
// (get/set/add/remove/getAll/setAll/size), bodies (get/size/replace/append/prepend, buffering),
// trailers, local replies with gRPC status, close and continue, properties, the access-log point.
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { createTestHost, type TestHost } from "../../host/index.js";
import { VARIANTS, buildVariant } from "./variants.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "abi");
const GET = { ":method": "GET", ":path": "/abi", ":authority": "example.com" };

describe.each(VARIANTS)("SDK HTTP wrappers ($name)", (variant) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildVariant(FIXTURE, variant);
  });
  const host = (options: { configuration?: string; clusters?: string[] } = {}): Promise<TestHost> =>
    createTestHost({ wasm, rootId: "http", ...options });

  it("reads and edits request headers with every header-map call", async () => {
    const t = await host();
    const s = t.httpStream();
    const action = s.callOnRequestHeaders({ ...GET, "x-op": "headers", "x-in": "value-in", "x-replace-me": ["a", "b"], "x-remove-me": "gone" }, true);
    expect(action).toBe(0);
    const h = s.requestHeaders;
    expect(h.get("x-num-headers")).toBe("8"); // count includes pseudo-headers and repeats
    expect(h.get("x-end-of-stream")).toBe("1");
    expect(h.get("x-got")).toBe("value-in");
    expect(h.get("x-missing-is-null")).toBe("yes");
    expect(h.get("x-has-in")).toBe("yes");
    expect(h.getAll("x-replace-me")).toEqual(["replaced"]);
    expect(h.getAll("x-added")).toEqual(["one", "two"]);
    expect(h.has("x-remove-me")).toBe(false);
    expect(h.get("x-unicode")).toBe("grüße ✓ 😀");
    // size() is Envoy's byte size of keys and values, getAll() the entries — both at that moment,
    // before x-size, x-count and x-unicode were added.
    const earlier = h.entries().filter(([k]) => !["x-size", "x-count", "x-unicode"].includes(k));
    expect(Number(h.get("x-count"))).toBe(earlier.length + 1);
    expect(Number(h.get("x-size"))).toBe(earlier.reduce((n, [k, v]) => n + k.length + v.length, 0));
    // Strings longer than the SDK's static staging slots (name and value) pass intact.
    const long = "ü".repeat(3000);
    const t2 = await host();
    const s2 = t2.httpStream();
    s2.callOnRequestHeaders({ ...GET, "x-op": "headers", "x-long": long }, true);
    expect(s2.requestHeaders.get(`x-long-copy-${"k".repeat(700)}`)).toBe(`${long}✓`);
    // What went upstream is what the plugin left.
    expect(s.upstream.headers?.get("x-added")).toBe("one");
  });

  it("replaces the whole map with setAll", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "setall", "x-keep": "k", "x-drop": "d" }, true);
    expect(s.requestHeaders.toObject()).toEqual({
      ":method": "GET", ":path": "/abi", ":authority": "example.com", "x-keep": "k", "x-set-all": "8",
    });
  });

  it("sends local replies with extra headers and a gRPC status", async () => {
    const t = await host();
    const s = t.httpStream();
    expect(s.callOnRequestHeaders({ ...GET, "x-op": "local" }, true)).toBe(1);
    expect(s.localResponse).toMatchObject({ status: 403, body: "no entry", details: "denied_by_abi", grpcStatus: 7 });
    expect(s.localResponse?.headers["x-why"]).toBe("test");
    expect(s.upstream.headers).toBeUndefined();

    // A gRPC request gets the status as grpc-status.
    const g = t.httpStream();
    g.callOnRequestHeaders({ ...GET, "content-type": "application/grpc", "x-op": "local" }, true);
    expect(g.downstream.headers?.get("grpc-status")).toBe("7");

    const plain = t.httpStream();
    plain.callOnRequestHeaders({ ...GET, "x-op": "local-plain" }, true);
    expect(plain.localResponse).toMatchObject({ status: 418, body: "teapot", grpcStatus: undefined });
  });

  it("answers locally from the response side", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "resp-local" }, true);
    s.callOnResponseHeaders({ ":status": "200" }, false);
    expect(s.downstream.headers?.get(":status")).toBe("502");
    expect(s.responseBody).toBe("bad upstream");
  });

  it("closes (resets) the stream", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "close" }, true);
    expect(s.resetDetails).toBe("wasm_close_stream");
    expect(s.upstream.headers).toBeUndefined();
  });

  it("reports bad stream types from continue_stream", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "bad-continue" }, true);
    expect(s.requestHeaders.get("x-bad-continue")).toBe("2"); // BadArgument
    expect(s.requestHeaders.get("x-upstream-continue")).toBe("12"); // Unimplemented
  });

  it("reads, sizes and rewrites request bodies", async () => {
    const t = await host();
    const cases: Array<[string, string[], string]> = [
      ["replace", ["abc"], "replaced"],
      ["append", ["abc"], "abc+tail"],
      ["prepend", ["abc"], ">head+abc<"],
      ["partial", ["abcdef"], "abcdef:bcd"],
      ["buffer", ["hel", "lo ", "world"], "[hello world]"],
    ];
    for (const [op, chunks, expected] of cases) {
      const s = t.httpStream();
      s.callOnRequestHeaders({ ...GET, ":method": "POST", "x-body-op": op }, false);
      chunks.forEach((c, i) => s.callOnRequestBody(c, i === chunks.length - 1));
      expect(s.requestBody, op).toBe(expected);
    }
    // Buffering: each callback after a Pause sees everything so far.
    expect(t.logs("info")).toContain("request body 11 end size()=11");
    expect(t.logs("info")).toContain("request body 6 more size()=6");
  });

  it("creates and reads trailers", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, ":method": "POST", "x-body-op": "trailers" }, false);
    s.callOnRequestBody("x", true);
    expect(s.requestTrailers.get("x-made-trailer")).toBe("yes");

    const u = t.httpStream();
    u.callOnRequestHeaders({ ...GET, ":method": "POST", "x-stop-trailers": "1" }, false);
    u.callOnRequestBody("x", false);
    expect(u.callOnRequestTrailers({ "x-trailer": "tv" })).toBe(1);
    expect(u.requestTrailers.get("x-trailer-seen")).toBe("tv/1");
    expect(u.upstream.trailers).toBeUndefined(); // stopped at trailers

    const r = t.httpStream();
    r.callOnRequestHeaders(GET, true);
    r.callOnResponseHeaders({ ":status": "200" }, false);
    r.callOnResponseBody("body", false);
    r.callOnResponseTrailers({ "x-resp-trailer": "rt" });
    expect(r.downstream.trailers?.get("x-resp-trailer-seen")).toBe("rt/1");
  });

  it("rewrites response bodies and sees response headers", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": "resp-body" }, true);
    s.callOnResponseHeaders({ ":status": "200", "x-u": "1" }, false);
    expect(s.downstream.headers?.get("x-response-num-headers")).toBe("2");
    expect(s.callOnResponseBody("one ", false)).toBe(1);
    s.callOnResponseBody("two", true);
    expect(s.responseBody).toBe("<<one two>>");
  });

  it("reads and writes properties", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, ":path": "/prop?x=1", "x-op": "property" }, true);
    const h = s.requestHeaders;
    expect(h.get("x-path")).toBe("/prop?x=1");
    expect(h.get("x-plugin-root-id")).toBe("http");
    expect(h.get("x-missing-property")).toBe("null:1");
    expect(Number(h.get("x-connection-id"))).toBeGreaterThan(0);
    expect(h.get("x-mtls")).toBe("false");
    expect(h.get("x-set-property")).toBe("0");
    expect(h.get("x-read-back")).toBe("from-plugin");
    expect(s.filterState("abi_state")).toBe("from-plugin");
    expect(s.filterState("abi_bytes")).toBe("raw");
  });

  it("runs the access-log point and deletes the context, with headers still readable", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, ":path": "/logged" }, true);
    s.callOnResponseHeaders({ ":status": "201" }, true);
    s.complete();
    const info = t.logs("info");
    expect(info).toContain("on log: /logged 201");
    expect(info.indexOf("on log: /logged 201")).toBeLessThan(info.indexOf("stream done "));
    expect(info.indexOf("stream done ")).toBeLessThan(info.indexOf("stream deleted "));
  });

  it("resumes a paused stream from a tick through the effective context", async () => {
    const t = await host({ configuration: "tick" });
    expect(t.tickPeriodMs).toBe(50);
    const s = t.httpStream();
    expect(s.callOnRequestHeaders({ ...GET, "x-op": "pause-tick" }, true)).toBe(1);
    expect(s.upstream.headers).toBeUndefined();
    t.advanceTime(50);
    expect(s.upstream.headers?.get("x-resumed-by")).toBe("tick");
    expect(t.metric("abi.ticks")).toBe(1);
  });
});
