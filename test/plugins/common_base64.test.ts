// plugins/common/assembly/base64.ts (x-envoy-peer-metadata's encoding) on its own, compiled with each
// supported AssemblyScript: encodings equal Node's, decoding takes padded and unpadded text, and
// anything outside strict standard base64 is refused, never trapped on.
import { beforeAll, describe, expect, it } from "vitest";
import { loadSpec, SPEC_VARIANTS, type Spec } from "./helpers/as_spec.js";

const MAX = 0x7fffffff;

describe.each(SPEC_VARIANTS)("plugins/common base64.ts ($name)", (variant) => {
  let spec: Spec;
  beforeAll(async () => {
    spec = await loadSpec("base64", variant);
  });
  const decode = (text: string, max = MAX) => {
    const b = spec.bytes("decode", text, max);
    return b === null ? null : Buffer.from(b).toString("hex");
  };

  it("encodes as Node does, with padding, for every length mod 3 and every byte value", () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (let n = 0; n <= 9; n++) {
      const b = all.subarray(250 - n, 250);
      expect(spec.text("encode", b)).toBe(b.toString("base64"));
    }
    expect(spec.text("encode", all)).toBe(all.toString("base64"));
    expect(spec.text("encode", new Uint8Array(0))).toBe("");
  });

  it("decodes what it encodes, and Node's encodings with or without padding", () => {
    for (const s of ["", "f", "fo", "foo", "foob", "fooba", "foobar", "é中😀", "\u0000\u00ff"]) {
      const b = Buffer.from(s, "utf8");
      const text = b.toString("base64");
      expect(decode(spec.text("encode", b)!)).toBe(b.toString("hex"));
      expect(decode(text), text).toBe(b.toString("hex"));
      expect(decode(text.replace(/=+$/, "")), text).toBe(b.toString("hex"));
    }
    expect(decode("+/+/")).toBe(Buffer.from("+/+/", "base64").toString("hex"));
  });

  it("refuses wrong padding, a dangling character, non-zero leftover bits, and characters outside the alphabet", () => {
    for (const bad of [
      "Zg=", "Zg===", "Z===", "=", "==", "Zm9v=", "Z", "Zm9vY", // padding and length
      "Zh==", "Zm9=", // leftover bits not zero
      "Zm 9v", " Zm9v", "Zm9v\n", "Zm9v\t", // whitespace
      "-_-_", "Zm9v_w", // URL-safe alphabet
      "Zm9v!", "Zé==", "Z\u0000==", "Zm\uffff9", "Zg=A", "Z=g=", // others, padding inside
    ]) expect(decode(bad), JSON.stringify(bad)).toBeNull();
  });

  it("refuses text longer than the limit before reading it", () => {
    expect(decode("Zm9vYmFy", 8)).toBe(Buffer.from("foobar").toString("hex"));
    expect(decode("Zm9vYmFy", 7)).toBeNull();
    expect(decode("", 0)).toBe("");
  });

  it("round-trips a large buffer", () => {
    const big = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 7919) & 0xff));
    const text = spec.text("encode", big)!;
    expect(text).toBe(big.toString("base64"));
    expect(Buffer.from(spec.bytes("decode", text, MAX)!).equals(big)).toBe(true);
  });
});
