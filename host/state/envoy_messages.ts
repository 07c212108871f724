// The Envoy protobuf messages plugins read as properties: envoy.config.core.v3.Node (`node`,
// `xds.node`), Metadata (`metadata`, `cluster_metadata`, `route_metadata`, …) and Locality. Read
// whole, a message is its serialized protobuf bytes; a longer path walks into its fields the way
// Envoy's CEL layer does (`node\0metadata\0NAME`, `metadata\0filter_metadata\0ns\0key`), where a
// google.protobuf.Struct becomes a map and an unset field reads as its default.
import { ProtoWriter, encodeStruct, type JsonObject } from "./protobuf.js";
import {
  EMPTY_LIST, EMPTY_MAP, mapOf, structMap, text, type PropertyMessage, type PropertyValue,
} from "./property_values.js";
import { toByteString } from "../abi/text.js";

/** envoy.config.core.v3.Locality. */
export interface LocalityInfo {
  region?: string;
  zone?: string;
  subZone?: string;
}

/** envoy.config.core.v3.Node: the proxy's identity (Istio puts the workload's labels in `metadata`). */
export interface NodeInfo {
  id?: string;
  cluster?: string;
  /** google.protobuf.Struct, as JSON. */
  metadata?: JsonObject;
  locality?: LocalityInfo;
  userAgentName?: string;
  userAgentVersion?: string;
  clientFeatures?: string[];
}

/** envoy.config.core.v3.Metadata.filter_metadata: a google.protobuf.Struct per filter namespace. */
export type MetadataInit = Record<string, JsonObject>;

function encodeLocality(w: ProtoWriter, l: LocalityInfo): void {
  w.string(1, l.region).string(2, l.zone).string(3, l.subZone);
}

/** A Locality message value. */
export function localityValue(l: LocalityInfo = {}): PropertyMessage {
  return {
    kind: "message",
    field(name) {
      switch (name) {
        case "region": return text(l.region ?? "");
        case "zone": return text(l.zone ?? "");
        case "sub_zone": return text(l.subZone ?? "");
        default: return undefined;
      }
    },
    encode() {
      const w = new ProtoWriter();
      encodeLocality(w, l);
      return w.finish();
    },
  };
}

/** Encodes a Node (field numbers of envoy.config.core.v3.Node). */
export function encodeNode(w: ProtoWriter, n: NodeInfo): void {
  w.string(1, n.id).string(2, n.cluster);
  if (n.metadata && Object.keys(n.metadata).length > 0) w.message(3, (s) => encodeStruct(s, n.metadata!));
  if (n.locality) w.message(4, (l) => encodeLocality(l, n.locality!));
  w.string(6, n.userAgentName).string(7, n.userAgentVersion);
  for (const f of n.clientFeatures ?? []) w.string(10, f, true);
}

/** A Node message value. */
export function nodeValue(n: NodeInfo): PropertyMessage {
  return {
    kind: "message",
    field(name): PropertyValue | undefined {
      switch (name) {
        case "id": return text(n.id ?? "");
        case "cluster": return text(n.cluster ?? "");
        case "metadata": return n.metadata ? structMap(n.metadata) : EMPTY_MAP;
        case "locality": return localityValue(n.locality);
        case "user_agent_name": return text(n.userAgentName ?? "");
        case "user_agent_version": return text(n.userAgentVersion ?? "");
        case "client_features": return { kind: "list", items: (n.clientFeatures ?? []).map(text) };
        case "extensions":
        case "listening_addresses": return EMPTY_LIST;
        case "dynamic_parameters": return EMPTY_MAP;
        default: return undefined;
      }
    },
    encode() {
      const w = new ProtoWriter();
      encodeNode(w, n);
      return w.finish();
    },
  };
}

/** Encodes a Metadata message: map<string, Struct> filter_metadata = 1. */
export function encodeMetadata(w: ProtoWriter, md: MetadataInit): void {
  for (const [ns, obj] of Object.entries(md)) {
    w.message(1, (e) => {
      e.string(1, ns);
      e.message(2, (s) => encodeStruct(s, obj));
    });
  }
}

/** A Metadata message value (absent metadata reads as an empty message). */
export function metadataValue(md: MetadataInit | undefined): PropertyMessage {
  const filters = md ?? {};
  return {
    kind: "message",
    field(name) {
      if (name === "filter_metadata") {
        return mapOf(Object.entries(filters).map(([ns, obj]) => [toByteString(ns), structMap(obj)]));
      }
      if (name === "typed_filter_metadata") return EMPTY_MAP;
      return undefined;
    },
    encode() {
      const w = new ProtoWriter();
      encodeMetadata(w, filters);
      return w.finish();
    },
  };
}
