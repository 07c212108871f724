// The per-node label values Istio derives from node metadata (map_node in Istio's stats plugin):
// workload, namespace, app, version, canonical service and revision, cluster. Built for this
// proxy once, and for peers from the FlatNode the metadata-exchange plugin stored, or from the
// `istio.workload` endpoint metadata istiod sets on upstream hosts.
import { sameBytes } from "../../common/assembly/bytes";
import { FlatNodeField, FlatNodeView } from "../../common/assembly/flat_node";
import { PbStruct, ValueKind } from "../../common/assembly/pb_struct";
import { LABEL_APP, LABEL_CANONICAL_NAME, LABEL_CANONICAL_REVISION, LABEL_VERSION } from "../../common/assembly/peer";

const LATEST = "latest";

/** Label values of one node ("" = not known; the reporter turns it into `unknown`). */
export class NodeDims {
  workload: string = "";
  namespace: string = "";
  app: string = "";
  version: string = "";
  canonicalService: string = "";
  canonicalRevision: string = LATEST;
  cluster: string = "";
}

/** A node with no metadata: every label unknown, revision `latest`. */
export const EMPTY_NODE: NodeDims = new NodeDims();

// Label keys as UTF-8, for lookups inside FlatNode buffers.
const KEY_APP = String.UTF8.encode(LABEL_APP);
const KEY_VERSION = String.UTF8.encode(LABEL_VERSION);
const KEY_CANONICAL_NAME = String.UTF8.encode(LABEL_CANONICAL_NAME);
const KEY_CANONICAL_REVISION = String.UTF8.encode(LABEL_CANONICAL_REVISION);

function orEmpty(s: string | null): string {
  return s !== null ? s : "";
}

/**
 * A peer's labels from a FlatNode. With a labels vector, a missing canonical name falls back to
 * the workload name and a missing canonical revision to `latest`; without one, both stay unknown
 * (revision `latest`).
 */
export function nodeDimsFromFlatNode(view: FlatNodeView): NodeDims {
  const d = new NodeDims();
  if (!view.valid) return d;
  d.workload = orEmpty(view.getString(FlatNodeField.WORKLOAD_NAME));
  d.namespace = orEmpty(view.getString(FlatNodeField.NAMESPACE));
  d.cluster = orEmpty(view.getString(FlatNodeField.CLUSTER_ID));
  if (view.has(FlatNodeField.LABELS)) {
    d.app = orEmpty(view.lookup(FlatNodeField.LABELS, KEY_APP));
    d.version = orEmpty(view.lookup(FlatNodeField.LABELS, KEY_VERSION));
    const cs = view.lookup(FlatNodeField.LABELS, KEY_CANONICAL_NAME);
    d.canonicalService = cs !== null ? cs : d.workload;
    const cr = view.lookup(FlatNodeField.LABELS, KEY_CANONICAL_REVISION);
    d.canonicalRevision = cr !== null ? cr : LATEST;
  }
  return d;
}

function structString(s: PbStruct, key: string): string {
  const v = s.get(key);
  return v !== null ? v.stringValue() : "";
}

/**
 * This proxy's labels from its node metadata. Istio always gives the local node a labels vector,
 * so the canonical name falls back to the workload name even without LABELS.
 */
export function nodeDimsFromLocal(metadata: PbStruct): NodeDims {
  const d = new NodeDims();
  d.workload = structString(metadata, "WORKLOAD_NAME");
  d.namespace = structString(metadata, "NAMESPACE");
  d.cluster = structString(metadata, "CLUSTER_ID");
  const labels = metadata.get("LABELS");
  let app = "", version = "";
  let cs: string | null = null, cr: string | null = null;
  if (labels !== null && labels.kind == ValueKind.Struct) {
    const s = changetype<PbStruct>(labels.struct);
    const a = s.get(LABEL_APP);
    if (a !== null) app = a.stringValue();
    const v = s.get(LABEL_VERSION);
    if (v !== null) version = v.stringValue();
    const n = s.get(LABEL_CANONICAL_NAME);
    if (n !== null) cs = n.stringValue();
    const r = s.get(LABEL_CANONICAL_REVISION);
    if (r !== null) cr = r.stringValue();
  }
  d.app = app;
  d.version = version;
  d.canonicalService = cs !== null ? cs : d.workload;
  d.canonicalRevision = cr !== null ? cr : LATEST;
  return d;
}

/**
 * A peer from upstream host metadata `istio.workload`:
 * `workload_name;namespace;canonical_service;canonical_revision;cluster_id` (at least 5 parts,
 * else null), as istiod writes it on endpoints.
 */
export function nodeDimsFromWorkloadString(s: string): NodeDims | null {
  const parts = s.split(";");
  if (parts.length < 5) return null;
  const d = new NodeDims();
  d.workload = parts[0];
  d.namespace = parts[1];
  d.canonicalService = parts[2].length > 0 ? parts[2] : d.workload;
  d.canonicalRevision = parts[3].length > 0 ? parts[3] : LATEST;
  d.cluster = parts[4];
  return d;
}

// Recently seen peers: most traffic of a pod comes from a few peers, so decoding each FlatNode once
// keeps the per-request cost to a byte comparison.
const MEMO_SIZE = 8;

/** A small cache from FlatNode bytes (or workload strings) to their labels. */
export class NodeDimsMemo {
  private keys: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(MEMO_SIZE);
  private values: StaticArray<NodeDims | null> = new StaticArray<NodeDims | null>(MEMO_SIZE);
  private strKeys: StaticArray<string | null> = new StaticArray<string | null>(MEMO_SIZE);
  private strValues: StaticArray<NodeDims | null> = new StaticArray<NodeDims | null>(MEMO_SIZE);
  private next: i32 = 0;
  private strNext: i32 = 0;

  fromFlatNode(bytes: ArrayBuffer): NodeDims {
    for (let i = 0; i < MEMO_SIZE; i++) {
      const k = unchecked(this.keys[i]);
      if (k !== null && sameBytes(k, bytes)) return changetype<NodeDims>(unchecked(this.values[i]));
    }
    const d = nodeDimsFromFlatNode(new FlatNodeView(bytes));
    unchecked(this.keys[this.next] = bytes);
    unchecked(this.values[this.next] = d);
    this.next = (this.next + 1) % MEMO_SIZE;
    return d;
  }

  fromWorkload(s: string): NodeDims | null {
    for (let i = 0; i < MEMO_SIZE; i++) {
      const k = unchecked(this.strKeys[i]);
      if (k !== null && k == s) return unchecked(this.strValues[i]);
    }
    const d = nodeDimsFromWorkloadString(s);
    unchecked(this.strKeys[this.strNext] = s);
    unchecked(this.strValues[this.strNext] = d);
    this.strNext = (this.strNext + 1) % MEMO_SIZE;
    return d;
  }
}
