// plugins/common/assembly/json.ts (the plugins' configuration reader) on its own, compiled with
// each supported AssemblyScript: every document JavaScript's JSON.parse accepts reads back the same
// (escapes, unicode, nesting, repeated keys), and what it refuses is refused with a reason.
import { beforeAll, describe, expect, it } from "vitest";
import { loadSpec, SPEC_VARIANTS, type Spec } from "./helpers/as_spec.js";

const VALID = [
  "{}", "[]", '""', "0", "-0", "7", "-12", "1.5", "-0.25", "1e3", "2.5E-3", "1e21", "123456789012", "true", "false", "null",
  ' \t\n\r{ "a" : [ 1 , 2 ] } \n',
  '"quote \\" backslash \\\\ slash \\/"', '"\\b\\f\\n\\r\\t"', '"\\u0000\\u001f"',
  '"\\u00e9\\u4E2D"', '"\\ud83d\\ude00"', '"é中😀"', '"\\ud800"', '"\\udc00x"',
  '{"a":{"b":[1,{"c":null}],"d":{}},"e":[[],[[]]]}',
  '{"a":1,"b":2,"a":3}', '{"":""}', '["a",true,null,{"k":"v"}]',
];

const MALFORMED = [
  "", " ", "{", "}", "[1,]", "[,1]", '{"a":1,}', "{'a':1}", '{a:1}', "01", "-01", "1.", ".5", "+1", "-", "1e", "1e+",
  '"abc', '"\\x"', '"\\u12"', '"\\u12zz"', "tru", "nul", "falsey", "[1 2]", '{"a" 1}', '{"a":1 "b":2}', '"a\nb"', '"tab\there"',
  "1 2", '{"a":1}}', "NaN", "Infinity", "undefined", "[1]x",
];

describe.each(SPEC_VARIANTS)("plugins/common json.ts ($name)", (variant) => {
  let spec: Spec;
  beforeAll(async () => {
    spec = await loadSpec("json", variant);
  });

  it("reads every valid document as JavaScript does", () => {
    for (const doc of VALID) expect(spec.text("parse", doc), doc).toBe(JSON.stringify(JSON.parse(doc)));
  });

  it("refuses malformed documents with a reason, as JavaScript does", () => {
    for (const doc of MALFORMED) {
      expect(() => JSON.parse(doc), doc).toThrow();
      expect(spec.text("parse", doc), doc).toMatch(/^!\S/);
    }
  });

  it("names the reason", () => {
    expect(spec.text("parse", "")).toBe("!unexpected end of input at offset 0");
    expect(spec.text("parse", '"abc')).toMatch(/^!unterminated string/);
    expect(spec.text("parse", '"a\u0001"')).toMatch(/^!control character in string/);
    expect(spec.text("parse", '"\\q"')).toMatch(/^!bad escape/);
    expect(spec.text("parse", '"\\u00g0"')).toMatch(/^!bad \\u escape/);
    expect(spec.text("parse", "[1 2]")).toMatch(/^!expected ',' or '\]'/);
    expect(spec.text("parse", '{"a" 1}')).toMatch(/^!expected ':'/);
    expect(spec.text("parse", "{1:2}")).toMatch(/^!expected a member name/);
    expect(spec.text("parse", "1 2")).toMatch(/^!trailing characters/);
    expect(spec.text("parse", "01")).toMatch(/^!trailing characters|^!bad number/);
  });

  it("reads 64 levels of nesting and refuses deeper documents instead of exhausting the stack", () => {
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    expect(spec.text("parse", nested(64))).toBe(nested(64));
    expect(spec.text("parse", nested(66))).toMatch(/^!nesting too deep/);
    expect(spec.text("parse", "[".repeat(100_000))).toMatch(/^!nesting too deep/);
    expect(spec.text("parse", '{"a":'.repeat(100) + "1" + "}".repeat(100))).toMatch(/^!nesting too deep/);
  });

  it("names the kind of a value for configuration errors", () => {
    expect(["null", "true", "1", '"s"', "[]", "{}"].map((d) => spec.text("kindName", d))).toEqual([
      "null", "a boolean", "a number", "a string", "an array", "an object",
    ]);
  });

  it("keeps long strings and large documents whole", () => {
    const big = { s: "x".repeat(20_000), list: Array.from({ length: 500 }, (_, i) => ({ i, name: `n${i}é` })) };
    expect(spec.text("parse", JSON.stringify(big))).toBe(JSON.stringify(big));
  });
});
