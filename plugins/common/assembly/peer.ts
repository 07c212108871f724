// Names shared by the metadata-exchange and stats plugins: the exchange headers and the filter-state
// keys peers are stored under. Envoy keeps a key written with proxy_set_property("downstream_peer")
// as filter state `wasm.downstream_peer`, and answers proxy_get_property("downstream_peer") from it.

/** Base64 of the sender's node metadata (a deterministic protobuf google.protobuf.Struct). */
export const HEADER_PEER_METADATA = "x-envoy-peer-metadata";
/** The sender's Envoy node id. */
export const HEADER_PEER_METADATA_ID = "x-envoy-peer-metadata-id";

/** Filter state: the client's node id (written on the server side). */
export const DOWNSTREAM_PEER_ID = "downstream_peer_id";
/** Filter state: the client's node as a FlatNode (written on the server side). */
export const DOWNSTREAM_PEER = "downstream_peer";
/** Filter state: the server's node id (written on the client side). */
export const UPSTREAM_PEER_ID = "upstream_peer_id";
/** Filter state: the server's node as a FlatNode (written on the client side). */
export const UPSTREAM_PEER = "upstream_peer";
/**
 * The peer id a TCP exchange stores when the peer sent no metadata (Istio's kMetadataNotFoundValue):
 * the peer is settled as unknown, so the stats filter need not wait for it.
 */
export const PEER_UNKNOWN = "envoy.wasm.metadata_exchange.peer_unknown";

/** Envoy's `xds.listener_direction` values. */
export namespace TrafficDirection {
  export const UNSPECIFIED: i64 = 0;
  export const INBOUND: i64 = 1;
  export const OUTBOUND: i64 = 2;
}

/** Label keys Istio reads from node labels. */
export const LABEL_APP = "app";
export const LABEL_VERSION = "version";
export const LABEL_CANONICAL_NAME = "service.istio.io/canonical-name";
export const LABEL_CANONICAL_REVISION = "service.istio.io/canonical-revision";
