import { describe, expect, it } from "vitest";
import { createTestHost } from "../../host/index.js";
import { built } from "../helpers/paths.js";

const wasm = built("examples/add-header");

describe("examples/add-header through the test API", () => {
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

  it("rejects a configuration without a colon", async () => {
    await expect(createTestHost({ wasm, rootId: "add_header", configuration: "nonsense" })).rejects.toThrow(/configuration rejected/);
  });
});
