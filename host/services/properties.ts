// proxy_get_property as Envoy 1.40 answers it (docs/envoy/properties.md). A path is NUL-separated
// segments (a trailing NUL, as the C++ SDK sends, is ignored); the first segment names an
// attribute and the others walk into it. Names, in Envoy's lookup order:
//   request.*, response.*, connection.*, upstream.*, source.*, destination.*, metadata,
//   filter_state, upstream_filter_state (a stream only); xds.* (node, cluster_name,
//   cluster_metadata, listener_direction, listener_metadata, route_name, route_metadata,
//   virtual_host_name, virtual_host_metadata, upstream_host_metadata,
//   upstream_host_locality_metadata, filter_chain_name: all but node need a stream); plugin_name,
//   plugin_root_id, plugin_vm_id, connection_id; any other name X is the filter state `wasm.X`
//   written with proxy_set_property. The names Envoy answered before 1.33 (`node`, `cluster_name`,
//   `listener_direction`, …) are such other names: NOT_FOUND unless a plugin set them.
import { httpToGrpcStatus, WasmResult } from "../abi/constants.js";
import { fromByteString } from "../abi/text.js";
import type { HostServices, LocalInfo } from "./host_services.js";
import type { HeaderMap } from "../values/header_map.js";
import { localityValue, metadataValue, nodeValue, withEnvoyDefaults, type NodeInfo } from "../values/envoy_messages.js";
import {
  bool, byteStr, int, literalValue, nanosFromMs, selectProperty, serializeProperty, text, uint,
  type PropertyMap, type PropertyValue,
} from "../values/property_values.js";
import { cachedLocalInfoWithPins, isLocalInfoPin, LEGACY_XDS_NAMES, legacyPinKey } from "./property_pins.js";
import { responseFlagBits, type Endpoint, type PropertyScope, type StreamInfo, type TlsInfo } from "../values/stream_info.js";

/**
 * The context a lookup runs in, as properties see it (vm/contexts.ts HostContext has this shape):
 * its stream's attributes, if any, and the host, VM and plugin it belongs to.
 */
export interface PropertyContext {
  propertyScope(): PropertyScope | undefined;
  readonly vm: { readonly runtime: { readonly services: Pick<HostServices, "localInfo" | "properties">; readonly vmId: string } };
  /** The plugin's root context (itself for a root). */
  readonly root: PropertyContext & { readonly plugin: { readonly config: { readonly name: string; readonly rootId: string } } };
}

