// Conformance (docs/abi.md, "Conformance items" 30, 31; docs/envoy/properties.md): properties as Envoy 1.40
// answers proxy_get_property, in stream and root contexts, serialized as Envoy does; filter state
// written with set_property; the names Envoy answered before 1.33 are NOT_FOUND.
import net from "node:net";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createTestHost, decodePairs, WasmResult, type TestHost, type TestHostOptions } from "../../host/index.js";
import { encodeNode, withEnvoyDefaults } from "../../host/values/envoy_messages.js";
import { ProtoWriter } from "../../host/values/protobuf.js";
import { newStreamInfo } from "../../host/values/stream_info.js";
import { markUpstreamRequested, trackUpstreamConnection } from "../../host/proxy/upstream_info.js";
import { guestBytes, OUT, ProxyWat, slot } from "./helpers/proxy_wat.js";

const GET = { ":method": "GET", ":path": "/api/v1?x=1#f", ":authority": "example.com", "user-agent": "curl/8", "x-request-id": "req-1", referer: "r" };

// A module that reads `paths` in one callback and records (status, ptr, len) per path in slots.
function reader(where: "configure" | "request" | "log" | "new_connection", paths: string[], before = ""): Uint8Array {
  const m = new ProxyWat();
  const reads = paths.map((p, i) => `
    (call $rec (i32.const ${3 * i}) (call $proxy_get_property ${m.s(p)} (i32.const ${OUT}) (i32.const ${OUT + 4})))
    (call $rec (i32.const ${3 * i + 1}) (i32.load (i32.const ${OUT})))
    (call $rec (i32.const ${3 * i + 2}) (i32.load (i32.const ${OUT + 4})))
    (i32.store (i32.const ${OUT}) (i32.const 0)) (i32.store (i32.const ${OUT + 4}) (i32.const 0))`).join("");
  const body = where === "configure"
    ? `(func (export "proxy_on_configure") (param i32 i32) (result i32) ${reads} (i32.const 1))`
    : where === "request"
      ? `(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) ${before.replace(/S\("([^"]*)"\)/g, (_, t: string) => m.s(t))} ${reads} (i32.const 0))`
      : where === "new_connection"
        ? `(func (export "proxy_on_new_connection") (param i32) (result i32) ${reads} (i32.const 0))`
        : `(func (export "proxy_on_log") (param i32) ${reads})`;
  return m.build(body);
}

interface Read {
  status: number;
  bytes: Buffer;
}

function reads(host: TestHost, n: number): Read[] {
  return Array.from({ length: n }, (_, i) => {
    const status = slot(host, 3 * i);
    return { status, bytes: status === 0 ? guestBytes(host, slot(host, 3 * i + 1), slot(host, 3 * i + 2)) : Buffer.alloc(0) };
  });
}

const i64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b;
};

const NODE: TestHostOptions["node"] = {
  id: "sidecar~10.0.0.1~productpage.default~default.svc.cluster.local",
  cluster: "productpage.default",
  metadata: { NAME: "productpage-v1", LABELS: { app: "productpage" }, REPLICAS: 3, MESH: true },
  locality: { region: "eu", zone: "eu-a" },
};

