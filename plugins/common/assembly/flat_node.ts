// Istio's FlatNode (istio/proxy extensions/common/node_info.fbs, namespace Wasm.Common): the
// FlatBuffer Istio's Wasm-era metadata exchange stored as filter state `wasm.downstream_peer` /
// `wasm.upstream_peer`, and its stats filter read. We keep the same bytes so peers written here are
// readable by anything that reads Istio's FlatNode, and FlatNodes written by Istio (native MX up to
// 1.23 kept this format) are readable here.
//
//   table KeyVal { key:string (key); value:string; }
//   table FlatNode { name, namespace, labels:[KeyVal], owner, workload_name,
//                    platform_metadata:[KeyVal], istio_version, mesh_id, app_containers:[string],
//                    cluster_id, instance_ips:[string], identity }   (field ids 0..11 in this order)
//
// FlatBuffers layout used here: u32 offset to the root table; a table starts with an i32 that, subtracted
// from the table's position, gives its vtable (u16 vtable size, u16 table size, u16 field offsets,
// 0 = absent); reference fields hold a u32 offset, relative to the field, to a string (u32 length,
// bytes, NUL) or a vector (u32 count, elements; table and string elements are u32 relative offsets).
import { compareBytes, isValidUtf8 } from "./bytes";
import { PbStruct, PbValue, ValueKind } from "./pb_struct";

/** Field ids of FlatNode. */
export namespace FlatNodeField {
  export const NAME: i32 = 0;
  export const NAMESPACE: i32 = 1;
  export const LABELS: i32 = 2;
  export const OWNER: i32 = 3;
  export const WORKLOAD_NAME: i32 = 4;
  export const PLATFORM_METADATA: i32 = 5;
  export const ISTIO_VERSION: i32 = 6;
  export const MESH_ID: i32 = 7;
  export const APP_CONTAINERS: i32 = 8;
  export const CLUSTER_ID: i32 = 9;
  export const INSTANCE_IPS: i32 = 10;
  export const IDENTITY: i32 = 11;
  export const COUNT: i32 = 12;
}

// ---- building ---------------------------------------------------------------------------------

// A growable byte buffer written front to back.
class ByteWriter {
  buf: ArrayBuffer;
  len: i32 = 0;

  constructor(capacity: i32) {
    this.buf = new ArrayBuffer(capacity);
  }

  reserve(n: i32): usize {
    const need = this.len + n;
    if (need > this.buf.byteLength) {
      let cap = this.buf.byteLength << 1;
      while (cap < need) cap <<= 1;
      const next = new ArrayBuffer(cap);
      memory.copy(changetype<usize>(next), changetype<usize>(this.buf), <usize>this.len);
      this.buf = next;
    }
    const at = changetype<usize>(this.buf) + <usize>this.len;
    this.len = need;
    return at;
  }

  align4(): void {
    while ((this.len & 3) != 0) store<u8>(this.reserve(1), 0);
  }

  u16(v: i32): void {
    store<u16>(this.reserve(2), <u16>v);
  }

  u32(v: i32): void {
    store<u32>(this.reserve(4), <u32>v);
  }

  setU32(pos: i32, v: i32): void {
    store<u32>(changetype<usize>(this.buf) + <usize>pos, <u32>v);
  }

  /** Points the u32 slot at `slot` to `target` (a later position). */
  link(slot: i32, target: i32): void {
    this.setU32(slot, target - slot);
  }

  /** Writes a string object (4-aligned) and returns its position. */
  string(bytes: ArrayBuffer): i32 {
    this.align4();
    const at = this.len;
    const n = bytes.byteLength;
    this.u32(n);
    const p = this.reserve(n + 1);
    memory.copy(p, changetype<usize>(bytes), <usize>n);
    store<u8>(p + <usize>n, 0);
    return at;
  }

  finish(): ArrayBuffer {
    this.align4();
    return this.buf.slice(0, this.len);
  }
}

/** A key/value pair as UTF-8, for sorting and writing. */
class KeyVal {
  constructor(public key: ArrayBuffer, public value: ArrayBuffer) {}
}

function sortKeyVals(kvs: Array<KeyVal>): void {
  for (let i = 1; i < kvs.length; i++) {
    const cur = unchecked(kvs[i]);
    let j = i - 1;
    while (j >= 0) {
      const o = unchecked(kvs[j]);
      if (compareBytes(changetype<usize>(o.key), <usize>o.key.byteLength, changetype<usize>(cur.key), <usize>cur.key.byteLength) <= 0) break;
      unchecked(kvs[j + 1] = o);
      j--;
    }
    unchecked(kvs[j + 1] = cur);
  }
}

/**
 * What goes into a FlatNode, as UTF-8: the string fields by id (null = absent) and the vectors.
 * Istio leaves a vector out when it is empty.
 */