/** Splits a raw path (byte string) into segments; one trailing NUL is ignored. */
export function splitPath(raw: string): string[] {
  if (raw.length === 0) return [];
  const parts = raw.split("\0");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** A raw path split once: its segments and the dotted key user pins are stored under. */
interface ParsedPath {
  segments: readonly string[];
  dotted: string;
  /** The path names the node or the listener (pins of it are folded into the local info). */
  localInfoPin: boolean;
  /** For `xds.<old name>…`, the old dotted name a pin may be stored under. */
  legacyKey: string | undefined;
}

// Plugins ask for the same few paths on every request: parse each once. Bounded, so hostile
// plugins sending endless distinct paths cannot grow it without limit.
const PARSED_PATHS = new Map<string, ParsedPath>();
const PARSED_PATHS_MAX = 4096;

function parsePath(raw: string): ParsedPath {
  let p = PARSED_PATHS.get(raw);
  if (p === undefined) {
    const segments = splitPath(raw);
    const dotted = segments.map(fromByteString).join(".");
    p = { segments, dotted, localInfoPin: isLocalInfoPin(dotted), legacyKey: legacyPinKey(segments, dotted) };
    if (PARSED_PATHS.size >= PARSED_PATHS_MAX) PARSED_PATHS.clear();
    PARSED_PATHS.set(raw, p);
  }
  return p;
}

// A CEL map computed from a lookup function; whole, it cannot be serialized (Envoy's attribute
// wrappers do not list their keys), so reading e.g. `request` alone is SERIALIZATION_FAILURE.
function lookupMap(get: (key: string) => PropertyValue | undefined): PropertyMap {
  return { kind: "map", get, entries: () => undefined };
}

// A header map as a CEL map: repeated values joined with ",", keys looked up case-insensitively
// (in request headers `host` names `:authority`, as the header map itself answers).
function headersMap(h: HeaderMap | undefined): PropertyMap {
  return {
    kind: "map",
    get: (key) => {
      if (!h) return undefined;
      const all = h.getAll(key);
      return all.length === 0 ? undefined : byteStr(all.join(","));
    },
    entries: () => {
      if (!h) return [];
      const out: Array<[string, PropertyValue]> = [];
      const seen = new Set<string>();
      for (let i = 0; i < h.pairs.length; i += 2) {
        const k = h.pairs[i]!;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push([k, byteStr(h.getAll(k).join(","))]);
      }
      return out;
    },
  };
}

const address = (e: Endpoint): PropertyValue => text(`${e.ip.includes(":") ? `[${e.ip}]` : e.ip}:${e.port}`);

function tlsProperty(t: TlsInfo | undefined, field: string): PropertyValue | undefined {
  if (!t) return undefined;
  const v: string | undefined = {
    tls_version: t.version,
    subject_local_certificate: t.subjectLocalCertificate,
    subject_peer_certificate: t.subjectPeerCertificate,
    uri_san_local_certificate: t.uriSanLocalCertificate,
    uri_san_peer_certificate: t.uriSanPeerCertificate,
    dns_san_local_certificate: t.dnsSanLocalCertificate,
    dns_san_peer_certificate: t.dnsSanPeerCertificate,
    sha256_peer_certificate_digest: t.sha256PeerCertificateDigest,
    peer_certificate: t.peerCertificate,
  }[field];
  return v === undefined ? undefined : text(v);
}

function requestProperty(s: PropertyScope, field: string): PropertyValue | undefined {
  const h = s.requestHeaders;
  const info = s.info;
  const header = (name: string) => {
    const v = h?.get(name);
    return v === undefined ? undefined : byteStr(v);
  };
  switch (field) {
    case "path": return header(":path");
    case "url_path": { const p = h?.get(":path"); if (p === undefined) return undefined; const i = p.indexOf("?"); return byteStr(i < 0 ? p : p.slice(0, i)); }
    case "query": {
      const p = h?.get(":path");
      if (p === undefined) return undefined;
      const i = p.indexOf("?");
      if (i < 0) return byteStr("");
      const q = p.slice(i + 1);
      const f = q.indexOf("#");
      return byteStr(f < 0 ? q : q.slice(0, f));
    }
    case "host": return header(":authority");
    case "scheme": return header(":scheme");
    case "method": return header(":method");
    case "referer": return header("referer");
    case "useragent": return header("user-agent");
    case "id": return header("x-request-id");
    case "headers": return headersMap(h);
    case "headers_bytes": return int(h ? h.byteSize() : 0);
    case "protocol": return info.protocol ? text(info.protocol) : undefined;
    case "time": return nanosFromMs(info.startTime);
    case "duration": return info.endTime !== undefined ? nanosFromMs(info.endTime - info.startTime) : undefined;
    case "size": {
      const cl = h?.get("content-length");
      if (cl !== undefined) return /^\d+$/.test(cl) ? int(BigInt(cl)) : undefined;
      return int(info.requestBodyBytes);
    }
    case "total_size": return int(info.requestBodyBytes + (h ? h.byteSize() : 0));
    default: return undefined;
  }
}


function responseProperty(s: PropertyScope, field: string): PropertyValue | undefined {
  const info = s.info;
  const h = s.responseHeaders;
  const t = s.responseTrailers;
  switch (field) {
    case "code": return info.responseCode ? int(info.responseCode) : undefined;
    case "code_details": return info.responseCodeDetails ? text(info.responseCodeDetails) : undefined;
    case "flags": return int(responseFlagBits(info.responseFlags));
    case "grpc_status": {
      const g = t?.get("grpc-status") ?? h?.get("grpc-status");
      if (g !== undefined) return /^\d+$/.test(g) ? int(Number(g)) : undefined;
      return info.responseCode ? int(httpToGrpcStatus(info.responseCode)) : undefined;
    }
    case "headers": return headersMap(h);
    case "headers_bytes": return int(h ? h.byteSize() : 0);
    case "trailers": return headersMap(t);
    case "size": return int(info.responseBodyBytes);
    case "total_size": return int(info.responseBodyBytes + (h ? h.byteSize() : 0) + (t ? t.byteSize() : 0));
    case "backend_latency":
      return info.upstreamRequestStart !== undefined && info.upstreamResponseEnd !== undefined
        ? nanosFromMs(info.upstreamResponseEnd - info.upstreamRequestStart) : undefined;
    default: return undefined;
  }
}

function connectionProperty(info: StreamInfo, field: string): PropertyValue | undefined {
  switch (field) {
    case "id": return uint(info.connectionId);
    case "mtls": return bool(info.mtls);
    case "requested_server_name": return text(info.requestedServerName);
    case "termination_details": return undefined;
    case "transport_failure_reason": return undefined;
    default: return tlsProperty(info.tls, field);
  }
}

// Envoy has upstream info once the router or tcp_proxy started an upstream request, and a host
// in it once one was chosen.
const upstreamRequested = (info: StreamInfo): boolean => info.upstreamRequested ?? info.upstream !== undefined;

function upstreamProperty(info: StreamInfo, field: string): PropertyValue | undefined {
  switch (field) {
    case "request_attempt_count": return uint(info.attemptCount ?? (info.upstream ? 1 : 0));
    case "num_endpoints": return info.clusterName ? uint(info.clusterEndpoints ?? 1) : undefined;
    case "transport_failure_reason": return upstreamRequested(info) ? text(info.upstreamTransportFailureReason ?? "") : undefined;
  }
  if (!info.upstream) return undefined;
  switch (field) {
    case "address": return address(info.upstream);
    case "port": return int(info.upstream.port);
    case "local_address": return info.upstreamLocalAddress ? address(info.upstreamLocalAddress) : undefined;
    case "locality": return localityValue(info.upstreamLocality);
    case "cx_pool_ready_duration": return info.upstreamPoolReadyMs !== undefined ? nanosFromMs(info.upstreamPoolReadyMs) : undefined;
    default: return tlsProperty(info.upstreamTls, field);
  }
}

function peerProperty(e: Endpoint, field: string): PropertyValue | undefined {
  if (field === "address") return address(e);
  if (field === "port") return int(e.port);
  return undefined;
}

// Metadata of an upstream host that has none: Envoy hands CEL a null message, which cannot be
// serialized (SERIALIZATION_FAILURE) and has no fields (NOT_FOUND below it).
const NO_METADATA: PropertyValue = { kind: "null" };

// The node and listener this host describes, with the user's pins folded in (property_pins.ts).
function localInfo(ctx: PropertyContext): LocalInfo {
  const services = ctx.vm.runtime.services;
  return services.properties.size === 0 ? services.localInfo : cachedLocalInfoWithPins(services.localInfo, services.properties);
}

// xds.node read whole is the node Envoy sends its control plane, which Envoy completes with its
// user agent and build version; one value per node object.
const NODE_VALUES = new WeakMap<NodeInfo, PropertyValue>();

function nodeProperty(node: NodeInfo): PropertyValue {
  let v = NODE_VALUES.get(node);
  if (v === undefined) {
    v = nodeValue(withEnvoyDefaults(node));
    NODE_VALUES.set(node, v);
  }
  return v;
}

// xds.*: the node everywhere; the rest only in a stream (Envoy's XDS wrapper has no stream info
// in a root context: xds.listener_direction is NOT_FOUND at on_configure).
function xdsProperty(ctx: PropertyContext, info: StreamInfo | undefined, field: string): PropertyValue | undefined {
  if (field === "node") return nodeProperty(localInfo(ctx).node);
  if (!info) return undefined;
  const route = info.routeName !== undefined;
  switch (field) {
    case "listener_direction": return int(localInfo(ctx).listenerDirection);
    case "listener_metadata": return metadataValue(localInfo(ctx).listenerMetadata);
    case "cluster_name": return info.clusterName ? text(info.clusterName) : undefined;
    case "cluster_metadata": return info.clusterName ? metadataValue(info.clusterMetadata) : undefined;
    case "route_name": return route ? text(info.routeName!) : undefined;
    case "route_metadata": return route ? metadataValue(info.routeMetadata) : undefined;
    case "virtual_host_name": return info.virtualHostName !== undefined ? text(info.virtualHostName) : undefined;
    case "virtual_host_metadata": return info.virtualHostName !== undefined ? metadataValue(info.virtualHostMetadata) : undefined;
    case "upstream_host_metadata":
      return info.upstream ? (info.upstreamHostMetadata ? metadataValue(info.upstreamHostMetadata) : NO_METADATA) : undefined;
    case "upstream_host_locality_metadata":
      return info.upstream ? (info.upstreamHostLocalityMetadata ? metadataValue(info.upstreamHostLocalityMetadata) : NO_METADATA) : undefined;
    case "filter_chain_name": return text(info.filterChainName ?? "");
    default: return undefined;
  }
}

function filterStateMap(state: Map<string, Buffer>): PropertyMap {
  return lookupMap((key) => {
    const v = state.get(fromByteString(key));
    return v === undefined ? undefined : { kind: "bytes", value: v };
  });
}

// The value a first path segment names, or undefined (NOT_FOUND).
function topLevel(ctx: PropertyContext, scope: PropertyScope | undefined, name: string): PropertyValue | undefined {
  const info = scope?.info;
  if (name === "xds") return lookupMap((field) => xdsProperty(ctx, info, field));
  if (scope && info) {
    switch (name) {
      case "request": return lookupMap((f) => requestProperty(scope, f));
      case "response": return lookupMap((f) => responseProperty(scope, f));
      case "connection": return lookupMap((f) => connectionProperty(info, f));
      case "upstream": return lookupMap((f) => upstreamProperty(info, f));
      case "source": return lookupMap((f) => peerProperty(info.source, f));
      case "destination": return lookupMap((f) => peerProperty(info.destination, f));
      case "metadata": return metadataValue(Object.fromEntries(info.dynamicMetadata));
      case "filter_state": return filterStateMap(info.filterState);
      // Upstream filter state comes with the upstream connection (a host chosen).
      case "upstream_filter_state": return info.upstream ? filterStateMap(info.upstreamFilterState) : undefined;
    }
  }
  switch (name) {
    case "plugin_name": return text(ctx.root.plugin.config.name);
    case "plugin_root_id": return text(ctx.root.plugin.config.rootId);
    case "plugin_vm_id": return text(ctx.vm.runtime.vmId);
    case "connection_id": return info ? uint(info.connectionId) : undefined;
  }
  if (!info) return undefined;
  // Any other name is filter state written by proxy_set_property (request, then upstream).
  const key = `wasm.${fromByteString(name)}`;
  const fs = info.filterState.get(key) ?? info.upstreamFilterState.get(key);
  return fs === undefined ? undefined : { kind: "bytes", value: fs };
}

/**
 * A value pinned by the user for this exact path (dotted), if any. Pins answer in a stream only
 * (what Envoy answers in a root context — the node, the plugin's names — is not pinned that way);
 * node and listener pins are folded into the local info instead (property_pins.ts).
 */
function pinned(ctx: PropertyContext, scope: PropertyScope | undefined, path: ParsedPath): PropertyValue | undefined {
  if (!scope) return undefined;
  const hostPins = ctx.vm.runtime.services.properties;
  const streamPins = scope.info.extra;
  if (hostPins.size === 0 && streamPins.size === 0) return undefined;
  if (path.localInfoPin || LEGACY_XDS_NAMES.has(path.segments[0]!)) return undefined;
  let v = streamPins.get(path.dotted) ?? hostPins.get(path.dotted);
  if (v === undefined && path.legacyKey !== undefined) v = streamPins.get(path.legacyKey) ?? hostPins.get(path.legacyKey);
  return v === undefined ? undefined : literalValue(v);
}

// The common two-segment stream attributes, answered without building the intermediate map.
function streamField(scope: PropertyScope, name: string, field: string): PropertyValue | undefined | null {
  switch (name) {
    case "request": return requestProperty(scope, field);
    case "response": return responseProperty(scope, field);
    case "connection": return connectionProperty(scope.info, field);
    case "upstream": return upstreamProperty(scope.info, field);
    case "source": return peerProperty(scope.info.source, field);
    case "destination": return peerProperty(scope.info.destination, field);
    default: return null; // not one of these: take the general path
  }
}

/**
 * Resolves `rawPath` (a byte string) for a context: the serialized value, or NOT_FOUND /
 * SERIALIZATION_FAILURE.
 */
export function getProperty(ctx: PropertyContext, rawPath: string): Buffer | number {
  const path = parsePath(rawPath);
  const segments = path.segments;
  if (segments.length === 0) return WasmResult.NotFound;
  const scope = ctx.propertyScope();
  let value = pinned(ctx, scope, path);
  if (value === undefined) {
    const fast = scope && segments.length === 2 ? streamField(scope, segments[0]!, segments[1]!) : null;
    if (fast !== null) {
      value = fast;
    } else {
      value = topLevel(ctx, scope, segments[0]!);
      for (let i = 1; i < segments.length && value !== undefined; i++) value = selectProperty(value, segments[i]!);
    }
  }
  if (value === undefined) return WasmResult.NotFound;
  return serializeProperty(value) ?? WasmResult.SerializationFailure;
}
