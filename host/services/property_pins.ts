// Property values a user pins by dotted path (`pwasm run --property`, the test API's
// setProperty), and how they relate to the attributes Envoy computes (docs/envoy/properties.md):
// - pins of the node (`node.id`, `node.metadata.NAME`, with or without `xds.`) and of the listener
//   (`listener_direction`, `listener_metadata.filter_metadata.<ns>.<key>`) change the node and
//   listener the host describes, so they show in `xds.node` read whole and answer where Envoy
//   answers those (the node everywhere, the listener in a stream only);
// - a pin under a name Envoy answered before 1.33 (`cluster_name`, `route_name`, …) answers its
//   `xds.` name (`xds.cluster_name`), never the old name, which Envoy 1.40 does not answer.
import type { LocalInfo } from "./host_services.js";
import type { JsonObject, JsonValue } from "../values/protobuf.js";
import type { PropertyLiteral } from "../values/property_values.js";

/** The top-level names Envoy < 1.33 answered that Envoy ≥ 1.33 answers only under `xds.`. */
export const LEGACY_XDS_NAMES: ReadonlySet<string> = new Set([
  "node", "cluster_name", "cluster_metadata", "route_name", "route_metadata", "upstream_host_metadata",
  "listener_direction", "listener_metadata",
]);

const LOCAL_PIN = /^(?:xds\.)?(node|listener_direction|listener_metadata)(?:\.|$)/;

/** True for a pin that describes the node or the listener (folded into the local info). */
export function isLocalInfoPin(dotted: string): boolean {
  return LOCAL_PIN.test(dotted);
}

/** For a path under `xds.<legacy name>`, the key a pin may also be stored under (without `xds.`). */
export function legacyPinKey(segments: readonly string[], dotted: string): string | undefined {
  return segments.length >= 2 && segments[0] === "xds" && LEGACY_XDS_NAMES.has(segments[1]!) ? dotted.slice(4) : undefined;
}

/** A pinned literal as a google.protobuf.Value (JSON): numbers, text, booleans, string maps. */
export function literalJson(v: PropertyLiteral): JsonValue {
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8");
  return Object.fromEntries(v);
}

// Sets obj[a][b]…[z] = value, making (or replacing non-object) intermediate objects.
function setIn(obj: JsonObject, keys: readonly string[], value: JsonValue): JsonObject {
  const [k, ...rest] = keys;
  if (k === undefined) return obj;
  if (rest.length === 0) return { ...obj, [k]: value };
  const inner = obj[k];
  const base = inner !== null && typeof inner === "object" && !Array.isArray(inner) ? inner : {};
  return { ...obj, [k]: setIn(base, rest, value) };
}

const DIRECTIONS: Record<string, number> = { unspecified: 0, inbound: 1, outbound: 2 };

/** The node and listener with the user's node and listener pins applied. */
export function localInfoWithPins(local: LocalInfo, pins: ReadonlyMap<string, PropertyLiteral>): LocalInfo {
  let node = local.node;
  let direction = local.listenerDirection;
  let listenerMetadata = local.listenerMetadata;
  for (const [path, value] of pins) {
    const m = LOCAL_PIN.exec(path);
    if (!m) continue;
    const rest = path.slice(m[0].length).split(".").filter((s) => s !== "");
    if (m[1] === "listener_direction") {
      if (typeof value === "number" || typeof value === "bigint") direction = Number(value);
      else if (typeof value === "string" && value in DIRECTIONS) direction = DIRECTIONS[value]!;
    } else if (m[1] === "listener_metadata") {
      // listener_metadata.filter_metadata.<ns>.<key>…
      if (rest[0] === "filter_metadata" && rest.length >= 3) {
        const [, ns, ...keys] = rest;
        listenerMetadata = { ...listenerMetadata, [ns!]: setIn(listenerMetadata[ns!] ?? {}, keys, literalJson(value)) };
      }
    } else if (rest[0] === "metadata" && rest.length >= 2) {
      node = { ...node, metadata: setIn(node.metadata ?? {}, rest.slice(1), literalJson(value)) };
    } else if (rest.length === 1 && typeof value === "string") {
      if (rest[0] === "id") node = { ...node, id: value };
      else if (rest[0] === "cluster") node = { ...node, cluster: value };
      else if (rest[0] === "user_agent_name") node = { ...node, userAgentName: value };
    } else if (rest[0] === "locality" && rest.length === 2 && typeof value === "string") {
      const field = { region: "region", zone: "zone", sub_zone: "subZone" }[rest[1]!];
      if (field) node = { ...node, locality: { ...node.locality, [field]: value } };
    }
  }
  return { node, listenerDirection: direction, listenerMetadata };
}

// The last fold per pin map: plugins read the node and the listener direction on every request,
// and pins rarely change, so the fold is redone only when the pins or the local info did.
interface Fold {
  base: LocalInfo;
  keys: string[];
  values: PropertyLiteral[];
  result: LocalInfo;
}
const FOLDS = new WeakMap<ReadonlyMap<string, PropertyLiteral>, Fold>();

function unchanged(f: Fold, base: LocalInfo, pins: ReadonlyMap<string, PropertyLiteral>): boolean {
  if (f.base !== base || f.keys.length !== pins.size) return false;
  let i = 0;
  for (const [k, v] of pins) {
    if (f.keys[i] !== k || !Object.is(f.values[i], v)) return false;
    i++;
  }
  return true;
}

/** localInfoWithPins, remembered until the pins or the local info change. */
export function cachedLocalInfoWithPins(local: LocalInfo, pins: ReadonlyMap<string, PropertyLiteral>): LocalInfo {
  const f = FOLDS.get(pins);
  if (f && unchanged(f, local, pins)) return f.result;
  const result = localInfoWithPins(local, pins);
  FOLDS.set(pins, { base: local, keys: [...pins.keys()], values: [...pins.values()], result });
  return result;
}