export class FlatNodeInput {
  strings: Array<ArrayBuffer | null> = new Array<ArrayBuffer | null>(FlatNodeField.COUNT);
  labels: Array<KeyVal> = new Array<KeyVal>();
  platformMetadata: Array<KeyVal> = new Array<KeyVal>();
  appContainers: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  instanceIps: Array<ArrayBuffer> = new Array<ArrayBuffer>();

  setString(field: i32, value: string): void {
    unchecked(this.strings[field] = String.UTF8.encode(value));
  }

  addLabel(key: string, value: string): void {
    this.labels.push(new KeyVal(String.UTF8.encode(key), String.UTF8.encode(value)));
  }

  addPlatformMetadata(key: string, value: string): void {
    this.platformMetadata.push(new KeyVal(String.UTF8.encode(key), String.UTF8.encode(value)));
  }
}

function splitComma(s: string, into: Array<ArrayBuffer>): void {
  // Like absl::StrSplit(s, ','): an empty string is one empty element.
  let start = 0;
  while (true) {
    const i = s.indexOf(",", start);
    if (i < 0) {
      into.push(String.UTF8.encode(s.substring(start)));
      return;
    }
    into.push(String.UTF8.encode(s.substring(start, i)));
    start = i + 1;
  }
}

function addMap(value: PbValue, into: Array<KeyVal>): void {
  if (value.kind != ValueKind.Struct) return;
  const s = changetype<PbStruct>(value.struct);
  for (let i = 0; i < s.keys.length; i++) {
    into.push(new KeyVal(String.UTF8.encode(unchecked(s.keys[i])), String.UTF8.encode(unchecked(s.values[i]).stringValue())));
  }
}

/**
 * The FlatNode fields of node metadata given as a Struct, by Istio's rules: NAME, NAMESPACE, OWNER,
 * WORKLOAD_NAME, ISTIO_VERSION, MESH_ID, CLUSTER_ID (strings; a non-string value counts as ""),
 * LABELS and PLATFORM_METADATA (maps of strings), APP_CONTAINERS and INSTANCE_IPS (comma-separated
 * strings). Other keys are ignored.
 */
export function flatNodeInputFromStruct(s: PbStruct): FlatNodeInput {
  const input = new FlatNodeInput();
  for (let i = 0; i < s.keys.length; i++) {
    const k = unchecked(s.keys[i]);
    const v = unchecked(s.values[i]);
    if (k == "NAME") input.setString(FlatNodeField.NAME, v.stringValue());
    else if (k == "NAMESPACE") input.setString(FlatNodeField.NAMESPACE, v.stringValue());
    else if (k == "OWNER") input.setString(FlatNodeField.OWNER, v.stringValue());
    else if (k == "WORKLOAD_NAME") input.setString(FlatNodeField.WORKLOAD_NAME, v.stringValue());
    else if (k == "ISTIO_VERSION") input.setString(FlatNodeField.ISTIO_VERSION, v.stringValue());
    else if (k == "MESH_ID") input.setString(FlatNodeField.MESH_ID, v.stringValue());
    else if (k == "CLUSTER_ID") input.setString(FlatNodeField.CLUSTER_ID, v.stringValue());
    else if (k == "LABELS") addMap(v, input.labels);
    else if (k == "PLATFORM_METADATA") addMap(v, input.platformMetadata);
    else if (k == "APP_CONTAINERS") splitComma(v.stringValue(), input.appContainers);
    else if (k == "INSTANCE_IPS") splitComma(v.stringValue(), input.instanceIps);
  }
  return input;
}

function writeStringVector(w: ByteWriter, items: Array<ArrayBuffer>): i32 {
  w.align4();
  const at = w.len;
  w.u32(items.length);
  const slots = w.len;
  for (let i = 0; i < items.length; i++) w.u32(0);
  for (let i = 0; i < items.length; i++) {
    const s = w.string(unchecked(items[i]));
    w.link(slots + i * 4, s);
  }
  return at;
}

function writeKeyValVector(w: ByteWriter, kvs: Array<KeyVal>): i32 {
  sortKeyVals(kvs);
  // One vtable shared by every KeyVal: size 8, table size 12, key at 4, value at 8.
  w.align4();
  const vtable = w.len;
  w.u16(8);
  w.u16(12);
  w.u16(4);
  w.u16(8);
  const at = w.len;
  w.u32(kvs.length);
  const slots = w.len;
  for (let i = 0; i < kvs.length; i++) w.u32(0);
  const tables = new Array<i32>(kvs.length);
  for (let i = 0; i < kvs.length; i++) {
    const t = w.len;
    unchecked(tables[i] = t);
    w.link(slots + i * 4, t);
    w.u32(t - vtable); // soffset: table position minus vtable position
    w.u32(0);
    w.u32(0);
  }
  for (let i = 0; i < kvs.length; i++) {
    const t = unchecked(tables[i]);
    const kv = unchecked(kvs[i]);
    w.link(t + 4, w.string(kv.key));
    w.link(t + 8, w.string(kv.value));
  }
  return at;
}

