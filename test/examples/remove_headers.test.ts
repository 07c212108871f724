// examples/remove-headers (native API) and examples/compat-remove-headers (proxy-runtime's API),
// each compiled with AssemblyScript 0.28 and 0.27, pass the same behavioural checks.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestHost } from "../../host/index.js";
import { buildExample, exampleBuilds } from "./variants.js";

const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };
const RESPONSE: Array<[string, string]> = [
  [":status", "200"], ["server", "envoy"], ["x-internal-id", "42"], ["x-internal-trace", "a"],
  ["x-internal-trace", "b"], ["x-public", "yes"], ["content-type", "text/plain"], ["x-serverless", "1"],
];

describe.each(exampleBuilds("remove-headers", "compat-remove-headers"))("$name", (build) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildExample(build);
  });

  it("removes every response header that starts with a configured prefix", async () => {
    const t = await createTestHost({ wasm, rootId: "remove_headers", configuration: "x-internal-,server" });
    const s = t.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect(s.callOnResponseHeaders(RESPONSE, true)).toBe(0);
    // A prefix matches the start of the name only: x-serverless stays.
    expect(s.downstream.headers?.entries()).toEqual([[":status", "200"], ["x-public", "yes"], ["content-type", "text/plain"], ["x-serverless", "1"]]);
    expect(t.logs("debug")).toContain("removed response header: x-internal-trace");
    expect(t.logs("debug")).toContain("removed response header: server");
  });

  it("leaves requests alone", async () => {
    const t = await createTestHost({ wasm, rootId: "remove_headers", configuration: "x-internal-" });
    const s = t.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-internal-id": "req" }, true);
    expect(s.upstream.headers?.get("x-internal-id")).toBe("req");
  });

  it("changes nothing without configuration", async () => {
    const t = await createTestHost({ wasm, rootId: "remove_headers" });
    const s = t.httpStream();
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders(RESPONSE, true);
    expect(s.downstream.headers?.entries()).toEqual(RESPONSE);
  });
});
