// plugins/metadata-exchange through the test API: the worked example of docs/istio-metrics.md in both
// directions, the direction rules, header stripping, the peer cache, and defensive decoding.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../host/index.js";
import { decodePeerMetadata, decodeTcpExchange, encodePeerMetadata, encodeStruct, encodeTcpExchange } from "../../host/istio/peer_metadata.js";
import { ROOT } from "../helpers/paths.js";
import { AS_027_MINIMAL, AS_028_MINIMAL, buildVariant } from "../sdk/variants.js";
import { readFlatNode } from "./helpers/flat_node.js";
import {
  EXAMPLE_HEADER, EXAMPLE_HEX, EXAMPLE_METADATA, EXAMPLE_NODE_ID, GET, filterStateBytes, nodeProperties, storedPeer,
} from "./helpers/mx.js";

// Every behaviour is checked on the plugin built with AssemblyScript 0.28 and 0.27.
let wasm = "";
const MD = "x-envoy-peer-metadata";
const ID = "x-envoy-peer-metadata-id";

const REVIEWS = {
  NAME: "reviews-v1-545db77b95-qd2hq", NAMESPACE: "default", WORKLOAD_NAME: "reviews-v1", CLUSTER_ID: "Kubernetes",
  ISTIO_VERSION: "1.16.1", MESH_ID: "cluster.local", OWNER: "kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v1",
  LABELS: { app: "reviews", version: "v1", "service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v1" },
};
const REVIEWS_ID = "sidecar~10.244.0.20~reviews-v1-545db77b95-qd2hq.default~default.svc.cluster.local";

function mx(direction: 1 | 2, metadata: Record<string, string | Record<string, string>> = EXAMPLE_METADATA, id = EXAMPLE_NODE_ID, configuration?: string): Promise<TestHost> {
  return createTestHost({ wasm, properties: nodeProperties(id, metadata, direction), configuration });
}

