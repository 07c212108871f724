// examples/add-header and its proxy-runtime-style twin examples/compat-add-header, each compiled
// with AssemblyScript 0.28 and 0.27, pass the same behavioural checks through the test API.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestHost } from "../../host/index.js";
import { buildExample, exampleBuilds } from "./variants.js";

describe.each(exampleBuilds("add-header", "compat-add-header"))("$name", (build) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildExample(build);
  });

  it("adds the configured response header and counts requests", async () => {
    const host = await createTestHost({ wasm, rootId: "add_header", configuration: "x-hello: world" });
    for (let i = 0; i < 3; i++) {
      const s = host.httpStream();
      expect(s.callOnRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "example.com" }, true)).toBe(0);
      expect(s.callOnResponseHeaders({ ":status": "200" }, true)).toBe(0);
      expect(s.responseHeaders.get("x-hello")).toBe("world");
      expect(s.downstream.headers?.get("x-hello")).toBe("world");
      s.complete();
    }
    expect(host.metric("add_header.requests_total")).toBe(3);
    expect(host.prometheus()).toContain("add_header_requests_total{} 3");
  });

  it("uses its default header without configuration", async () => {
    const host = await createTestHost({ wasm, rootId: "add_header" });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ":method": "GET", ":path": "/" }, true);
    s.callOnResponseHeaders({ ":status": "204" }, true);
    expect(s.responseHeaders.get("x-pwasm")).toBe("add-header");
  });

  it("keeps everything after the one optional space, including Unicode", async () => {
    const host = await createTestHost({ wasm, rootId: "add_header", configuration: "x-greeting:  grüße ✓" });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ":method": "GET", ":path": "/" }, true);
    s.callOnResponseHeaders({ ":status": "200" }, true);
    expect(s.responseHeaders.get("x-greeting")).toBe(" grüße ✓");
  });

  it("rejects a configuration without a colon", async () => {
    await expect(createTestHost({ wasm, rootId: "add_header", configuration: "nonsense" })).rejects.toThrow(/configuration rejected/);
  });
});