/** Serializes a FlatNode. Empty vectors are left out, as Istio does. */
export function buildFlatNode(input: FlatNodeInput): ArrayBuffer {
  const w = new ByteWriter(256);
  // Which fields are present, and the highest one (the vtable stops there).
  const present = new StaticArray<bool>(FlatNodeField.COUNT);
  let top = -1;
  for (let f = 0; f < FlatNodeField.COUNT; f++) {
    let has = unchecked(input.strings[f]) !== null;
    if (f == FlatNodeField.LABELS) has = input.labels.length > 0;
    else if (f == FlatNodeField.PLATFORM_METADATA) has = input.platformMetadata.length > 0;
    else if (f == FlatNodeField.APP_CONTAINERS) has = input.appContainers.length > 0;
    else if (f == FlatNodeField.INSTANCE_IPS) has = input.instanceIps.length > 0;
    unchecked(present[f] = has);
    if (has) top = f;
  }
  const fields = top + 1;
  w.u32(0); // root offset, patched below
  // vtable: sizes, then each field's offset within the table (4 + 4 * slot).
  const vtable = w.len;
  let slot = 0;
  w.u16(4 + 2 * fields);
  let count = 0;
  for (let f = 0; f < fields; f++) if (unchecked(present[f])) count++;
  w.u16(4 + 4 * count);
  for (let f = 0; f < fields; f++) {
    if (unchecked(present[f])) {
      w.u16(4 + 4 * slot);
      slot++;
    } else {
      w.u16(0);
    }
  }
  w.align4();
  const table = w.len;
  w.link(0, table);
  w.u32(table - vtable);
  for (let i = 0; i < count; i++) w.u32(0);
  slot = 0;
  for (let f = 0; f < fields; f++) {
    if (!unchecked(present[f])) continue;
    const fieldPos = table + 4 + 4 * slot;
    slot++;
    let target: i32;
    if (f == FlatNodeField.LABELS) target = writeKeyValVector(w, input.labels);
    else if (f == FlatNodeField.PLATFORM_METADATA) target = writeKeyValVector(w, input.platformMetadata);
    else if (f == FlatNodeField.APP_CONTAINERS) target = writeStringVector(w, input.appContainers);
    else if (f == FlatNodeField.INSTANCE_IPS) target = writeStringVector(w, input.instanceIps);
    else target = w.string(changetype<ArrayBuffer>(unchecked(input.strings[f])));
    w.link(fieldPos, target);
  }
  return w.finish();
}

/** A FlatNode with no fields (Istio's "empty node"). */
export function emptyFlatNode(): ArrayBuffer {
  return buildFlatNode(new FlatNodeInput());
}

// ---- reading ----------------------------------------------------------------------------------
// Every read is bounds-checked: filter state may hold anything, and a bad buffer must read as
// "absent", never trap.

/** A read-only view of a FlatNode in a buffer. `valid` is false when the root table is unusable. */
export class FlatNodeView {
  readonly base: usize;
  readonly size: usize;
  table: usize = 0;
  vtable: usize = 0;
  vtableSize: usize = 0;
  valid: bool = false;

  constructor(public readonly buf: ArrayBuffer) {
    this.base = changetype<usize>(buf);
    this.size = <usize>buf.byteLength;
    this.locateRoot();
  }

  private locateRoot(): void {
    if (this.size < 8) return;
    const rootOff = <usize>load<u32>(this.base);
    if (rootOff > this.size - 4 || (rootOff & 3) != 0) return;
    const t = rootOff;
    const so = <i64>load<i32>(this.base + t);
    const vt = <i64>t - so;
    if (vt < 0 || vt > <i64>this.size - 4 || (vt & 1) != 0) return;
    const vsize = <usize>load<u16>(this.base + <usize>vt);
    if (vsize < 4 || (vsize & 1) != 0 || <usize>vt + vsize > this.size) return;
    const tsize = <usize>load<u16>(this.base + <usize>vt + 2);
    if (t + tsize > this.size) return;
    this.table = t;
    this.vtable = <usize>vt;
    this.vtableSize = vsize;
    this.valid = true;
  }

  // Position of the referenced object of field `f`, or 0 when absent or out of bounds.
  private ref(f: i32): usize {
    if (!this.valid) return 0;
    return refAt(this.base, this.size, this.table, this.vtable, this.vtableSize, f);
  }

