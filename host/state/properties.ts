// Property (attribute) lookup as Envoy answers proxy_get_property: paths are NUL-separated
// segments; values are serialized as Envoy does (strings raw, integers as 8 bytes little-endian,
// booleans as one byte, timestamps and durations as int64 nanoseconds, maps as pairs).
import { encodePairs } from "../abi/pairs.js";
import type { HostContext } from "../vm/contexts.js";
import type { HeaderMap } from "./header_map.js";
import type { PropertyLiteral, StreamInfo } from "./stream_info.js";

/** A property value before serialization; `int` marks an int64, `uint` a uint64. */
export type PropertyValue =
  | { kind: "string"; value: string }
  | { kind: "bytes"; value: Buffer }
  | { kind: "int"; value: bigint }
  | { kind: "uint"; value: bigint }
  | { kind: "double"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "map"; value: Array<[string, string]> };

/** Splits a raw path on NUL bytes, ignoring one trailing empty segment (C++ SDK style). */
export function splitPath(raw: string): string[] {
  const parts = raw.split("\0");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** Serializes a value the way Envoy does. */
export function serializeProperty(v: PropertyValue): Buffer {
  switch (v.kind) {
    case "string": return Buffer.from(v.value, "utf8");
    case "bytes": return v.value;
    case "int": { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt.asIntN(64, v.value)); return b; }
    case "uint": { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, v.value)); return b; }
    case "double": { const b = Buffer.alloc(8); b.writeDoubleLE(v.value); return b; }
    case "bool": return Buffer.from([v.value ? 1 : 0]);
    case "map": return encodePairs(v.value.flat());
  }
}

/** Converts a user-given literal to a property value (numbers are int64 when integral). */
export function literalValue(v: PropertyLiteral): PropertyValue {
  if (typeof v === "string") return { kind: "string", value: v };
  if (typeof v === "boolean") return { kind: "bool", value: v };
  if (typeof v === "bigint") return { kind: "int", value: v };
  if (typeof v === "number") return Number.isInteger(v) ? { kind: "int", value: BigInt(v) } : { kind: "double", value: v };
  if (Buffer.isBuffer(v)) return { kind: "bytes", value: v };
  return { kind: "map", value: v };
}

const str = (value: string): PropertyValue => ({ kind: "string", value });
const int = (value: number | bigint): PropertyValue => ({ kind: "int", value: BigInt(value) });
const nanos = (ms: number): PropertyValue => ({ kind: "int", value: BigInt(Math.round(ms * 1e6)) });

function headersValue(h: HeaderMap | undefined): PropertyValue | undefined {
  if (!h) return undefined;
  // Envoy joins repeated values with commas.
  return { kind: "map", value: Object.entries(h.toObject()) };
}

/** What a context offers to property lookups. */
export interface PropertyScope {
  info: StreamInfo | undefined;
  requestHeaders: HeaderMap | undefined;
  responseHeaders: HeaderMap | undefined;
  responseTrailers: HeaderMap | undefined;
}

function requestProperty(s: PropertyScope, field: string): PropertyValue | undefined {
  const h = s.requestHeaders;
  const info = s.info!;
  switch (field) {
    case "path": return h?.get(":path") !== undefined ? str(h.get(":path")!) : undefined;
    case "url_path": { const p = h?.get(":path"); return p === undefined ? undefined : str(p.split("?")[0]!); }
    case "query": { const p = h?.get(":path"); if (p === undefined) return undefined; const i = p.indexOf("?"); return str(i < 0 ? "" : p.slice(i + 1)); }
    case "host": return h?.get(":authority") !== undefined ? str(h.get(":authority")!) : undefined;
    case "scheme": return h?.get(":scheme") !== undefined ? str(h.get(":scheme")!) : undefined;
    case "method": return h?.get(":method") !== undefined ? str(h.get(":method")!) : undefined;
    case "referer": return h?.get("referer") !== undefined ? str(h.get("referer")!) : undefined;
    case "useragent": return h?.get("user-agent") !== undefined ? str(h.get("user-agent")!) : undefined;
    case "id": return h?.get("x-request-id") !== undefined ? str(h.get("x-request-id")!) : undefined;
    case "headers": return headersValue(h);
    case "headers_bytes": return h ? int(h.byteSize()) : undefined;
    case "protocol": return str(info.protocol);
    case "time": return nanos(info.startTime);
    case "duration": return info.endTime !== undefined ? nanos(info.endTime - info.startTime) : undefined;
    case "size": return int(info.requestBodyBytes);
    case "total_size": return int(info.requestBodyBytes + (h?.byteSize() ?? 0));
    default: return undefined;
  }
}