for (const variant of [AS_028_MINIMAL, AS_027_MINIMAL]) {
  describe(`metadata-exchange (${variant.name})`, () => {
    beforeAll(async () => {
      wasm = await buildVariant(join(ROOT, "plugins", "metadata-exchange"), variant);
    }, 120_000);

    describe("metadata-exchange: the worked example", () => {
      it("the TypeScript reference codec reproduces the document's bytes (checks the test's own oracle)", () => {
        expect(encodeStruct(EXAMPLE_METADATA).toString("hex")).toBe(EXAMPLE_HEX);
        expect(encodePeerMetadata(EXAMPLE_METADATA)).toBe(EXAMPLE_HEADER);
        expect(decodePeerMetadata(EXAMPLE_HEADER)).toEqual(EXAMPLE_METADATA);
      });

      it("sends the example node's metadata byte-identical to the document (outbound request)", async () => {
        const host = await mx(2);
        const s = host.httpStream();
        expect(s.callOnRequestHeaders(GET, true)).toBe(0);
        expect(s.upstream.headers?.get(MD)).toBe(EXAMPLE_HEADER);
        expect(Buffer.from(s.upstream.headers!.get(MD)!, "base64").toString("hex")).toBe(EXAMPLE_HEX);
        expect(s.upstream.headers?.get(ID)).toBe(EXAMPLE_NODE_ID);
        expect(host.failures).toEqual([]);
      });

      it("reads the node from Envoy's node message (node.metadata as a Struct, listener direction)", async () => {
        const host = await createTestHost({
          wasm, listenerDirection: "outbound",
          node: { id: EXAMPLE_NODE_ID, metadata: { ...EXAMPLE_METADATA, PROXY_CONFIG: { concurrency: 2, tracing: {} }, INTERCEPTION_MODE: "REDIRECT" } },
        });
        const s = host.httpStream();
        s.callOnRequestHeaders(GET, true);
        expect(s.upstream.headers?.get(MD)).toBe(EXAMPLE_HEADER);
        expect(s.upstream.headers?.get(ID)).toBe(EXAMPLE_NODE_ID);
      });

      it("decodes the example header to the same fields (inbound request), strips it, and answers on the response", async () => {
        const host = await mx(1, REVIEWS, REVIEWS_ID);
        const s = host.httpStream();
        s.callOnRequestHeaders({ ...GET, [MD]: EXAMPLE_HEADER, [ID]: EXAMPLE_NODE_ID }, true);
        // The application never sees the exchange headers.
        expect(s.upstream.headers?.has(MD)).toBe(false);
        expect(s.upstream.headers?.has(ID)).toBe(false);
        expect(storedPeer(s, "downstream_peer")).toEqual({
          namespace: "default", workload_name: "productpage-v1", labels: { app: "productpage", version: "v1" },
        });
        expect(filterStateBytes(s, "downstream_peer_id")?.toString()).toBe(EXAMPLE_NODE_ID);
        s.callOnResponseHeaders({ ":status": "200" }, true);
        expect(decodePeerMetadata(s.downstream.headers!.get(MD)!)).toEqual(REVIEWS);
        expect(s.downstream.headers?.get(ID)).toBe(REVIEWS_ID);
        expect(host.failures).toEqual([]);
      });

      it("stores the upstream's answer on the outbound response and hides it from the application", async () => {
        const host = await mx(2);
        const s = host.httpStream();
        s.callOnRequestHeaders(GET, true);
        s.callOnResponseHeaders({ ":status": "200", [MD]: encodePeerMetadata(REVIEWS), [ID]: REVIEWS_ID }, true);
        expect(s.downstream.headers?.has(MD)).toBe(false);
        expect(s.downstream.headers?.has(ID)).toBe(false);
        expect(storedPeer(s, "upstream_peer")).toEqual({
          name: REVIEWS.NAME, namespace: "default", workload_name: "reviews-v1", cluster_id: "Kubernetes",
          istio_version: "1.16.1", mesh_id: "cluster.local", owner: REVIEWS.OWNER, labels: REVIEWS.LABELS,
        });
        expect(filterStateBytes(s, "upstream_peer_id")?.toString()).toBe(REVIEWS_ID);
      });
    });

    describe("metadata-exchange: directions", () => {
      it("inbound: answers only callers that sent the headers", async () => {
        const host = await mx(1);
        const s = host.httpStream();
        s.callOnRequestHeaders(GET, true);
        expect(s.upstream.headers?.has(MD)).toBe(false);
        s.callOnResponseHeaders({ ":status": "200" }, true);
        expect(s.downstream.headers?.has(MD)).toBe(false);
        expect(s.downstream.headers?.has(ID)).toBe(false);
        expect(filterStateBytes(s, "downstream_peer")).toBeUndefined();
      });

      it("inbound: a request with only the id gets only the id back", async () => {
        const host = await mx(1);
        const s = host.httpStream();
        s.callOnRequestHeaders({ ...GET, [ID]: REVIEWS_ID }, true);
        s.callOnResponseHeaders({ ":status": "200" }, true);
        expect(s.downstream.headers?.get(ID)).toBe(EXAMPLE_NODE_ID);
        expect(s.downstream.headers?.has(MD)).toBe(false);
      });

      it("outbound: replaces headers the application set and never answers on responses", async () => {
        const host = await mx(2);
        const s = host.httpStream();
        s.callOnRequestHeaders({ ...GET, [MD]: "spoofed", [ID]: "spoofed" }, true);
        expect(s.upstream.headers?.getAll(MD)).toEqual([EXAMPLE_HEADER]);
        expect(s.upstream.headers?.getAll(ID)).toEqual([EXAMPLE_NODE_ID]);
        s.callOnResponseHeaders({ ":status": "200" }, true);
        expect(s.downstream.headers?.has(MD)).toBe(false);
      });

      it("unspecified direction (a gateway): sends on requests and answers on responses", async () => {
        const host = await createTestHost({ wasm, properties: nodeProperties(EXAMPLE_NODE_ID, EXAMPLE_METADATA) });
        const s = host.httpStream();
        s.callOnRequestHeaders({ ...GET, [MD]: encodePeerMetadata(REVIEWS), [ID]: REVIEWS_ID }, true);
        expect(s.upstream.headers?.get(MD)).toBe(EXAMPLE_HEADER);
        s.callOnResponseHeaders({ ":status": "200" }, true);
        expect(s.downstream.headers?.get(MD)).toBe(EXAMPLE_HEADER);
      });

      it("a node without metadata or id sends nothing", async () => {
        const host = await createTestHost({ wasm, properties: { listener_direction: 2 } });
        const s = host.httpStream();
        s.callOnRequestHeaders(GET, true);
        expect(s.upstream.headers?.has(MD)).toBe(false);
        expect(s.upstream.headers?.has(ID)).toBe(false);
      });

      it("sends only FlatNode keys of the node metadata, with maps of strings", async () => {
        const host = await mx(2, { ...REVIEWS, PROXY_CONFIG: "{...}", INTERCEPTION_MODE: "REDIRECT", APP_CONTAINERS: "reviews,sidecar" });
        const s = host.httpStream();
        s.callOnRequestHeaders(GET, true);
        expect(decodePeerMetadata(s.upstream.headers!.get(MD)!)).toEqual({ ...REVIEWS, APP_CONTAINERS: "reviews,sidecar" });
      });
    });

    describe("metadata-exchange: peer cache", () => {
      for (const size of [0, 1, 500]) {
        it(`max_peer_cache_size ${size}: every stream stores its own peer`, async () => {
          const host = await mx(1, EXAMPLE_METADATA, EXAMPLE_NODE_ID, JSON.stringify({ max_peer_cache_size: size }));
          // Three peers, repeated, and one id whose metadata changes: the cache must never serve a
          // stale or foreign peer.
          const peers = ["a", "b", "c", "a", "b", "c"].map((w) => ({ id: `sidecar~${w}`, md: { WORKLOAD_NAME: `w-${w}`, NAMESPACE: "ns" } }));
          peers.push({ id: "sidecar~a", md: { WORKLOAD_NAME: "w-a2", NAMESPACE: "ns" } });
          for (const p of peers) {
            const s = host.httpStream();
            s.callOnRequestHeaders({ ...GET, [MD]: encodePeerMetadata(p.md), [ID]: p.id }, true);
            expect(storedPeer(s, "downstream_peer")).toEqual({ workload_name: p.md.WORKLOAD_NAME, namespace: "ns" });
            s.complete();
          }
          expect(host.failures).toEqual([]);
        });
      }

      it("the cache is bounded by max_peer_cache_size: 8,000 distinct peers keep guest memory flat", async () => {
        const memoryAfter = async (size: number): Promise<number> => {
          const host = await mx(1, EXAMPLE_METADATA, EXAMPLE_NODE_ID, JSON.stringify({ max_peer_cache_size: size }));
          for (let i = 0; i < 8_000; i++) {
            const s = host.httpStream();
            s.callOnRequestHeaders({ ...GET, [MD]: encodePeerMetadata({ WORKLOAD_NAME: `w-${i}`, NAMESPACE: "ns", OWNER: "o".repeat(200) }), [ID]: `sidecar~${i}` }, true);
            s.complete();
          }
          expect(host.failures).toEqual([]);
          return host.plugin.currentVms()[0]!.mem.size;
        };
        const bounded = await memoryAfter(16);
        const huge = await memoryAfter(1_000_000);
        // Each cached peer holds ~1.5 KB (id, header, FlatNode): unbounded, 8,000 of them need over 10 MB.
        expect(huge - bounded).toBeGreaterThan(5 * 1024 * 1024);
        expect(bounded).toBeLessThan(4 * 1024 * 1024);
      });

      it("a bad configuration is logged and the defaults apply", async () => {
        const host = await mx(1, EXAMPLE_METADATA, EXAMPLE_NODE_ID, "{not json");
        expect(host.logs("warn").join("\n")).toMatch(/metadata-exchange: configuration is not a JSON object/);
        const host2 = await mx(1, EXAMPLE_METADATA, EXAMPLE_NODE_ID, '{"max_peer_cache_size": -3}');
        expect(host2.logs("warn").join("\n")).toMatch(/max_peer_cache_size must be a whole number/);
        const s = host2.httpStream();
        s.callOnRequestHeaders({ ...GET, [MD]: EXAMPLE_HEADER, [ID]: "x" }, true);
        expect(storedPeer(s, "downstream_peer")?.workload_name).toBe("productpage-v1");
      });
    });

    describe("metadata-exchange: defensive decoding", () => {
      const exampleBytes = Buffer.from(EXAMPLE_HEX, "hex");
      const invalid: Array<[string, string]> = [
        ["not base64", "%%%not-base64%%%"],
        ["URL-safe alphabet", EXAMPLE_HEADER.replace(/\+/g, "-").replace(/\//g, "_").replace("K", "-")],
        ["whitespace inside", `${EXAMPLE_HEADER.slice(0, 10)} ${EXAMPLE_HEADER.slice(10)}`],
        ["dangling character", `${EXAMPLE_HEADER.replace(/=+$/, "")}AAA`],
        ["truncated protobuf", exampleBytes.subarray(0, 40).toString("base64")],
        ["unknown Struct field", Buffer.concat([exampleBytes, Buffer.from([0x12, 0x00])]).toString("base64")],
        ["unknown Value field", encodeStructWithValue(Buffer.from([0x3a, 0x00]))],
        ["wrong wire type", Buffer.from([0x08, 0x01]).toString("base64")],
        ["length past the end", Buffer.from([0x0a, 0x7f, 0x0a, 0x01]).toString("base64")],
        ["overlong varint", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).toString("base64")],
        ["invalid UTF-8 key", Buffer.from([0x0a, 0x06, 0x0a, 0x02, 0xc3, 0x28, 0x12, 0x00]).toString("base64")],
        ["nesting too deep", deepStruct(40)],
        ["oversize value", encodePeerMetadata({ WORKLOAD_NAME: "x".repeat(20000) })],
      ];

      for (const [what, value] of invalid) {
        it(`${what}: peer unknown, request continues, headers stripped`, async () => {
          const host = await mx(1);
          const s = host.httpStream();
          expect(s.callOnRequestHeaders({ ...GET, [MD]: value, [ID]: "sidecar~x" }, true)).toBe(0);
          expect(s.upstream.headers?.has(MD)).toBe(false);
          expect(filterStateBytes(s, "downstream_peer")).toBeUndefined();
          s.callOnResponseHeaders({ ":status": "200" }, true);
          expect(s.downstream.headers?.get(":status")).toBe("200");
          expect(host.failures).toEqual([]);
        });
      }

      it("padding is optional, as Istio reads it", async () => {
        const host = await mx(1);
        const s = host.httpStream();
        s.callOnRequestHeaders({ ...GET, [MD]: EXAMPLE_HEADER.replace(/=+$/, ""), [ID]: "x" }, true);
        expect(storedPeer(s, "downstream_peer")?.workload_name).toBe("productpage-v1");
      });

      it("fuzz: 10,000 malformed header values, zero traps, every request continues with the headers stripped", async () => {
        const host = await mx(1);
        const rnd = mulberry32(0x5eed);
        const mutate = (): string => {
          const kind = Math.floor(rnd() * 6);
          if (kind === 0) {
            // Random printable text (mostly invalid base64).
            return Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => String.fromCharCode(33 + Math.floor(rnd() * 94))).join("");
          }
          if (kind === 1) {
            // Valid base64 of random bytes.
            return Buffer.from(Array.from({ length: Math.floor(rnd() * 400) }, () => Math.floor(rnd() * 256))).toString("base64");
          }
          const b = Buffer.from(exampleBytes);
          if (kind === 2) {
            // Flipped bytes of the valid example.
            for (let n = 1 + Math.floor(rnd() * 4); n > 0; n--) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
            return b.toString("base64");
          }
          if (kind === 3) return b.subarray(0, Math.floor(rnd() * b.length)).toString("base64"); // truncated
          if (kind === 4) {
            // Random bytes spliced into the example.
            const at = Math.floor(rnd() * b.length);
            const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 256)));
            return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]).toString("base64");
          }
          // Base64 with one character replaced (possibly outside the alphabet).
          const chars = EXAMPLE_HEADER.split("");
          chars[Math.floor(rnd() * chars.length)] = String.fromCharCode(33 + Math.floor(rnd() * 94));
          return chars.join("");
        };
        let stored = 0;
        for (let i = 0; i < 10_000; i++) {
          const s = host.httpStream();
          const action = s.callOnRequestHeaders({ ...GET, [MD]: mutate(), [ID]: `sidecar~${i % 700}` }, true);
          if (action !== 0 || s.upstream.headers?.has(MD) || s.upstream.headers?.has(ID)) {
            throw new Error(`case ${i}: action ${action}, headers ${JSON.stringify(s.upstream.headers?.toObject())}`);
          }
          if (filterStateBytes(s, "downstream_peer")) stored++;
          s.complete();
        }
        expect(host.failures).toEqual([]);
        expect(host.logs("critical")).toEqual([]);
        // Most malformed values are refused; some mutations remain valid Structs and are stored.
        expect(stored).toBeLessThan(5000);
        // The plugin still works after the storm.
        const s = host.httpStream();
        s.callOnRequestHeaders({ ...GET, [MD]: EXAMPLE_HEADER, [ID]: "sidecar~fresh" }, true);
        expect(storedPeer(s, "downstream_peer")?.workload_name).toBe("productpage-v1");
      });
    });

    describe("metadata-exchange: TCP (network filter)", () => {
      const PEER_UNKNOWN = "envoy.wasm.metadata_exchange.peer_unknown";
      const tcp = (direction: 1 | 2, metadata: Record<string, string | Record<string, string>>, id: string, configuration?: string) =>
        createTestHost({ wasm, properties: nodeProperties(id, metadata, direction), configuration });
      /** `data` opens with a node's preamble, followed by `rest`. */
      const expectPreamble = (data: Buffer, metadata: object, id: string, rest: string) => {
        const p = decodeTcpExchange(data);
        expect({ metadata: p.metadata, id: p.id, rest: p.rest.toString() }).toEqual({ metadata, id, rest });
      };

      it("outbound with tcp_exchange: this node's preamble goes ahead of the client's bytes; the server's is read and removed", async () => {
        const host = await tcp(2, EXAMPLE_METADATA, EXAMPLE_NODE_ID, '{"tcp_exchange": true}');
        const conn = host.tcpConnection();
        expect(conn.callOnDownstreamData("hello")).toBe(0);
        expectPreamble(conn.upstream.data, EXAMPLE_METADATA, EXAMPLE_NODE_ID, "hello");
        // Only the first bytes carry it.
        conn.callOnDownstreamData(" again");
        expect(decodeTcpExchange(conn.upstream.data).rest.toString()).toBe("hello again");
        expect(conn.callOnUpstreamData(Buffer.concat([encodeTcpExchange(REVIEWS, REVIEWS_ID), Buffer.from("echo:hello")]))).toBe(0);
        expect(conn.downstreamText).toBe("echo:hello");
        expect(conn.filterState("upstream_peer_id")).toBe(REVIEWS_ID);
        expect(readFlatNode(new Uint8Array(conn.connection.info.filterState.get("wasm.upstream_peer")!))).toMatchObject({ workload_name: "reviews-v1", namespace: "default" });
        expect(host.failures).toEqual([]);
      });

      it("inbound: the client's preamble is removed and stored; the server's first bytes carry this node's", async () => {
        const host = await tcp(1, REVIEWS, REVIEWS_ID);
        const conn = host.tcpConnection();
        conn.callOnDownstreamData(Buffer.concat([encodeTcpExchange(EXAMPLE_METADATA, EXAMPLE_NODE_ID), Buffer.from("hello")]));
        expect(conn.upstreamText).toBe("hello");
        expect(conn.filterState("downstream_peer_id")).toBe(EXAMPLE_NODE_ID);
        expect(readFlatNode(new Uint8Array(conn.connection.info.filterState.get("wasm.downstream_peer")!))).toMatchObject({ workload_name: "productpage-v1" });
        conn.callOnUpstreamData("echo:hello");
        expectPreamble(conn.downstream.data, REVIEWS, REVIEWS_ID, "echo:hello");
        conn.callOnUpstreamData(" more");
        expect(decodeTcpExchange(conn.downstream.data).rest.toString()).toBe("echo:hello more");
      });

      it("inbound: a preamble split across reads is waited for, then removed whole", async () => {
        const host = await tcp(1, REVIEWS, REVIEWS_ID);
        const conn = host.tcpConnection();
        const bytes = Buffer.concat([encodeTcpExchange(EXAMPLE_METADATA, EXAMPLE_NODE_ID), Buffer.from("hello")]);
        expect(conn.callOnDownstreamData(bytes.subarray(0, 3))).toBe(1);
        expect(conn.callOnDownstreamData(bytes.subarray(3, 20))).toBe(1);
        expect(conn.upstream.data.length).toBe(0);
        expect(conn.callOnDownstreamData(bytes.subarray(20))).toBe(0);
        expect(conn.upstreamText).toBe("hello");
        expect(conn.filterState("downstream_peer_id")).toBe(EXAMPLE_NODE_ID);
      });

      it("inbound: a preamble that arrives with the client's end of stream is read too", async () => {
        const host = await tcp(1, REVIEWS, REVIEWS_ID);
        const conn = host.tcpConnection();
        expect(conn.callOnDownstreamData(Buffer.concat([encodeTcpExchange(EXAMPLE_METADATA, EXAMPLE_NODE_ID), Buffer.from("bye")]), true)).toBe(0);
        expect(conn.upstreamText).toBe("bye");
        expect(conn.filterState("downstream_peer_id")).toBe(EXAMPLE_NODE_ID);
      });

      it("inbound: a client without a preamble keeps its bytes, its peer is settled as unknown, and gets nothing extra back", async () => {
        const host = await tcp(1, REVIEWS, REVIEWS_ID);
        const conn = host.tcpConnection();
        conn.callOnDownstreamData("GET / HTTP/1.1\r\n\r\n");
        expect(conn.upstreamText).toBe("GET / HTTP/1.1\r\n\r\n");
        expect(conn.filterState("downstream_peer_id")).toBe(PEER_UNKNOWN);
        expect(conn.connection.info.filterState.has("wasm.downstream_peer")).toBe(false);
        conn.callOnUpstreamData("HTTP/1.1 200 OK\r\n\r\n");
        expect(conn.downstreamText).toBe("HTTP/1.1 200 OK\r\n\r\n");
      });

      it("outbound without tcp_exchange: the bytes pass untouched and the server's peer is settled as unknown", async () => {
        const host = await tcp(2, EXAMPLE_METADATA, EXAMPLE_NODE_ID);
        const conn = host.tcpConnection();
        conn.callOnDownstreamData("hello");
        expect(conn.upstreamText).toBe("hello");
        expect(conn.filterState("upstream_peer_id")).toBe(PEER_UNKNOWN);
      });

      it("a malformed preamble (right magic, garbage payload) is passed through and the peer is unknown", async () => {
        const host = await tcp(1, REVIEWS, REVIEWS_ID);
        const conn = host.tcpConnection();
        const bad = Buffer.concat([Buffer.from([0x3d, 0x23, 0x04, 0x67, 0, 0, 0, 4]), Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from("x")]);
        conn.callOnDownstreamData(bad);
        expect(conn.upstream.data).toEqual(bad);
        expect(conn.filterState("downstream_peer_id")).toBe(PEER_UNKNOWN);
        expect(host.failures).toEqual([]);
      });

      it("a bad tcp_exchange value is logged and the default (off) applies", async () => {
        const host = await tcp(2, EXAMPLE_METADATA, EXAMPLE_NODE_ID, '{"tcp_exchange": "yes"}');
        expect(host.logs("warn").join("\n")).toMatch(/tcp_exchange must be true or false/);
        const conn = host.tcpConnection();
        conn.callOnDownstreamData("hello");
        expect(conn.upstreamText).toBe("hello");
      });
    });
  });
}

/** A Struct { k: Value } whose Value holds the given raw bytes. */
function encodeStructWithValue(value: Buffer): string {
  const entry = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12, value.length]), value]);
  return Buffer.concat([Buffer.from([0x0a, entry.length]), entry]).toString("base64");
}

/** A Struct nested `depth` levels deep through struct_value. */
function deepStruct(depth: number): string {
  let v: Record<string, unknown> = { leaf: "x" };
  for (let i = 0; i < depth; i++) v = { k: v };
  return encodePeerMetadata(v as never);
}

/** A small seeded PRNG, so a failure reproduces. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