  /** True when field `f` is set (whatever its content). */
  has(f: i32): bool {
    return this.ref(f) != 0;
  }

  /** Position and length of string field `f`; returns false when absent or malformed. */
  stringField(f: i32): bool {
    const at = this.ref(f);
    return at != 0 && stringAt(this.base, this.size, at);
  }

  /** String field `f` decoded, or null when absent or malformed. */
  getString(f: i32): string | null {
    if (!this.stringField(f)) return null;
    return String.UTF8.decodeUnsafe(this.base + lastPtr, lastLen);
  }

  /** Number of elements of vector field `f` (0 when absent or malformed). */
  vectorLength(f: i32): i32 {
    const at = this.ref(f);
    if (at == 0) return 0;
    const n = <usize>load<u32>(this.base + at);
    if (n > (this.size - at - 4) / 4) return 0;
    return <i32>n;
  }

  /** Position of element `i` of a vector of tables or strings, or 0. */
  element(f: i32, i: i32): usize {
    const at = this.ref(f);
    if (at == 0) return 0;
    const n = <usize>load<u32>(this.base + at);
    if (n > (this.size - at - 4) / 4 || <usize>i >= n) return 0;
    const slot = at + 4 + <usize>i * 4;
    const off = <usize>load<u32>(this.base + slot);
    if (off == 0 || off > this.size - slot || slot + off > this.size - 4) return 0;
    return slot + off;
  }

  /** Element `i` of a vector of strings, decoded, or null. */
  getStringElement(f: i32, i: i32): string | null {
    const at = this.element(f, i);
    if (at == 0 || !stringAt(this.base, this.size, at)) return null;
    return String.UTF8.decodeUnsafe(this.base + lastPtr, lastLen);
  }

  /** Reads field `sub` (0 key, 1 value) of the KeyVal table at element `i` of vector `f`; false if malformed. */
  keyValField(f: i32, i: i32, sub: i32): bool {
    const t = this.element(f, i);
    if (t == 0 || (t & 3) != 0) return false;
    const so = <i64>load<i32>(this.base + t);
    const vt = <i64>t - so;
    if (vt < 0 || vt > <i64>this.size - 4 || (vt & 1) != 0) return false;
    const vsize = <usize>load<u16>(this.base + <usize>vt);
    if (vsize < 4 || <usize>vt + vsize > this.size) return false;
    const at = refAt(this.base, this.size, t, <usize>vt, vsize, sub);
    return at != 0 && stringAt(this.base, this.size, at);
  }

  /**
   * The value of the KeyVal with key `key` in vector field `f` (labels, platform metadata), or null.
   * A linear scan, so a vector that is not sorted still answers.
   */
  lookup(f: i32, key: ArrayBuffer): string | null {
    const n = this.vectorLength(f);
    const kp = changetype<usize>(key);
    const kl = <usize>key.byteLength;
    for (let i = 0; i < n; i++) {
      if (!this.keyValField(f, i, 0)) continue;
      if (compareBytes(this.base + lastPtr, lastLen, kp, kl) != 0) continue;
      if (!this.keyValField(f, i, 1)) return null;
      return String.UTF8.decodeUnsafe(this.base + lastPtr, lastLen);
    }
    return null;
  }

  /** Key of KeyVal element `i` of vector `f`, or null. */
  keyAt(f: i32, i: i32): string | null {
    if (!this.keyValField(f, i, 0)) return null;
    return String.UTF8.decodeUnsafe(this.base + lastPtr, lastLen);
  }

  /** Value of KeyVal element `i` of vector `f`, or null. */
  valueAt(f: i32, i: i32): string | null {
    if (!this.keyValField(f, i, 1)) return null;
    return String.UTF8.decodeUnsafe(this.base + lastPtr, lastLen);
  }
}

// Results of the last successful stringAt (offset from the buffer base, length): module globals
// instead of a returned object keep reads allocation-free.
let lastPtr: usize = 0;
let lastLen: usize = 0;

function refAt(base: usize, size: usize, table: usize, vtable: usize, vsize: usize, f: i32): usize {
  const entry: usize = 4 + <usize>f * 2;
  if (entry + 2 > vsize) return 0;
  const fo = <usize>load<u16>(base + vtable + entry);
  if (fo == 0) return 0;
  const slot = table + fo;
  if (slot > size - 4) return 0;
  const off = <usize>load<u32>(base + slot);
  if (off == 0 || off > size - slot) return 0;
  const at = slot + off;
  if (at > size - 4) return 0;
  return at;
}

function stringAt(base: usize, size: usize, at: usize): bool {
  const n = <usize>load<u32>(base + at);
  if (n > size - at - 4) return false;
  if (!isValidUtf8(base + at + 4, n)) return false;
  lastPtr = at + 4;
  lastLen = n;
  return true;
}
