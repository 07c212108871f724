// The stats plugin's CEL subset (plugins/stats/assembly/expr.ts) on its own, compiled with each
// supported AssemblyScript: what it parses and refuses (with the reason a configuration error
// shows), and what each operator, function and attribute type evaluates to. Attributes come from a
// table this test answers proxy_get_property from, as Envoy serializes them.
import { beforeAll, describe, expect, it } from "vitest";
import { writeFlatNode } from "./helpers/flat_node.js";
import { loadSpec, SPEC_VARIANTS, type Spec } from "./helpers/as_spec.js";

/** Attribute values by dotted path: text (UTF-8), integers (int64), booleans (one byte), raw bytes. */
const ATTRIBUTES: Record<string, string | bigint | boolean | Uint8Array> = {
  "xds.node.id": "sidecar~10.0.0.1~productpage.default~default.svc.cluster.local",
  "request.host": "reviews:9080",
  "request.headers.x-user": "jason",
  "request.headers.x-number": "42",
  "response.code": 503n,
  "request.size": 1234n,
  "connection.mtls": true,
  "xds.cluster_name": "outbound|9080||reviews.default.svc.cluster.local",
  "xds.node.metadata.NAMESPACE": "default",
  upstream_peer: writeFlatNode({ workload_name: "reviews-v2", labels: { app: "reviews", version: "v2" } }),
};

function encode(v: string | bigint | boolean | Uint8Array): Uint8Array {
  if (typeof v === "string") return Buffer.from(v, "utf8");
  if (typeof v === "boolean") return Uint8Array.of(v ? 1 : 0);
  if (typeof v === "bigint") {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    return b;
  }
  return v;
}

