// Names of the attributes that come from Envoy's xDS configuration: the node, the listener
// direction and metadata, the cluster, the route, the upstream host's metadata. Envoy ≥ 1.33
// answers them under `xds.` (`xds.node`, `xds.cluster_name`, …) and NOT_FOUND under the old
// top-level names (`node`, `cluster_name`, …); older hosts (Envoy < 1.33, the proxies of Istio ≤
// 1.23) answer only the old names. Which of the two a host speaks is decided once per VM, from the
// node id — the one xDS attribute every context answers, the root's on_configure included — and
// never per request (docs/envoy/istio-telemetry.md, "Attribute names").
import { proxy_get_property } from "pwasm/sdk/imports";
import { OUT_LEN, OUT_PTR, dropBuffer } from "pwasm/sdk/memory";
import { serializePath, WasmResult } from "pwasm/sdk";
import { PropertyPath } from "./property";

/** The old top-level names Envoy ≥ 1.33 answers only under `xds.`. */
const LEGACY_XDS_NAMES: StaticArray<string> = [
  "node", "cluster_name", "cluster_metadata", "route_name", "route_metadata", "listener_direction",
  "listener_metadata", "upstream_host_metadata",
];

/** -1 not decided yet, 1 the host answers `xds.*`, 0 it answers the old names. */
let xdsNaming: i32 = -1;

function answers(path: Array<string>): bool {
  const p = serializePath(path);
  if (proxy_get_property(changetype<usize>(p), <usize>p.byteLength, OUT_PTR, OUT_LEN) != WasmResult.Ok) return false;
  dropBuffer();
  return true;
}

/**
 * True when the host answers xDS attributes under `xds.` (Envoy ≥ 1.33, pwasm). Decided on the first
 * call: `xds.node.id` answered → yes; else `node.id` answered → no (an older host); else yes.
 */
export function hostUsesXdsNames(): bool {
  if (xdsNaming < 0) xdsNaming = answers(["xds", "node", "id"]) || !answers(["node", "id"]) ? 1 : 0;
  return xdsNaming == 1;
}

/**
 * An attribute path under the name this host answers: `["cluster_name"]` is read as
 * `xds.cluster_name` on Envoy ≥ 1.33, `["xds", "cluster_name"]` as `cluster_name` on an older host.
 * Paths that are not xDS attributes come back unchanged.
 */
export function hostAttribute(segments: Array<string>): Array<string> {
  if (segments.length == 0) return segments;
  const first = unchecked(segments[0]);
  if (hostUsesXdsNames()) {
    if (!LEGACY_XDS_NAMES.includes(first)) return segments;
    const out = new Array<string>(segments.length + 1);
    unchecked(out[0] = "xds");
    for (let i = 0; i < segments.length; i++) unchecked(out[i + 1] = unchecked(segments[i]));
    return out;
  }
  if (first == "xds" && segments.length > 1 && LEGACY_XDS_NAMES.includes(unchecked(segments[1]))) return segments.slice(1);
  return segments;
}

/** A property path for an xDS attribute, given by its old name (`["node", "id"]`), under the name this host answers. */
export function xdsPath(segments: Array<string>): PropertyPath {
  return new PropertyPath(hostAttribute(segments));
}
