// The SDK's TCP wrappers through the host's network-filter model, in every build variant:
// onNewConnection, downstream and upstream data (read, replace, append, prepend, hold), continue
// of held client bytes through the effective context, close of either side, close callbacks with
// their peer type, and the end of a connection (done, log, delete).
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { createTestHost, type TestHost } from "../../host/index.js";
import { VARIANTS, buildVariant } from "./variants.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "abi");

describe.each(VARIANTS)("SDK TCP wrappers ($name)", (variant) => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildVariant(FIXTURE, variant);
  });
  const host = (): Promise<TestHost> => createTestHost({ wasm, rootId: "tcp" });

  it("opens a connection and rewrites client bytes line by line", async () => {
    const t = await host();
    const c = t.tcpConnection();
    expect(c.newConnectionAction).toBe(0);
    expect(t.logs("info").some((l) => l.startsWith("new connection "))).toBe(true);
    expect(c.filterState("tcp_state")).toBe("opened");

    // Held until a newline: the next callback sees everything held so far.
    expect(c.callOnDownstreamData("hel")).toBe(1);
    expect(c.upstreamText).toBe("");
    expect(c.callOnDownstreamData("lo\n")).toBe(0);
    expect(t.logs("info")).toContain("downstream 6 more: hello\n");
    expect(c.upstreamText).toBe("HELLO\n");
  });

  it("edits server bytes and reports the upstream close on end of stream", async () => {
    const t = await host();
    const c = t.tcpConnection();
    expect(c.callOnUpstreamData("reply")).toBe(0);
    expect(c.downstreamText).toBe("<reply>");
    expect(c.callOnUpstreamData("hold")).toBe(1);
    expect(c.downstreamText).toBe("<reply>");
    c.callOnUpstreamData("bye", true);
    expect(t.logs("info")).toContain("upstream 7 end: holdbye");
    expect(c.downstreamText).toBe("<reply><holdbye>");
    expect(c.downstream.ended).toBe(true);
    expect(t.logs("info")).toContain("upstream close 0"); // Unknown
    expect(c.completed).toBe(false);
    c.closeDownstream("remote");
    expect(t.logs("info")).toContain("downstream close 2");
    expect(c.completed).toBe(true);
  });

  it("ends a connection once with done, log and delete when the client closes", async () => {
    const t = await host();
    const c = t.tcpConnection();
    c.closeDownstream("remote");
    c.closeDownstream("remote");
    const info = t.logs("info");
    expect(info.filter((l) => l === "tcp done")).toHaveLength(1);
    expect(info.indexOf("downstream close 2")).toBeLessThan(info.indexOf("tcp done"));
    expect(info.indexOf("tcp done")).toBeLessThan(info.indexOf("tcp log"));
    expect(info.indexOf("tcp log")).toBeLessThan(info.indexOf("tcp delete"));
  });

  it("closes the connection from the plugin, which then sees a local close", async () => {
    const t = await host();
    const c = t.tcpConnection();
    c.callOnDownstreamData("close");
    expect(c.closedBy).toBe("wasm_downstream_close");
    expect(t.logs("info")).toContain("downstream close 1"); // Local
    expect(c.completed).toBe(true);

    const u = t.tcpConnection();
    u.callOnDownstreamData("close-upstream");
    expect(u.closedBy).toBe("wasm_upstream_close");
  });

  it("continues held client bytes from a tick through the effective context", async () => {
    const t = await host();
    const c = t.tcpConnection();
    expect(c.callOnDownstreamData("later")).toBe(1);
    expect(c.upstreamText).toBe("");
    t.advanceTime(10);
    expect(t.logs("info").some((l) => /^tick continues \d+: 0$/.test(l))).toBe(true);
    expect(c.upstreamText).toBe("later");
  });

  it("answers UNIMPLEMENTED for continuing the upstream side", async () => {
    const t = await host();
    const c = t.tcpConnection();
    c.callOnDownstreamData("bad-continue");
    expect(t.logs("info")).toContain("continue upstream: 12");
    expect(c.upstreamText).toBe("bad-continue");
  });

  it("closes the connection when the plugin traps, under every policy; FAIL_OPEN lets later connections through", async () => {
    const closed = await createTestHost({ wasm, rootId: "tcp", failurePolicy: "FAIL_CLOSED" });
    const c = closed.tcpConnection();
    c.callOnDownstreamData("trap");
    expect(c.closedBy).toBe("wasm_fail_stream");
    expect(c.upstreamText).toBe("");
    expect(closed.failures).toHaveLength(1);
    // The SDK's abort handler logs the message before trapping.
    expect(closed.logs("critical").some((l) => l.includes("tcp trap"))).toBe(true);

    // Envoy closes the connection during which the VM failed whatever the policy
    // (docs/envoy/lifecycle.md); FAIL_OPEN decides for the connections opened after.
    const open = await createTestHost({ wasm, rootId: "tcp", failurePolicy: "FAIL_OPEN" });
    const o = open.tcpConnection();
    o.callOnDownstreamData("trap");
    expect(o.closedBy).toBe("wasm_fail_stream");
    expect(o.upstreamText).toBe("");
    const later = open.tcpConnection();
    later.callOnDownstreamData("trap");
    expect(later.closedBy).toBeUndefined();
    expect(later.upstreamText).toBe("trap");
    later.callOnDownstreamData(" more");
    expect(later.upstreamText).toBe("trap more");
  });
});