describe.each(SPEC_VARIANTS)("plugins/stats expr.ts, the CEL subset ($name)", (variant) => {
  let spec: Spec;
  const reads: string[] = [];
  beforeAll(async () => {
    spec = await loadSpec("expr", variant, (s) => ({
      // proxy_get_property(path, path_size, out_ptr, out_size): a path is its segments joined by NUL.
      proxy_get_property: (pathPtr: number, pathLen: number, outPtr: number, outLen: number) => {
        const path = Buffer.from(s.memory.buffer, pathPtr, pathLen).toString("utf8").split("\0").join(".");
        reads.push(path);
        const v = ATTRIBUTES[path];
        if (v === undefined) return 1; // NOT_FOUND
        const bytes = encode(v);
        const ptr = (s.exports.proxy_on_memory_allocate as (n: number) => number)(bytes.length);
        new Uint8Array(s.memory.buffer, ptr, bytes.length).set(bytes);
        const out = new DataView(s.memory.buffer);
        out.setUint32(outPtr, ptr, true);
        out.setUint32(outLen, bytes.length, true);
        return 0;
      },
    }));
  });
  const evaluate = (e: string) => spec.text("evaluate", e);

  it("evaluates literals, operators and functions with CEL's types", () => {
    const cases: Array<[string, string]> = [
      ["'text'", "s:text"], ['"dq"', "s:dq"], ["'it\\'s'", "s:it's"], ["42", "i:42"], ["true", "b:true"], ["false", "b:false"],
      ["'a' + 'b' + 'c'", "s:abc"], ["1 + 2 + 3", "i:6"], ["(1 + 2) == 3", "b:true"], ["'a' != 'b'", "b:true"],
      ["true && false", "b:false"], ["true || false", "b:true"], ["!true", "b:false"], ["!(1 == 2)", "b:true"],
      ["1 == 1 ? 'yes' : 'no'", "s:yes"], ["false ? 1 : true ? 2 : 3", "i:2"],
      ["string(7)", "s:7"], ["string(true)", "s:true"], ["string('s')", "s:s"], ["int('123')", "i:123"], ["int('-5')", "i:-5"], ["int(9)", "i:9"],
      ["'é中' + '😀'", "s:é中😀"],
    ];
    for (const [e, v] of cases) expect(evaluate(e), e).toBe(v);
  });

  it("fails an evaluation on mixed types, a non-number int(), or a non-boolean condition", () => {
    for (const e of ["'a' + 1", "'1' == 1", "int('x')", "int('')", "int('1234567890123456789')", "!'a'", "'a' && true", "1 ? 'a' : 'b'", "true && 1"]) {
      expect(evaluate(e), e).toBe("error");
    }
    // && and || stop at a decided left side, as CEL does.
    expect(evaluate("false && 1")).toBe("b:false");
    expect(evaluate("true || 1")).toBe("b:true");
  });

  it("reads attributes with Envoy's types, under the names this host answers", () => {
    expect(evaluate("request.host")).toBe("s:reviews:9080");
    expect(evaluate("request.headers['x-user']")).toBe("s:jason");
    expect(evaluate("int(request.headers['x-number']) + 1")).toBe("i:43");
    expect(evaluate("response.code")).toBe("i:503");
    expect(evaluate("string(request.size)")).toBe("s:1234");
    expect(evaluate("connection.mtls")).toBe("b:true");
    expect(evaluate("cluster_name")).toBe("s:outbound|9080||reviews.default.svc.cluster.local"); // read as xds.cluster_name
    expect(evaluate("node.metadata['NAMESPACE']")).toBe("s:default");
    expect(reads).toContain("xds.node.id");
    expect(evaluate("request.headers['absent']")).toBe("error");
    expect(evaluate("has(request.headers['x-user'])")).toBe("b:true");
    expect(evaluate("has(request.headers['absent'])")).toBe("b:false");
  });

  it("reads the stored peer's FlatNode fields and labels", () => {
    expect(evaluate("upstream_peer.workload_name")).toBe("s:reviews-v2");
    expect(evaluate("upstream_peer.labels['app']")).toBe("s:reviews");
    expect(evaluate("upstream_peer.labels['version'].value")).toBe("s:v2");
    expect(evaluate("upstream_peer.labels['absent']")).toBe("error");
    expect(evaluate("upstream_peer.namespace")).toBe("error");
    expect(evaluate("has(upstream_peer.workload_name)")).toBe("b:true");
    expect(evaluate("downstream_peer.workload_name")).toBe("error"); // no peer stored
    expect(evaluate("has(downstream_peer.name)")).toBe("b:false");
  });

  it("refuses what is outside the subset with the reason a configuration error shows", () => {
    const refusals: Array<[string, RegExp]> = [
      ["", /unexpected end of expression/], ["'open", /unterminated string literal/], ["'\\x'", /unsupported escape/],
      ["0x10", /only decimal integer literals/], ["99999999999999999999", /integer literal too large/],
      ["1 < 2", /unsupported operator '<'/], ["2 * 3", /unsupported operator '\*'/], ["-1", /unsupported operator '-'/],
      ["'a' in ['a']", /unsupported operator 'in'/], ["null", /null is not supported/], ["[1]", /list and map literals/],
      ["size('a')", /unsupported function 'size' \(supported: string, int, has\)/], ["string(1, 2)", /takes one argument/],
      ["has('a')", /has\(\) needs an attribute path/], ["request.host.startsWith('a')", /method calls/],
      ["request.headers[true]", /an index must be a string or integer literal/], ["(1 + 2", /expected '\)'/],
      ["true ? 1", /expected ':' of '\?:'/], ["upstream_peer", /needs a field/], ["upstream_peer.nope", /unknown peer field 'nope'/],
      ["upstream_peer.labels", /labels needs a key/], ["upstream_peer.name['x']", /peer field 'name' is a string/], ["1 2", /unexpected '2'/],
    ];
    for (const [e, reason] of refusals) {
      const got = spec.text("parse", e);
      expect(got, e).toMatch(/^!/);
      expect(got, e).toMatch(reason);
    }
    expect(spec.text("parse", "request.headers['x'] == 'y' ? 'a' : string(response.code)")).toBe("");
  });
});
