// The proxy-runtime compatible API (pwasm/sdk/compat) through the host, in every build variant:
// each compat wrapper is driven by the fixture plugin and its effect checked.
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { createTestHost, type TestHost, type TestHostOptions } from "../../host/index.js";
import { VARIANTS, buildVariant } from "./variants.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "compat");
const GET = { ":method": "GET", ":path": "/compat", ":authority": "example.com" };

describe.each(VARIANTS)("proxy-runtime compatible API ($name)", (variant) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildVariant(FIXTURE, variant);
  });
  const host = (options: Partial<TestHostOptions> = {}): Promise<TestHost> =>
    createTestHost({ wasm, rootId: "compat", clusters: ["auth"], ...options });
  const op = (t: TestHost, name: string, extra: Record<string, string> = {}) => {
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-op": name, ...extra }, true);
    return s;
  };

  it("starts and reads its configuration with getConfiguration", async () => {
    const t = await host({ configuration: "conf ✓", vmConfiguration: "vm" });
    expect(t.logs("info")).toContain("start 2");
    expect(t.logs("info")).toContain("configured: conf ✓");
  });

  it("edits headers through stream_context and the *_header_map_value functions", async () => {
    const t = await host();
    const h = op(t, "headers", { "x-in": "in", "x-replace-me": "a", "x-remove-me": "r", "x-drop1": "1", "x-drop2": "2" }).requestHeaders;
    expect(h.get("x-count")).toBe("9");
    expect(h.get("x-got")).toBe("in");
    expect(h.get("x-missing")).toBe("empty");
    expect(h.get("x-replace-me")).toBe("replaced");
    expect(h.has("x-remove-me")).toBe(false);
    expect(h.get("x-bytes")).toBe("b2");
    expect(h.get("x-string")).toBe("s2");
    expect(h.get("x-raw-get")).toBe("in");
    expect(h.has("x-drop1") || h.has("x-drop2")).toBe(false);
    expect(h.get("x-first-pair")).toBe(":method:GET");
    const earlier = h.entries().filter(([k]) => !["x-pairs", "x-size", "x-first-pair"].includes(k));
    expect(Number(h.get("x-pairs"))).toBe(earlier.length);
    expect(Number(h.get("x-size"))).toBe(earlier.reduce((n, [k, v]) => n + k.length + v.length, 0) + "x-pairs".length + h.get("x-pairs")!.length);
  });

  it("replaces all headers with set_headers", async () => {
    const t = await host();
    const s = op(t, "setheaders", { "x-a": "1" });
    expect(s.requestHeaders.toObject()).toEqual({ ...GET, "x-set": "6" });
  });

  it("sends local replies with send_local_response", async () => {
    const t = await host();
    const s = op(t, "local");
    expect(s.localResponse).toMatchObject({ status: 403, body: "denied", details: "compat_deny", grpcStatus: 7, headers: { "x-why": "compat" } });
  });

  it("makes HTTP callouts with httpCall and resumes the stream from the callback", async () => {
    const t = await host();
    const s = op(t, "http");
    expect(s.requestHeaders.get("x-call-result")).toBe("0");
    const [call] = t.httpCalls;
    expect(call).toMatchObject({ cluster: "auth", body: "ping", timeoutMs: 500, trailers: { "x-req-trailer": "t" } });
    t.respondToHttpCall({ status: 200, body: "pong", trailers: { "x-resp-trailer": "rt" } });
    const up = s.upstream.headers!;
    expect(up.get("x-callout-status")).toBe("200");
    expect(up.get("x-callout-trailer")).toBe("rt/1");
    expect(up.get("x-callout-body")).toBe("pong");
    expect(up.get("x-callout-size")).toBe("4");
  });

  it("reports a failed callout and its status through get_status", async () => {
    const t = await host();
    const s = op(t, "http");
    t.failHttpCall();
    expect(t.logs("info")).toContain("callback failed 11 reset for http");
    expect(s.localResponse?.status).toBe(503);
  });

  it("returns the host's status when a callout is refused", async () => {
    const t = await host();
    expect(op(t, "http-refused").requestHeaders.get("x-call-result")).toBe("2");
  });

  it("cancels pending callouts on shutdown, calling their callbacks with no headers", async () => {
    const t = await host();
    op(t, "http-pending");
    t.shutdown();
    expect(t.logs("info")).toContain("callback failed 0  for http-pending");
  });

  it("gets and sets shared data with CAS", async () => {
    const t = await host();
    const h = op(t, "shared").requestHeaders;
    expect(h.get("x-before")).toBe("1");
    expect(h.get("x-set")).toBe("0");
    expect(h.get("x-value")).toBe("v1");
    expect(h.get("x-stale")).toBe("8");
    expect(h.get("x-cas")).toBe("0");
    expect(t.sharedData("compat-key")?.value).toBe("v3");
  });

  it("registers, resolves, enqueues and dequeues shared queues", async () => {
    const t = await host();
    const h = op(t, "queue").requestHeaders;
    expect(h.get("x-resolve")).toBe("0:same");
    expect(h.get("x-enqueue")).toBe("0");
    expect(h.get("x-resolve-missing")).toBe("1");
    expect(t.logs("info")).toEqual(expect.arrayContaining(["dequeued one", "dequeued two", "dequeue result 7"]));
  });

  it("defines and updates metrics with the metric classes and functions", async () => {
    const t = await host();
    const h = op(t, "metrics").requestHeaders;
    expect(t.metric("compat.counter")).toBe(3);
    expect(t.metric("compat.gauge")).toBe(9);
    expect(t.histogram("compat.histogram")).toMatchObject({ count: 1, sum: 7 });
    expect(t.metric("compat.defined")).toBe(6);
    expect(h.get("x-defined")).toBe("6");
    expect(h.get("x-counter")).toBe("3");
    expect(h.get("x-histogram-get")).toBe("2"); // histograms cannot be read: BadArgument
  });

  it("reads and writes properties", async () => {
    const t = await host();
    const s = op(t, "property");
    const h = s.requestHeaders;
    expect(h.get("x-root-id")).toBe("compat");
    expect(h.get("x-path")).toBe("/compat");
    expect(h.get("x-missing")).toBe("0");
    expect(h.get("x-set-property")).toBe("0");
    expect(s.filterState("compat_state")).toBe("written");
  });

  it("logs at every level and reads the log level", async () => {
    const t = await host({ logLevel: "debug" });
    const h = op(t, "log").requestHeaders;
    expect(h.get("x-log-level")).toBe("1");
    for (const level of ["debug", "info", "warn", "error", "critical"] as const) expect(t.logs(level)).toContain(`compat ${level}`);
    expect(t.logs()).not.toContain("compat trace");
  });

  it("reads the time", async () => {
    const t = await host();
    const ns = BigInt(op(t, "time").requestHeaders.get("x-time")!);
    expect(Number(ns / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("calls foreign functions, including clear_route_cache", async () => {
    const t = await host();
    t.registerForeignFunction("compat_echo", (args) => `<${args.toString()}>`);
    const s = op(t, "foreign");
    expect(s.requestHeaders.get("x-foreign")).toBe("<abc>");
    expect(s.requestHeaders.get("x-foreign-missing")).toBe("0");
    expect(s.requestHeaders.get("x-clear-route-cache")).toBe("0");
  });

  it("wraps proxy_done, the effective context and Reference", async () => {
    const t = await host();
    const h = op(t, "context").requestHeaders;
    expect(h.get("x-done")).toBe("1");
    expect(h.get("x-effective")).toBe("0");
    expect(h.get("x-effective-bad")).toBe("2");
    expect(h.get("x-set-effective")).toBe("0");
    expect(h.get("x-ref")).toBe("7");
  });

  it("rewrites bodies with get_buffer_bytes/set_buffer_bytes and handles trailers and responses", async () => {
    const t = await host();
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, ":method": "POST" }, false);
    expect(s.callOnRequestBody("abc", false)).toBe(1);
    s.callOnRequestBody("def", false);
    s.callOnRequestTrailers({ "x-trailer": "tv" });
    // Trailers ended the request: the buffered body went on with them (no end-of-stream body callback to rewrite it).
    expect(s.requestBody).toBe("abcdef");
    expect(s.upstream.trailers?.get("x-seen")).toBe("tv");
    const u = t.httpStream();
    u.callOnRequestHeaders({ ...GET, ":method": "POST" }, false);
    u.callOnRequestBody("abc", false);
    u.callOnRequestBody("def", true);
    expect(t.logs("info")).toContain("body abcdef status 6");
    expect(u.requestBody).toBe("ABCDEF");
    u.callOnResponseHeaders({ ":status": "200", server: "upstream" }, false);
    expect(u.downstream.headers?.get("server")).toBe("compat");
    expect(u.downstream.headers?.get("x-continue-response")).toBe("0");
    u.callOnResponseTrailers({ "x-resp": "r" });
    expect(u.downstream.trailers?.get("x-resp-seen")).toBe("r");
    u.complete();
    expect(t.logs("info")).toEqual(expect.arrayContaining(["compat log /compat", "compat done", "compat delete"]));
  });

  it("handles TCP connections with the same Context class", async () => {
    const t = await createTestHost({ wasm, rootId: "compat_tcp" });
    const c = t.tcpConnection();
    expect(t.logs("info")).toContain("tcp new");
    expect(c.callOnDownstreamData("hi")).toBe(0);
    expect(c.upstreamText).toBe("[hi]");
    c.callOnUpstreamData("yo", true);
    expect(c.downstreamText).toBe("yo!");
    expect(t.logs("info")).toEqual(expect.arrayContaining(["tcp upstream yo end", "tcp upstream close 0"]));
    c.closeDownstream("local");
    expect(t.logs("info")).toContain("tcp downstream close 1");
    expect(c.completed).toBe(true);
  });
});
