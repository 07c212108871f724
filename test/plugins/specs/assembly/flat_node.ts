// Spec module of plugins/common/assembly/flat_node.ts: node metadata (a serialized Struct) becomes a
// FlatNode by Istio's rules, and any buffer is read back field by field, as the stats plugin reads
// a peer, so vitest checks both against the flatbuffers library.
import { buildFlatNode, emptyFlatNode, FlatNodeField, FlatNodeView, flatNodeInputFromStruct } from "../../../../plugins/common/assembly/flat_node";
import { decodeStructBuffer } from "../../../../plugins/common/assembly/pb_struct";
import { quote } from "./text";

/** The FlatNode of serialized node metadata; an empty buffer when the Struct is refused. */
export function fromStruct(bytes: ArrayBuffer): ArrayBuffer {
  const s = decodeStructBuffer(bytes);
  return s === null ? new ArrayBuffer(0) : buildFlatNode(flatNodeInputFromStruct(s));
}

export function empty(): ArrayBuffer {
  return emptyFlatNode();
}

const STRINGS: StaticArray<string> = ["name", "namespace", "owner", "workload_name", "istio_version", "mesh_id", "cluster_id", "identity"];
const STRING_IDS: StaticArray<i32> = [
  FlatNodeField.NAME, FlatNodeField.NAMESPACE, FlatNodeField.OWNER, FlatNodeField.WORKLOAD_NAME,
  FlatNodeField.ISTIO_VERSION, FlatNodeField.MESH_ID, FlatNodeField.CLUSTER_ID, FlatNodeField.IDENTITY,
];

function orNull(s: string | null): string {
  return s === null ? "null" : quote(s);
}

/** Every field of a FlatNode as JSON (absent fields left out; an unreadable entry as null), or "!" when the buffer is not a FlatNode. */
export function read(bytes: ArrayBuffer): string {
  const v = new FlatNodeView(bytes);
  if (!v.valid) return "!";
  const parts = new Array<string>();
  for (let i = 0; i < STRINGS.length; i++) {
    if (v.has(STRING_IDS[i])) parts.push(quote(STRINGS[i]) + ":" + orNull(v.getString(STRING_IDS[i])));
  }
  const maps: StaticArray<i32> = [FlatNodeField.LABELS, FlatNodeField.PLATFORM_METADATA];
  const mapNames: StaticArray<string> = ["labels", "platform_metadata"];
  for (let m = 0; m < 2; m++) {
    const f = maps[m];
    if (!v.has(f)) continue;
    const entries = new Array<string>();
    for (let i = 0; i < v.vectorLength(f); i++) entries.push("[" + orNull(v.keyAt(f, i)) + "," + orNull(v.valueAt(f, i)) + "]");
    parts.push(quote(mapNames[m]) + ":[" + entries.join(",") + "]");
  }
  const lists: StaticArray<i32> = [FlatNodeField.APP_CONTAINERS, FlatNodeField.INSTANCE_IPS];
  const listNames: StaticArray<string> = ["app_containers", "instance_ips"];
  for (let l = 0; l < 2; l++) {
    const f = lists[l];
    if (!v.has(f)) continue;
    const items = new Array<string>();
    for (let i = 0; i < v.vectorLength(f); i++) items.push(orNull(v.getStringElement(f, i)));
    parts.push(quote(listNames[l]) + ":[" + items.join(",") + "]");
  }
  return "{" + parts.join(",") + "}";
}

/** The value of map entry `key` (UTF-8 text) in labels (0) or platform_metadata (1), or "!" when absent. */
export function lookup(bytes: ArrayBuffer, map: i32, key: string): string {
  const v = new FlatNodeView(bytes);
  const s = v.lookup(map == 0 ? FlatNodeField.LABELS : FlatNodeField.PLATFORM_METADATA, String.UTF8.encode(key));
  return s === null ? "!" : s;
}
