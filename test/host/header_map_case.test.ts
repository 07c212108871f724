// Envoy lower-cases ASCII letters of header keys only; other bytes (here UTF-8) pass unchanged.
import { describe, expect, it } from "vitest";
import { HeaderMap, lowerKey } from "../../host/values/header_map.js";
import { fromWireString, toWire } from "../../host/testing/encoding.js";

describe("header key case", () => {
  it("lower-cases ASCII letters and leaves other bytes alone", () => {
    const key = toWire("X-Größe-Ünit"); // UTF-8 bytes as a byte string
    const lowered = lowerKey(key);
    expect(fromWireString(lowered)).toBe("x-größe-Ünit");
    expect(Buffer.from(lowered, "latin1")).toEqual(Buffer.from("x-größe-Ünit", "utf8"));
  });

  it("keeps already lower-case keys identical", () => {
    const k = "content-type";
    expect(lowerKey(k)).toBe(k);
  });

  it("finds a mixed-case non-ASCII key in a map", () => {
    const m = new HeaderMap();
    m.add(toWire("X-Ärger"), "1");
    expect(m.get(toWire("x-Ärger"))).toBe("1");
    expect(m.pairs[0]).toBe(toWire("x-Ärger"));
  });
});