describe("properties", () => {
  it("13.30 request.*, node metadata, dynamic metadata, response.code as int64, upstream host metadata, set_property(X) read back as X", async () => {
    const paths = [
      "request\0path", "request\0url_path\0", "request\0query", "request\0host", "request\0method", "request\0useragent",
      "request\0id", "request\0referer", "request\0protocol", "request\0headers\0user-agent",
      "xds\0node\0metadata\0NAME", "xds\0node\0metadata\0REPLICAS", "xds\0node\0metadata\0MESH", "xds\0node\0id", "xds\0node\0locality\0zone",
      "metadata\0filter_metadata\0envoy.filters.http.wasm\0wasm_request_get_key",
      "source\0address", "source\0port", "destination\0port", "connection\0id", "connection\0mtls",
      "my_state", "filter_state\0wasm.my_state", "xds\0route_name", "xds\0cluster_name",
      // Envoy ≥ 1.33 answers these only under xds.
      "node\0id", "route_name", "cluster_name",
      // In request headers `host` names `:authority`.
      "request\0headers\0host",
    ];
    const wasm = reader("request", paths, `(drop (call $proxy_set_property S("my_state") S("unicorns")))`);
    const host = await createTestHost({ wasm, node: NODE });
    const s = host.httpStream({
      dynamicMetadata: { "envoy.filters.http.wasm": { wasm_request_get_key: "wasm_request_get_value" } },
      source: { ip: "10.1.2.3", port: 45678 }, connectionId: 42, routeName: "r1", clusterName: "backend",
    });
    s.callOnRequestHeaders(GET, true);
    const r = reads(host, paths.length);
    const text = r.map((x) => (x.status === 0 ? x.bytes.toString("utf8") : `status ${x.status}`));
    expect(text.slice(0, 9)).toEqual(["/api/v1?x=1#f", "/api/v1", "x=1", "example.com", "GET", "curl/8", "req-1", "r", "HTTP/1.1"]);
    expect(text[9]).toBe("curl/8");
    expect(text[10]).toBe("productpage-v1");
    expect(r[11]!.bytes.readDoubleLE(0)).toBe(3);
    expect([...r[12]!.bytes]).toEqual([1]);
    expect(text[13]).toBe(NODE!.id);
    expect(text[14]).toBe("eu-a");
    expect(text[15]).toBe("wasm_request_get_value");
    expect(text[16]).toBe("10.1.2.3:45678");
    expect(r[17]!.bytes).toEqual(i64(45678));
    expect(r[18]!.bytes).toEqual(i64(10000));
    expect(r[19]!.bytes.readBigUInt64LE(0)).toBe(42n);
    expect([...r[20]!.bytes]).toEqual([0]);
    expect(text[21]).toBe("unicorns");
    expect(text[22]).toBe("unicorns");
    expect(text[23]).toBe("r1");
    expect(text[24]).toBe("backend");
    expect(r.slice(25, 28).map((x) => x.status)).toEqual([WasmResult.NotFound, WasmResult.NotFound, WasmResult.NotFound]);
    expect(text[28]).toBe("example.com");
    expect(s.filterState("my_state")).toBe("unicorns");
  });

  it("13.30 xds.node is the whole Node message Envoy completes; maps are pairs; response.code is int64 in on_log; upstream host metadata", async () => {
    const paths = ["xds\0node", "xds\0node\0metadata\0LABELS", "response\0code", "response\0code_details", "xds\0upstream_host_metadata\0filter_metadata\0namespace\0key",
      "request\0duration", "response\0headers", "request", "xds\0node\0metadata\0MISSING", "response\0size", "xds\0node\0cluster",
      "xds\0node\0user_agent_name", "xds\0node\0user_agent_build_version\0version\0minor_number", "node"];
    const wasm = reader("log", paths);
    const host = await createTestHost({ wasm, node: NODE });
    const s = host.httpStream({ upstream: { ip: "10.0.0.9", port: 8080 }, upstreamHostMetadata: { namespace: { key: "hostvalue" } } });
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders({ ":status": "201", "x-a": "1" });
    s.callOnResponseBody("12345", true);
    s.complete();
    const r = reads(host, paths.length);
    const w = new ProtoWriter();
    encodeNode(w, withEnvoyDefaults(NODE!));
    expect(r[0]!.bytes.toString("hex")).toBe(w.finish().toString("hex"));
    // A hand-checked prefix: field 1 (id), length 0x3e, then the id; then Envoy's user agent
    // (field 6, "envoy") and build version (field 8: version {1, 40}).
    expect(r[0]!.bytes.subarray(0, 2).toString("hex")).toBe("0a3e");
    expect(r[0]!.bytes.toString("hex")).toContain("3205656e766f79" + "42"); // 6: "envoy", then field 8
    expect(r[0]!.bytes.toString("hex")).toContain("0a04080110" + "28"); // version { major 1, minor 40 }
    expect(decodePairs(r[1]!.bytes, 0, r[1]!.bytes.length)).toEqual(["app", "productpage"]);
    expect(r[2]!.bytes).toEqual(i64(201));
    expect(r[3]!.bytes.toString()).toBe("via_upstream");
    expect(r[4]!.bytes.toString()).toBe("hostvalue");
    expect(r[5]!.status).toBe(0);
    expect(r[5]!.bytes.readBigInt64LE(0)).toBeGreaterThanOrEqual(0n);
    expect(decodePairs(r[6]!.bytes, 0, r[6]!.bytes.length)).toEqual([":status", "201", "x-a", "1"]);
    // A whole attribute group is not serializable; a missing key is NOT_FOUND.
    expect(r[7]!.status).toBe(WasmResult.SerializationFailure);
    expect(r[8]!.status).toBe(WasmResult.NotFound);
    expect(r[9]!.bytes).toEqual(i64(5));
    expect(r[10]!.bytes.toString()).toBe("productpage.default");
    expect(r[11]!.bytes.toString()).toBe("envoy");
    expect(r[12]!.bytes.readBigUInt64LE(0)).toBe(40n);
    expect(r[13]!.status).toBe(WasmResult.NotFound);
  });

  it("an upstream host without metadata is SERIALIZATION_FAILURE, NOT_FOUND below it; route and virtual host answer once routed", async () => {
    const paths = ["xds\0upstream_host_metadata", "xds\0upstream_host_metadata\0filter_metadata", "xds\0route_name", "xds\0virtual_host_name",
      "xds\0route_metadata", "xds\0cluster_metadata", "upstream\0num_endpoints", "upstream_filter_state"];
    const wasm = reader("log", paths);
    const host = await createTestHost({ wasm });
    const s = host.httpStream({ upstream: { ip: "10.0.0.9", port: 8080 }, routeName: "", virtualHostName: "local", clusterName: "backend" });
    s.callOnRequestHeaders(GET, true);
    s.callOnResponseHeaders({ ":status": "200" }, true);
    s.complete();
    const r = reads(host, paths.length);
    expect(r.map((x) => x.status)).toEqual([WasmResult.SerializationFailure, WasmResult.NotFound, 0, 0, 0, 0, 0, WasmResult.SerializationFailure]);
    expect(r[2]!.bytes.toString()).toBe("");
    expect(r[3]!.bytes.toString()).toBe("local");
    expect(r[4]!.bytes.length).toBe(0); // an empty Metadata message
    expect(r[6]!.bytes.readBigUInt64LE(0)).toBe(1n);
    // No route and no upstream: all of them NOT_FOUND.
    const bare = await createTestHost({ wasm });
    const t = bare.httpStream();
    t.callOnRequestHeaders(GET, true);
    t.complete();
    expect(reads(bare, paths.length).map((x) => x.status)).toEqual(paths.map(() => WasmResult.NotFound));
  });

  it("13.31 in the root context stream properties are NOT_FOUND (xds.listener_direction too); plugin_name, plugin_vm_id, xds.node answer", async () => {
    const streamOnly = ["metadata", "request", "response", "connection", "connection_id", "upstream", "source", "destination",
      "xds\0cluster_name", "xds\0cluster_metadata", "xds\0route_name", "xds\0route_metadata", "xds\0listener_direction", "xds\0listener_metadata",
      "xds\0filter_chain_name", "string_state", "listener_direction", "node\0metadata\0NAME"];
    const rootOk = ["plugin_name", "plugin_vm_id", "plugin_root_id", "xds\0node\0id", "xds\0node\0metadata\0NAME"];
    const wasm = reader("configure", [...streamOnly, ...rootOk]);
    const host = await createTestHost({ wasm, name: "plugin_name", vmId: "vm_id", rootId: "root", node: NODE, listenerDirection: "inbound" });
    const r = reads(host, streamOnly.length + rootOk.length);
    expect(r.slice(0, streamOnly.length).map((x) => x.status)).toEqual(streamOnly.map(() => WasmResult.NotFound));
    const ok = r.slice(streamOnly.length);
    expect(ok.map((x) => x.status)).toEqual(rootOk.map(() => 0));
    expect(ok.map((x) => x.bytes.toString("latin1"))).toEqual(["plugin_name", "vm_id", "root", NODE!.id, "productpage-v1"]);
  });

  it("13.32 plugin_root_id answers the configured root id while the root context is created", async () => {
    for (const rootId of ["add_header", "", "not_registered"]) {
      const m = new ProxyWat();
      const wasm = m.build(`
        (func (export "proxy_on_context_create") (param $ctx i32) (param $parent i32)
          (if (i32.eqz (local.get $parent)) (then
            (call $rec (i32.const 0) (call $proxy_get_property ${m.s("plugin_root_id")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
            (call $rec (i32.const 1) (i32.load (i32.const ${OUT + 4})))
            (drop (call $proxy_log (i32.const 2) (i32.load (i32.const ${OUT})) (i32.load (i32.const ${OUT + 4})))))))`);
      const host = await createTestHost({ wasm, rootId });
      expect([slot(host, 0), slot(host, 1)]).toEqual([0, rootId.length]);
      expect(host.logs("info")).toEqual(rootId ? [rootId] : [""]);
    }
  });

  it("paths work with and without a trailing NUL per segment; pinned values win", async () => {
    const paths = ["plugin_name\0", "request\0method\0", "request\0method", "xds\0listener_direction", "request\0id", "xds\0cluster_name", "cluster_name", "listener_direction"];
    const wasm = reader("request", paths);
    // Pins under the old names feed the xds.* names; the old names stay NOT_FOUND, as in Envoy.
    const host = await createTestHost({ wasm, name: "p", properties: { listener_direction: 2, cluster_name: "pinned-cluster" } });
    const s = host.httpStream({ extra: { "request.id": "pinned" } });
    s.callOnRequestHeaders(GET, true);
    const r = reads(host, paths.length);
    expect(r.map((x) => x.status)).toEqual([0, 0, 0, 0, 0, 0, WasmResult.NotFound, WasmResult.NotFound]);
    expect(r[0]!.bytes.toString()).toBe("p");
    expect(r[1]!.bytes.toString()).toBe("GET");
    expect(r[2]!.bytes.toString()).toBe("GET");
    expect(r[3]!.bytes).toEqual(i64(2));
    expect(r[4]!.bytes.toString()).toBe("pinned");
    expect(r[5]!.bytes.toString()).toBe("pinned-cluster");
  });

  it("node pins (node.*, xds.node.*) change xds.node itself, in every context; listener pins answer per stream", async () => {
    const paths = ["xds\0node\0metadata\0NAME", "xds\0node\0metadata\0LABELS\0app", "xds\0node\0id", "xds\0node\0metadata\0REPLICAS", "xds\0listener_direction"];
    const properties = { "node.metadata.NAME": "pinned-name", "xds.node.metadata.LABELS": [["app", "pinned-app"]] as Array<[string, string]>, "node.id": "pinned~id", "xds.listener_direction": 1n };
    const atConfigure = await createTestHost({ wasm: reader("configure", paths), node: NODE, properties });
    const c = reads(atConfigure, paths.length);
    expect(c.map((x) => x.status)).toEqual([0, 0, 0, 0, WasmResult.NotFound]);
    expect(c.slice(0, 3).map((x) => x.bytes.toString())).toEqual(["pinned-name", "pinned-app", "pinned~id"]);
    expect(c[3]!.bytes.readDoubleLE(0)).toBe(3); // unpinned metadata stays
    const inStream = await createTestHost({ wasm: reader("request", ["xds\0node", "xds\0listener_direction"]), node: NODE, properties });
    inStream.httpStream().callOnRequestHeaders(GET, true);
    const r = reads(inStream, 2);
    const w = new ProtoWriter();
    encodeNode(w, withEnvoyDefaults({ ...NODE, id: "pinned~id", metadata: { ...NODE!.metadata, NAME: "pinned-name", LABELS: { app: "pinned-app" } } }));
    expect(r[0]!.bytes.toString("hex")).toBe(w.finish().toString("hex"));
    expect(r[1]!.bytes).toEqual(i64(1));
  });

  it("set_property in a root context is NOT_FOUND; a property declared read-only can be set once per stream", async () => {
    const m = new ProxyWat();
    const declare = new ProtoWriter().string(1, "string_state").uint(2, 1).finish();
    const wasm = m.build(`
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (call $rec (i32.const 0) (call $proxy_set_property ${m.s("x")} ${m.s("y")}))
        (call $rec (i32.const 1) (call $proxy_call_foreign_function ${m.s("declare_property")} ${m.s(declare)} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (call $rec (i32.const 2) (call $proxy_call_foreign_function ${m.s("declare_property")} ${m.s(declare)} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (i32.const 1))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $rec (i32.const 3) (call $proxy_set_property ${m.s("string_state")} ${m.s("unicorns")}))
        (call $rec (i32.const 4) (call $proxy_set_property ${m.s("string_state")} ${m.s("ponies")}))
        (i32.const 0))`);
    const host = await createTestHost({ wasm });
    expect([0, 1, 2].map((i) => slot(host, i))).toEqual([WasmResult.NotFound, 0, WasmResult.BadArgument]);
    const s = host.httpStream();
    s.callOnRequestHeaders(GET, true);
    expect([slot(host, 3), slot(host, 4)]).toEqual([0, WasmResult.BadArgument]);
    expect(s.filterState("string_state")).toBe("unicorns");
  });

  it("a TCP connection has upstream info before any host (tcp_proxy); the host, local address and attempt come with the upstream connection", async () => {
    const paths = ["upstream\0transport_failure_reason", "upstream\0address", "upstream\0request_attempt_count", "upstream_filter_state", "xds\0cluster_name", "xds\0listener_direction", "xds\0route_name"];
    const host = await createTestHost({ wasm: reader("new_connection", paths), listenerDirection: "inbound" });
    const info = newStreamInfo({ clusterName: "" });
    markUpstreamRequested(info);
    host.tcpConnection(info);
    const r = reads(host, paths.length);
    expect(r.map((x) => x.status)).toEqual([0, WasmResult.NotFound, 0, WasmResult.NotFound, WasmResult.NotFound, 0, WasmResult.NotFound]);
    expect(r[0]!.bytes.length).toBe(0);
    expect(r[2]!.bytes.readBigUInt64LE(0)).toBe(0n);
    expect(r[5]!.bytes).toEqual(i64(1));

    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      const port = (server.address() as AddressInfo).port;
      const socket = net.connect({ host: "127.0.0.1", port });
      trackUpstreamConnection(socket, info, "upstream", { ip: "127.0.0.1", port });
      expect(info.clusterName).toBe("upstream");
      expect(info.upstream).toBeUndefined();
      await new Promise((done) => socket.once("connect", done));
      expect(info.upstream).toEqual({ ip: "127.0.0.1", port });
      expect(info.upstreamLocalAddress).toEqual({ ip: "127.0.0.1", port: socket.localPort });
      expect(info.attemptCount).toBe(1);
      expect(info.upstreamPoolReadyMs).toBeGreaterThanOrEqual(0);
      socket.destroy();
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});
