// One behavioural suite, three plugins: the "xlang" fixture written against the Go SDK (built with
// Go's own wasip1 port), in C against the raw ABI (clang + wasi-libc) and in AssemblyScript on the
// pwasm SDK — all built from source by the suite (cached in .cache/fixtures). The same assertions
// hold for each, so the host treats modules from every toolchain as Envoy would. Behaviour:
// test/fixtures/README.md.
import { beforeAll, describe, expect, it } from "vitest";
import { PluginLoadError } from "../../host/index.js";
import { createTestHost, type TestHost, type TestHostOptions } from "../../host/testing/test_host.js";
import type { TestHttpStream } from "../../host/testing/test_stream.js";
import { buildFixture, describeFixture, type BuiltFixture, type FixtureLanguage } from "../fixtures/build.js";
import { skipWithout } from "../helpers/tools.js";

const LANGUAGES: FixtureLanguage[] = ["go", "c", "assemblyscript"];
/** The ABI each toolchain's module declares (the Go SDK release speaks 0.2.0). */
const ABI: Record<FixtureLanguage, string> = { go: "0.2.0", c: "0.2.1", assemblyscript: "0.2.1" };
const built = new Map<FixtureLanguage, BuiltFixture>();
/** Why a language's suite is skipped (its toolchain is missing here), or undefined. */
const SKIP: Record<FixtureLanguage, string | undefined> = {
  go: skipWithout(["go"], "xlang plugin (go)"), c: skipWithout(["clang"], "xlang plugin (c)"), assemblyscript: undefined,
};

beforeAll(async () => {
  // Sequential: each toolchain uses both cores.
  for (const language of LANGUAGES) {
    if (SKIP[language]) continue;
    const f = await buildFixture(language, "xlang");
    built.set(language, f);
    console.log(`fixture ${describeFixture(f)}`);
  }
}, 600_000);

const REQUEST = { ":method": "POST", ":path": "/items", ":authority": "example.com" };

/** The request headers the plugin let through to the upstream (undefined while it holds them). */
const sent = (stream: TestHttpStream): Record<string, string> | undefined => stream.upstream.headers?.toObject();

