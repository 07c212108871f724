// plugins/common/assembly/flat_node.ts (Istio's FlatNode, the peer the metadata-exchange plugin
// stores and the stats plugin reads) on its own, compiled with each supported AssemblyScript, checked
// against the flatbuffers library: node metadata becomes the fields Istio's rules give, any FlatNode
// reads back whole, and a buffer that is not one reads as absent fields, never a trap.
import { beforeAll, describe, expect, it } from "vitest";
import { encodeStruct, ProtoWriter, type JsonObject } from "../../host/values/protobuf.js";
import { readFlatNode, writeFlatNode, type FlatNodeObject } from "./helpers/flat_node.js";
import { loadSpec, SPEC_VARIANTS, type Spec } from "./helpers/as_spec.js";

function struct(obj: JsonObject): Buffer {
  const w = new ProtoWriter();
  encodeStruct(w, obj);
  return w.finish();
}

/** What `read` prints, as the flatbuffers helper's object (maps as records). */
function asObject(text: string): FlatNodeObject {
  const raw = JSON.parse(text) as Record<string, unknown>;
  for (const m of ["labels", "platform_metadata"]) {
    if (raw[m]) raw[m] = Object.fromEntries(raw[m] as Array<[string, string]>);
  }
  return raw as FlatNodeObject;
}

const FULL: FlatNodeObject = {
  name: "reviews-v2-5b667bcbf8-x7z9k", namespace: "default", owner: "kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v2",
  workload_name: "reviews-v2", istio_version: "1.24.0", mesh_id: "cluster.local", cluster_id: "Kubernetes", identity: "spiffe://cluster.local/ns/default/sa/reviews",
  labels: { app: "reviews", version: "v2", "é": "中", "": "" }, platform_metadata: { gcp_project: "p" },
  app_containers: ["reviews", ""], instance_ips: ["10.0.0.1", "fe80::1"],
};

describe.each(SPEC_VARIANTS)("plugins/common flat_node.ts ($name)", (variant) => {
  let spec: Spec;
  beforeAll(async () => {
    spec = await loadSpec("flat_node", variant);
  });
  const read = (bytes: Uint8Array) => spec.text("read", bytes)!;

  it("builds the FlatNode of node metadata by Istio's rules", () => {
    const node = spec.bytes("fromStruct", struct({
      NAME: "productpage-v1", NAMESPACE: "bookinfo", LABELS: { version: "v1", app: "productpage", n: 3 }, WORKLOAD_NAME: "productpage-v1",
      CLUSTER_ID: "Kubernetes", MESH_ID: true, APP_CONTAINERS: "productpage,istio-proxy", INSTANCE_IPS: "10.1.2.3",
      PLATFORM_METADATA: "not a map", UNRELATED: "ignored",
    }))!;
    expect(readFlatNode(node)).toEqual({
      name: "productpage-v1", namespace: "bookinfo", workload_name: "productpage-v1", cluster_id: "Kubernetes",
      mesh_id: "", // a non-string value counts as ""
      labels: { app: "productpage", n: "", version: "v1" },
      app_containers: ["productpage", "istio-proxy"], instance_ips: ["10.1.2.3"],
    });
  });

  it("leaves empty vectors out and writes an empty node for empty metadata", () => {
    expect(readFlatNode(spec.bytes("fromStruct", struct({ LABELS: {}, NAME: "" }))!)).toEqual({ name: "" });
    expect(readFlatNode(spec.bytes("empty")!)).toEqual({});
    expect(read(spec.bytes("empty")!)).toBe("{}");
  });

  it("reads back every field of a FlatNode the flatbuffers library wrote, and of its own", () => {
    expect(asObject(read(writeFlatNode(FULL)))).toEqual(FULL);
    expect(asObject(read(writeFlatNode({ name: "only" })))).toEqual({ name: "only" });
    const own = spec.bytes("fromStruct", struct({ NAME: "a", LABELS: { b: "2", a: "1" }, APP_CONTAINERS: "" }))!;
    expect(asObject(read(own))).toEqual(readFlatNode(own));
  });

  it("looks labels up by key (UTF-8), sorted as flatbuffers sorts them", () => {
    const node = writeFlatNode(FULL);
    expect(spec.text("lookup", node, 0, "version")).toBe("v2");
    expect(spec.text("lookup", node, 0, "é")).toBe("中");
    expect(spec.text("lookup", node, 0, "")).toBe("");
    expect(spec.text("lookup", node, 0, "missing")).toBe("!");
    expect(spec.text("lookup", node, 1, "gcp_project")).toBe("p");
    expect(spec.text("lookup", writeFlatNode({ name: "x" }), 0, "app")).toBe("!");
  });

  it("reads a buffer that is not a FlatNode as invalid or with fields absent, never trapping", () => {
    for (const bad of [[], [0, 0, 0, 0], [1, 2, 3], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], [8, 0, 0, 0, 0x7f, 0, 0, 0]]) {
      expect(read(Uint8Array.from(bad)), JSON.stringify(bad)).toBe("!");
    }
    const good = writeFlatNode(FULL);
    // Every truncation and every single-byte corruption: read() must return (it checks every offset).
    for (let n = 0; n < good.length; n++) expect(read(good.subarray(0, n))).toMatch(/^[!{]/);
    for (let i = 0; i < good.length; i++) {
      for (const v of [0x00, 0x7f, 0xff]) {
        const b = Uint8Array.from(good);
        b[i] = v;
        expect(read(b)).toMatch(/^[!{]/);
      }
    }
  });
});
