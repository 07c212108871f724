// Istio's FlatNode (extensions/common/node_info.fbs) read and written with the official flatbuffers
// library, independently of the plugins' AssemblyScript code: what the metadata-exchange plugin
// stores must read back here, and peers built here must be understood by the stats plugin.
import * as flatbuffers from "flatbuffers";

/** FlatNode fields as plain values (absent fields are undefined). */
export interface FlatNodeObject {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  owner?: string;
  workload_name?: string;
  platform_metadata?: Record<string, string>;
  istio_version?: string;
  mesh_id?: string;
  app_containers?: string[];
  cluster_id?: string;
  instance_ips?: string[];
  identity?: string;
}

// Field ids in schema order; the vtable entry of field i is at 4 + 2i.
const FIELDS = [
  "name", "namespace", "labels", "owner", "workload_name", "platform_metadata", "istio_version",
  "mesh_id", "app_containers", "cluster_id", "instance_ips", "identity",
] as const;
const MAPS = new Set(["labels", "platform_metadata"]);
const LISTS = new Set(["app_containers", "instance_ips"]);

/** Reads a FlatNode; absent fields are left out of the result. */
export function readFlatNode(bytes: Uint8Array): FlatNodeObject {
  const bb = new flatbuffers.ByteBuffer(bytes);
  const root = bb.readInt32(bb.position()) + bb.position();
  const out: Record<string, unknown> = {};
  FIELDS.forEach((field, i) => {
    const o = bb.__offset(root, 4 + 2 * i);
    if (!o) return;
    if (MAPS.has(field)) {
      const vec = bb.__vector(root + o);
      const n = bb.__vector_len(root + o);
      const map: Record<string, string> = {};
      for (let k = 0; k < n; k++) {
        const kv = bb.__indirect(vec + 4 * k);
        const ko = bb.__offset(kv, 4);
        const vo = bb.__offset(kv, 6);
        map[ko ? (bb.__string(kv + ko) as string) : ""] = vo ? (bb.__string(kv + vo) as string) : "";
      }
      out[field] = map;
    } else if (LISTS.has(field)) {
      const vec = bb.__vector(root + o);
      const n = bb.__vector_len(root + o);
      out[field] = Array.from({ length: n }, (_, k) => bb.__string(vec + 4 * k) as string);
    } else {
      out[field] = bb.__string(root + o) as string;
    }
  });
  return out as FlatNodeObject;
}

/** Writes a FlatNode as flatbuffers' builder does (labels sorted by key, as CreateVectorOfSortedTables). */
export function writeFlatNode(node: FlatNodeObject): Uint8Array {
  const b = new flatbuffers.Builder(256);
  const offsets: Array<number | undefined> = FIELDS.map((field) => {
    const v = node[field];
    if (v === undefined) return undefined;
    if (MAPS.has(field)) {
      const entries = Object.entries(v as Record<string, string>).sort(([a], [c]) => Buffer.compare(Buffer.from(a), Buffer.from(c)));
      const tables = entries.map(([k, val]) => {
        const ko = b.createString(k);
        const vo = b.createString(val);
        b.startObject(2);
        b.addFieldOffset(0, ko, 0);
        b.addFieldOffset(1, vo, 0);
        return b.endObject();
      });
      b.startVector(4, tables.length, 4);
      for (let i = tables.length - 1; i >= 0; i--) b.addOffset(tables[i]!);
      return b.endVector();
    }
    if (LISTS.has(field)) {
      const strings = (v as string[]).map((s) => b.createString(s));
      b.startVector(4, strings.length, 4);
      for (let i = strings.length - 1; i >= 0; i--) b.addOffset(strings[i]!);
      return b.endVector();
    }
    return b.createString(v as string);
  });
  b.startObject(FIELDS.length);
  offsets.forEach((o, i) => {
    if (o !== undefined) b.addFieldOffset(i, o, 0);
  });
  b.finish(b.endObject());
  return b.asUint8Array();
}