for (const language of LANGUAGES) describe.skipIf(SKIP[language])(`xlang plugin (${language})`, () => {
  const load = (options: Partial<TestHostOptions> = {}): Promise<TestHost> =>
    createTestHost({ wasm: built.get(language)!.path, ...options });

  /** Runs one request's headers through the plugin; returns the stream. */
  const request = (host: TestHost, headers: Record<string, string> = REQUEST) => {
    const stream = host.httpStream();
    const action = stream.callOnRequestHeaders(headers);
    return { stream, action };
  };

  it("starts, defines its metrics and arms a 1 s tick", async () => {
    const host = await load();
    expect(host.plugin.abiVersion).toBe(ABI[language]);
    expect(host.logs("info")).toContain("xlang: configured");
    expect(host.tickPeriodMs).toBe(1000);
    expect(host.metric("xlang_requests_total")).toBe(0);
    expect(host.metric("xlang_ticks")).toBe(0);
    expect(host.histogram("xlang_request_body_bytes")?.count).toBe(0);
    expect(host.failures).toEqual([]);
  });

  it("rejects the configuration \"reject\" and so is refused at load", async () => {
    const err = await load({ configuration: "reject" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginLoadError);
    expect((err as Error).message).toMatch(/configuration rejected/);
    // Any other configuration is accepted.
    await expect(load({ configuration: "anything else" })).resolves.toBeDefined();
  });

  it("adds the shared request count and its language to the request headers", async () => {
    const host = await load();
    for (let n = 1; n <= 3; n++) {
      const { stream, action } = request(host);
      expect(action).toBe(0); // Continue
      expect(sent(stream)).toEqual({ ...REQUEST, "x-xlang-count": String(n), "x-xlang-lang": language });
    }
    expect(host.metric("xlang_requests_total")).toBe(3);
    expect(host.sharedData("xlang_requests")?.value).toBe("3");
  });

  it("counts through shared data with compare-and-swap across VMs (concurrency 2)", async () => {
    const host = await load({ concurrency: 2 });
    expect(host.plugin.currentVms()).toHaveLength(2);
    const counts = [1, 2, 3, 4].map(() => sent(request(host).stream)?.["x-xlang-count"]);
    expect(counts).toEqual(["1", "2", "3", "4"]);
    const entry = host.sharedData("xlang_requests");
    expect(entry?.value).toBe("4");
    expect(entry?.cas).toBeGreaterThan(0);
  });

  it("decorates the response headers and removes x-internal", async () => {
    const host = await load();
    request(host);
    const { stream } = request(host);
    expect(stream.callOnResponseHeaders({ ":status": "200", "x-internal": "secret", server: "upstream" })).toBe(0);
    expect(stream.downstream.headers?.toObject()).toEqual({
      ":status": "200", server: "upstream", "x-xlang-lang": language, "x-xlang-count": "2",
    });
  });

  it("buffers the request body until its end, then upper-cases it", async () => {
    const host = await load();
    const { stream } = request(host);
    expect(stream.callOnRequestBody("hello, ", false)).toBe(1); // StopIterationAndBuffer
    expect(stream.requestBody).toBe("");
    expect(stream.callOnRequestBody("wörld", true)).toBe(0);
    // ASCII letters only: the UTF-8 bytes of "ö" pass through unchanged.
    expect(stream.requestBody).toBe("HELLO, WöRLD");
    expect(stream.upstream.ended).toBe(true);
    const bytes = Buffer.byteLength("hello, wörld");
    expect(host.histogram("xlang_request_body_bytes")).toMatchObject({ count: 1, sum: bytes });
  });

  it("answers a body containing \"forbidden\" with a local 400", async () => {
    const host = await load();
    const { stream } = request(host);
    stream.callOnRequestBody("this is forbidden", true);
    expect(stream.localResponse).toMatchObject({ status: 400, body: "forbidden body" });
    expect(stream.requestBody).toBe("");
  });

  it("appends a line to the response body at its end only", async () => {
    const host = await load();
    const { stream } = request(host);
    stream.callOnResponseHeaders({ ":status": "200" });
    expect(stream.callOnResponseBody("part one, ", false)).toBe(0);
    expect(stream.responseBody).toBe("part one, ");
    expect(stream.callOnResponseBody("part two", true)).toBe(0);
    expect(stream.responseBody).toBe("part one, part two\n-- xlang");
  });

  it("asks the auth cluster and lets an allowed request through with its user", async () => {
    const host = await load();
    const { stream, action } = request(host, { ...REQUEST, ":path": "/callout/42" });
    expect(action).toBe(1); // StopIteration while the callout is out
    expect(stream.upstream.headers).toBeUndefined();
    const calls = host.httpCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      cluster: "auth",
      headers: { ":method": "GET", ":path": "/check", ":authority": "auth", "x-xlang-for": "/callout/42" },
      body: "",
      timeoutMs: 1000,
    });
    host.respondToHttpCall({ status: 200, body: "alice" });
    expect(stream.localResponse).toBeUndefined();
    expect(sent(stream)).toEqual({ ...REQUEST, ":path": "/callout/42", "x-xlang-count": "1", "x-xlang-lang": language, "x-auth": "alice" });
    expect(host.httpCalls).toHaveLength(0);
  });

  it("denies with a local 403 when the auth cluster says no", async () => {
    const host = await load();
    const { stream } = request(host, { ...REQUEST, ":path": "/callout" });
    host.respondToHttpCall({ status: 401, body: "who are you" });
    expect(stream.localResponse).toMatchObject({ status: 403, body: "denied by auth", headers: { "x-xlang-denied": "401" } });
    expect(stream.upstream.headers).toBeUndefined();
  });

  it("answers 503 when the callout fails", async () => {
    const host = await load();
    const { stream } = request(host, { ...REQUEST, ":path": "/callout" });
    host.failHttpCall();
    expect(stream.localResponse).toMatchObject({ status: 503, body: "auth unavailable" });
  });

  it("counts ticks in a gauge", async () => {
    const host = await load();
    host.tick();
    host.tick();
    host.advanceTime(3000);
    expect(host.metric("xlang_ticks")).toBe(5);
  });

  it("logs each finished stream with its count", async () => {
    const host = await load();
    request(host).stream.complete();
    request(host).stream.complete();
    expect(host.logs("info")).toEqual(["xlang: configured", "xlang: request 1 done", "xlang: request 2 done"]);
    expect(host.failures).toEqual([]);
  });
});
