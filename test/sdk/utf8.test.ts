// Review finding: the SDK's UTF-8 decoder took any bytes after a lead byte as its continuation, so
// a header value that is not UTF-8 (latin1 obs-text such as "caf\xe9 ok") lost the characters that
// followed. Invalid sequences must decode to U+FFFD without eating the next character.
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { createTestHost } from "../../host/index.js";
import { HeaderMap } from "../../host/values/header_map.js";
import { AS_028_MINIMAL, buildVariant } from "../sdk/variants.js";

const FIXTURE = join(import.meta.dirname, "..", "sdk", "fixtures", "abi");

describe("SDK UTF-8 decoding of host strings", () => {
  let wasm: string;
  beforeAll(async () => {
    wasm = await buildVariant(FIXTURE, AS_028_MINIMAL);
  });

  // The fixture's "headers" op copies request header x-in into x-got (decoded, then re-encoded).
  async function roundTrip(bytes: number[]): Promise<string> {
    const t = await createTestHost({ wasm, rootId: "http" });
    const s = t.httpStream();
    const latin1 = Buffer.from(bytes).toString("latin1");
    s.stream.decodeHeaders(new HeaderMap([":method", "GET", ":path", "/", ":authority", "x", "x-op", "headers", "x-in", latin1]), true);
    expect(t.failures).toEqual([]);
    return Buffer.from(s.stream.request.headers!.get("x-got")!, "latin1").toString("utf8");
  }

  const cases: Array<[string, number[], string]> = [
    ["a latin1 byte before ASCII", [...Buffer.from("caf"), 0xe9, ...Buffer.from(" ok")], "caf\uFFFD ok"],
    ["a two-byte lead before ASCII", [0xc3, 0x28, 0x41], "\uFFFD(A"],
    ["a stray continuation byte", [0x41, 0x80, 0x42], "A\uFFFDB"],
    ["a truncated sequence at the end", [0x41, 0xe2, 0x82], "A\uFFFD\uFFFD"],
    ["valid multi-byte text", [...Buffer.from("grüße ✓ 😀")], "grüße ✓ 😀"],
  ];
  for (const [name, bytes, want] of cases) {
    it(name, async () => {
      const got = await roundTrip(bytes);
      // Every valid character survives; each invalid byte becomes at most one U+FFFD.
      expect(got.replace(/\uFFFD+/g, "\uFFFD")).toBe(want.replace(/\uFFFD+/g, "\uFFFD"));
    });
  }
});