function responseProperty(s: PropertyScope, field: string): PropertyValue | undefined {
  const info = s.info!;
  switch (field) {
    case "code": return info.responseCode ? int(info.responseCode) : undefined;
    case "code_details": return info.responseCodeDetails ? str(info.responseCodeDetails) : undefined;
    case "flags": return int(0);
    case "grpc_status": { const g = s.responseTrailers?.get("grpc-status") ?? s.responseHeaders?.get("grpc-status"); return g !== undefined ? int(Number(g)) : undefined; }
    case "headers": return headersValue(s.responseHeaders);
    case "headers_bytes": return s.responseHeaders ? int(s.responseHeaders.byteSize()) : undefined;
    case "trailers": return headersValue(s.responseTrailers);
    case "size": return int(info.responseBodyBytes);
    case "total_size": return int(info.responseBodyBytes + (s.responseHeaders?.byteSize() ?? 0));
    default: return undefined;
  }
}

function endpointProperty(e: { ip: string; port: number } | undefined, field: string): PropertyValue | undefined {
  if (!e) return undefined;
  if (field === "address") return str(`${e.ip}:${e.port}`);
  if (field === "port") return int(e.port);
  return undefined;
}

/**
 * Resolves a property for a context. Returns undefined for NOT_FOUND. `extra` values set by the
 * user (test API, `--property`) win over computed ones, so tests can pin any attribute.
 */
export function resolveProperty(ctx: HostContext, path: string[], scope: PropertyScope | undefined): PropertyValue | undefined {
  const key = path.join(".");
  const vmExtra = ctx.vm.runtime.services.properties.get(key);
  const info = scope?.info;
  const streamExtra = info?.extra.get(key);
  if (streamExtra !== undefined) return literalValue(streamExtra);
  const cfg = ctx.vm.runtime.config;
  const [first, second] = path;
  switch (first) {
    case "plugin_name": return str(cfg.name);
    case "plugin_root_id": return str(cfg.rootId);
    case "plugin_vm_id": return str(cfg.vmId);
  }
  if (vmExtra !== undefined) return literalValue(vmExtra);
  if (!info || !scope) {
    return undefined;
  }
  if (path.length === 2) {
    switch (first) {
      case "request": return requestProperty(scope, second!);
      case "response": return responseProperty(scope, second!);
      case "source": return endpointProperty(info.source, second!);
      case "destination": return endpointProperty(info.destination, second!);
      case "upstream": return endpointProperty(info.upstream, second!);
      case "connection":
        if (second === "id") return { kind: "uint", value: BigInt(info.connectionId) };
        if (second === "mtls") return { kind: "bool", value: info.mtls };
        if (second === "requested_server_name") return str(info.requestedServerName);
        return undefined;
    }
  }
  if (path.length === 1) {
    switch (first) {
      case "route_name": return info.routeName ? str(info.routeName) : undefined;
      case "cluster_name": return info.clusterName ? str(info.clusterName) : undefined;
      case "connection_id": return { kind: "uint", value: BigInt(info.connectionId) };
    }
  }
  // Any other name is looked up as filter state written by proxy_set_property.
  const fs = ctx.filterState(path.join("\0"));
  if (fs !== undefined && path.length === 1) return { kind: "bytes", value: fs };
  return undefined;
}
