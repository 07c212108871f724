// The Envoy protobuf messages plugins read as properties: envoy.config.core.v3.Node (`xds.node`),
// Metadata (`metadata`, `xds.cluster_metadata`, `xds.route_metadata`, …) and Locality. Read whole,
// a message is its serialized protobuf bytes; a longer path walks into its fields the way Envoy's
// CEL layer does (`xds\0node\0metadata\0NAME`, `metadata\0filter_metadata\0ns\0key`), where a
// google.protobuf.Struct becomes a map and an unset field reads as its default
// (docs/envoy/properties.md).
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

/** envoy.config.core.v3.BuildVersion: a semantic version and build facts. */
export interface BuildVersion {
  major: number;
  minor: number;
  patch: number;
  /** google.protobuf.Struct, as JSON. */
  metadata?: JsonObject;
}

/** envoy.config.core.v3.Node: the proxy's identity (Istio puts the workload's labels in `metadata`). */
export interface NodeInfo {
  id?: string;
  cluster?: string;
  /** google.protobuf.Struct, as JSON. */
  metadata?: JsonObject;
  locality?: LocalityInfo;
  /** Default "envoy", as Envoy fills it in. */
  userAgentName?: string;
  /** A free-form version; set, it replaces the build version (the two are a oneof). */
  userAgentVersion?: string;
  /** Default: Envoy 1.40.0's (see ENVOY_BUILD_VERSION). */
  userAgentBuildVersion?: BuildVersion;
  clientFeatures?: string[];
}

/**
 * What Envoy 1.40.0's release build reports as its node's user_agent_build_version (read from
 * `xds.node` on Envoy 1.40.0, docs/envoy/properties.md). The host answers as that Envoy, so a
 * plugin that picks attribute names by Envoy version picks the ones the host answers.
 */
export const ENVOY_BUILD_VERSION: BuildVersion = {
  major: 1, minor: 40, patch: 0,
  metadata: {
    "build.type": "RELEASE",
    "revision.sha": "9e5580933739775e8bce696a57a2e1bc99368f23",
    "revision.status": "Clean",
    "ssl.version": "BoringSSL",
  },
};

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

function encodeBuildVersion(w: ProtoWriter, b: BuildVersion): void {
  w.message(1, (v) => v.uint(1, b.major).uint(2, b.minor).uint(3, b.patch));
  if (b.metadata && Object.keys(b.metadata).length > 0) w.message(2, (s) => encodeStruct(s, b.metadata!));
}

/** A node as Envoy completes it: user_agent_name "envoy" and its build version unless given. */
export function withEnvoyDefaults(n: NodeInfo): NodeInfo {
  return {
    ...n,
    userAgentName: n.userAgentName ?? "envoy",
    userAgentBuildVersion: n.userAgentVersion !== undefined ? n.userAgentBuildVersion : (n.userAgentBuildVersion ?? ENVOY_BUILD_VERSION),
  };
}

/** Encodes a Node (field numbers of envoy.config.core.v3.Node). */
export function encodeNode(w: ProtoWriter, n: NodeInfo): void {
  w.string(1, n.id).string(2, n.cluster);
  if (n.metadata && Object.keys(n.metadata).length > 0) w.message(3, (s) => encodeStruct(s, n.metadata!));
  if (n.locality) w.message(4, (l) => encodeLocality(l, n.locality!));
  w.string(6, n.userAgentName);
  if (n.userAgentVersion !== undefined) w.string(7, n.userAgentVersion, true);
  else if (n.userAgentBuildVersion) w.message(8, (b) => encodeBuildVersion(b, n.userAgentBuildVersion!));
  for (const f of n.clientFeatures ?? []) w.string(10, f, true);
}

const uint = (v: number): PropertyValue => ({ kind: "uint", value: BigInt(v) });

function buildVersionValue(b: BuildVersion | undefined): PropertyMessage {
  return {
    kind: "message",
    field(name) {
      switch (name) {
        case "version": return {
          kind: "message",
          // uint32 fields read as CEL uints.
          field: (f) => (f === "major_number" ? uint(b?.major ?? 0) : f === "minor_number" ? uint(b?.minor ?? 0) : f === "patch" ? uint(b?.patch ?? 0) : undefined),
          encode: () => new ProtoWriter().uint(1, b?.major ?? 0).uint(2, b?.minor ?? 0).uint(3, b?.patch ?? 0).finish(),
        };
        case "metadata": return b?.metadata ? structMap(b.metadata) : EMPTY_MAP;
        default: return undefined;
      }
    },
    encode() {
      const w = new ProtoWriter();
      if (b) encodeBuildVersion(w, b);
      return w.finish();
    },
  };
}

/** A Node message value (give it a node completed by withEnvoyDefaults to answer as Envoy). */
export function nodeValue(n: NodeInfo): PropertyMessage {
  let bytes: Uint8Array | undefined;
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
        case "user_agent_build_version": return buildVersionValue(n.userAgentVersion === undefined ? n.userAgentBuildVersion : undefined);
        case "client_features": return { kind: "list", items: (n.clientFeatures ?? []).map(text) };
        // The dev proxy lists no extensions (Envoy lists every one it was built with).
        case "extensions":
        case "listening_addresses": return EMPTY_LIST;
        case "dynamic_parameters": return EMPTY_MAP;
        default: return undefined;
      }
    },
    // Encoded once: a node does not change while its value is held.
    encode() {
      if (bytes === undefined) {
        const w = new ProtoWriter();
        encodeNode(w, n);
        bytes = w.finish();
      }
      return bytes;
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
