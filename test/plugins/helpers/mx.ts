// Shared values and helpers for the metadata-exchange and stats tests: the worked example of
// docs/istio-metrics.md, node metadata as properties, and reading peers out of filter state.
import type { TestHttpStream } from "../../../host/index.js";
import type { PropertyLiteral } from "../../../host/values/stream_info.js";
import { readFlatNode, writeFlatNode, type FlatNodeObject } from "./flat_node.js";

/** The worked example of docs/istio-metrics.md, "Metadata exchange". */
export const EXAMPLE_METADATA = {
  NAMESPACE: "default",
  WORKLOAD_NAME: "productpage-v1",
  LABELS: { app: "productpage", version: "v1" },
};
export const EXAMPLE_HEX =
  "0a330a064c4142454c5312292a270a140a03617070120d1a0b70726f64756374706167650a0f0a0776657273696f6e12041a0276310a160a094e414d45535041434512091a0764656661756c740a210a0d574f524b4c4f41445f4e414d4512101a0e70726f64756374706167652d7631";
export const EXAMPLE_HEADER =
  "CjMKBkxBQkVMUxIpKicKFAoDYXBwEg0aC3Byb2R1Y3RwYWdlCg8KB3ZlcnNpb24SBBoCdjEKFgoJTkFNRVNQQUNFEgkaB2RlZmF1bHQKIQoNV09SS0xPQURfTkFNRRIQGg5wcm9kdWN0cGFnZS12MQ==";
export const EXAMPLE_NODE_ID = "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local";

/** Node metadata of the shape a sidecar has, as nested JSON. */
export type NodeMetadata = Record<string, string | Record<string, string>>;

/**
 * Host properties for a node: `node.id`, `node.metadata.<KEY>` (maps as pairs, as Envoy serializes
 * a Struct-valued attribute) and `listener_direction` (1 inbound, 2 outbound).
 */
export function nodeProperties(id: string, metadata: NodeMetadata, direction?: 1 | 2): Record<string, PropertyLiteral> {
  const props: Record<string, PropertyLiteral> = { "node.id": id };
  for (const [k, v] of Object.entries(metadata)) {
    props[`node.metadata.${k}`] = typeof v === "string" ? v : Object.entries(v);
  }
  if (direction !== undefined) props.listener_direction = direction;
  return props;
}

/** Raw filter state a plugin wrote under `key` (as Envoy does, also found under `wasm.<key>`). */
export function filterStateBytes(s: TestHttpStream, key: string): Buffer | undefined {
  return s.stream.info.filterState.get(`wasm.${key}`);
}

/** The FlatNode stored under `key`, decoded with the flatbuffers library; undefined when absent. */
export function storedPeer(s: TestHttpStream, key: "downstream_peer" | "upstream_peer"): FlatNodeObject | undefined {
  const b = filterStateBytes(s, key);
  return b ? readFlatNode(new Uint8Array(b)) : undefined;
}

export const GET = { ":method": "GET", ":path": "/", ":authority": "reviews:9080", ":scheme": "http" };

/** Bookinfo's productpage sidecar (an Istio 1.16 node's metadata, the keys a FlatNode keeps). */
export const PRODUCTPAGE: NodeMetadata = {
  NAME: "productpage-v1-6b746f74dc-9stvs", NAMESPACE: "default", WORKLOAD_NAME: "productpage-v1", CLUSTER_ID: "Kubernetes",
  ISTIO_VERSION: "1.16.1", MESH_ID: "cluster.local",
  LABELS: { app: "productpage", version: "v1", "service.istio.io/canonical-name": "productpage", "service.istio.io/canonical-revision": "v1" },
};

/** Bookinfo's reviews-v1 sidecar. */
export const REVIEWS: NodeMetadata = {
  NAME: "reviews-v1-545db77b95-qd2hq", NAMESPACE: "default", WORKLOAD_NAME: "reviews-v1", CLUSTER_ID: "Kubernetes",
  ISTIO_VERSION: "1.16.1", MESH_ID: "cluster.local",
  LABELS: { app: "reviews", version: "v1", "service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v1" },
};

/** A node's metadata as the FlatNode the metadata-exchange filter stores. */
export function flatNodeOf(md: NodeMetadata): Buffer {
  const n: FlatNodeObject = {
    name: md.NAME as string, namespace: md.NAMESPACE as string, workload_name: md.WORKLOAD_NAME as string,
    cluster_id: md.CLUSTER_ID as string, istio_version: md.ISTIO_VERSION as string, mesh_id: md.MESH_ID as string,
    labels: md.LABELS as Record<string, string>,
  };
  return Buffer.from(writeFlatNode(n));
}
