// This proxy's node metadata, read key by key the way Istio's Wasm filters read it:
// `xds.node.metadata.<KEY>` (`node.metadata.<KEY>` on hosts older than Envoy 1.33, attributes.ts)
// for each key a FlatNode carries. String keys come back as text; LABELS and
// PLATFORM_METADATA are maps, which Envoy serializes as pairs (a host that answers with a protobuf
// Struct is understood too).
import { getProperty } from "pwasm/sdk";
import { hostAttribute } from "./attributes";
import { parsePairsStrict } from "./pairs";
import { decodeStructBuffer, PbStruct, PbValue, ValueKind } from "./pb_struct";

const STRING_KEYS: StaticArray<string> = [
  "NAME", "NAMESPACE", "OWNER", "WORKLOAD_NAME", "ISTIO_VERSION", "MESH_ID", "CLUSTER_ID",
  "APP_CONTAINERS", "INSTANCE_IPS",
];
const MAP_KEYS: StaticArray<string> = ["LABELS", "PLATFORM_METADATA"];

/** A map-valued property as a Struct of strings; null when absent or unreadable. */
export function readStringMap(path: Array<string>): PbStruct | null {
  const raw = getProperty(path);
  if (raw === null) return null;
  const pairs = parsePairsStrict(raw);
  if (pairs !== null) {
    const s = new PbStruct();
    for (let i = 0; i + 1 < pairs.length; i += 2) s.setString(unchecked(pairs[i]), unchecked(pairs[i + 1]));
    return s;
  }
  return decodeStructBuffer(raw);
}

/**
 * The local node metadata restricted to the FlatNode keys, as a Struct: strings that exist, and
 * the label maps when they hold at least one entry.
 */
export function readLocalNodeMetadata(): PbStruct {
  const out = new PbStruct();
  for (let i = 0; i < STRING_KEYS.length; i++) {
    const key = unchecked(STRING_KEYS[i]);
    const raw = getProperty(hostAttribute(["node", "metadata", key]));
    if (raw !== null) out.setString(key, String.UTF8.decode(raw));
  }
  for (let i = 0; i < MAP_KEYS.length; i++) {
    const key = unchecked(MAP_KEYS[i]);
    const m = readStringMap(hostAttribute(["node", "metadata", key]));
    if (m === null || m.size == 0) continue;
    // Only string values travel (FlatNode keeps strings).
    const clean = new PbStruct();
    for (let k = 0; k < m.keys.length; k++) {
      const v = unchecked(m.values[k]);
      clean.setString(unchecked(m.keys[k]), v.kind == ValueKind.String ? v.str : "");
    }
    out.set(key, PbValue.ofStruct(clean));
  }
  return out;
}
