// Review finding: with the minimal runtime the SDK collected garbage only when a context was
// deleted (or on a tick, queue or callout), so a long stream — a TCP connection that lives for
// hours, a streaming HTTP body — grew guest memory with every chunk its plugin handled, until the
// VM hit its memory cap and trapped for every stream.
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { createTestHost } from "../../host/index.js";
import { MEMORY_BOUND_BYTES } from "../../bench/footprint.js";
import { AS_028_MINIMAL, buildVariant } from "../sdk/variants.js";

const FIXTURE = join(import.meta.dirname, "..", "sdk", "fixtures", "abi");
const CHUNKS = 10_000;
const chunk = `${"x".repeat(99)}\n`;

describe("guest memory on one long stream (minimal runtime)", () => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildVariant(FIXTURE, AS_028_MINIMAL);
  });

  it(`a TCP connection: no growth from 1,000 to ${CHUNKS.toLocaleString("en-US")} chunks`, async () => {
    // The fixture's TCP context reads every chunk as text and logs it; a line goes on upper-cased.
    const t = await createTestHost({ wasm, rootId: "tcp", logLevel: "warn" });
    const c = t.tcpConnection();
    const vm = t.plugin.currentVms()[0]!;
    let after1000 = 0;
    for (let i = 0; i < CHUNKS; i++) {
      c.callOnDownstreamData(chunk);
      c.callOnUpstreamData(chunk);
      if (i === 999) after1000 = vm.mem.size;
    }
    expect(t.failures).toEqual([]);
    expect(vm.mem.size - after1000).toBeLessThanOrEqual(MEMORY_BOUND_BYTES);
  });

  it(`an HTTP request body: no growth from 1,000 to ${CHUNKS.toLocaleString("en-US")} chunks`, async () => {
    // "partial": each body chunk is read in part and appended to (strings built per chunk).
    const t = await createTestHost({ wasm, rootId: "http", logLevel: "warn" });
    const s = t.httpStream();
    s.callOnRequestHeaders({ ":method": "POST", ":path": "/", ":authority": "x", "x-body-op": "partial" });
    const vm = t.plugin.currentVms()[0]!;
    let after1000 = 0;
    for (let i = 0; i < CHUNKS; i++) {
      s.callOnRequestBody(chunk);
      if (i === 999) after1000 = vm.mem.size;
    }
    expect(t.failures).toEqual([]);
    expect(vm.mem.size - after1000).toBeLessThanOrEqual(MEMORY_BOUND_BYTES);
  });
});
