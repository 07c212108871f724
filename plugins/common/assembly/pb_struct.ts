// google.protobuf.Struct in protobuf wire format (google/protobuf/struct.proto): encoding with
// deterministic field order (map keys sorted by their UTF-8 bytes, as protobuf's deterministic
// serialization does) and a strict, bounded decoder. Istio's metadata exchange carries node
// metadata this way in x-envoy-peer-metadata.
//
// Layout: Struct { map<string, Value> fields = 1 } (each entry a message { key = 1; value = 2 });
// Value { oneof kind: null_value = 1 (enum), number_value = 2 (double), string_value = 3,
// bool_value = 4, struct_value = 5 (Struct), list_value = 6 (ListValue) }; ListValue { values = 1 }.
import { compareBytes, isValidUtf8 } from "./bytes";

/** Which member of Value's `kind` oneof is set. */
export enum ValueKind {
  /** No member set (an empty Value message). */
  Unset = 0,
  Null = 1,
  Number = 2,
  String = 3,
  Bool = 4,
  Struct = 5,
  List = 6,
}

/** A google.protobuf.Value. */
export class PbValue {
  kind: ValueKind = ValueKind.Unset;
  str: string = "";
  num: f64 = 0;
  flag: bool = false;
  struct: PbStruct | null = null;
  list: Array<PbValue> | null = null;

  static ofString(s: string): PbValue {
    const v = new PbValue();
    v.kind = ValueKind.String;
    v.str = s;
    return v;
  }

  static ofStruct(s: PbStruct): PbValue {
    const v = new PbValue();
    v.kind = ValueKind.Struct;
    v.struct = s;
    return v;
  }

  static ofNumber(n: f64): PbValue {
    const v = new PbValue();
    v.kind = ValueKind.Number;
    v.num = n;
    return v;
  }

  static ofBool(b: bool): PbValue {
    const v = new PbValue();
    v.kind = ValueKind.Bool;
    v.flag = b;
    return v;
  }

  static ofNull(): PbValue {
    const v = new PbValue();
    v.kind = ValueKind.Null;
    return v;
  }

  static ofList(values: Array<PbValue>): PbValue {
    const v = new PbValue();
    v.kind = ValueKind.List;
    v.list = values;
    return v;
  }

  /** The string member, or "" for any other kind (protobuf's `string_value()` accessor). */
  stringValue(): string {
    return this.kind == ValueKind.String ? this.str : "";
  }
}

/** A google.protobuf.Struct: string keys (unique) to values, in insertion order. */
export class PbStruct {
  keys: Array<string> = new Array<string>();
  values: Array<PbValue> = new Array<PbValue>();

  get size(): i32 {
    return this.keys.length;
  }

  /** Sets `key`, replacing an existing entry (protobuf map semantics: the last entry wins). */
  set(key: string, value: PbValue): void {
    for (let i = 0; i < this.keys.length; i++) {
      if (unchecked(this.keys[i]) == key) {
        unchecked(this.values[i] = value);
        return;
      }
    }
    this.keys.push(key);
    this.values.push(value);
  }

  setString(key: string, value: string): void {
    this.set(key, PbValue.ofString(value));
  }

  /** The value of `key`, or null. */
  get(key: string): PbValue | null {
    for (let i = 0; i < this.keys.length; i++) {
      if (unchecked(this.keys[i]) == key) return unchecked(this.values[i]);
    }
    return null;
  }
}

// ---- encoding ---------------------------------------------------------------------------------

/** Bytes of `v` as a protobuf varint. */
export function varintSize(v: u64): i32 {
  let n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

// Sizes are computed first (so the output is allocated once), then bytes are written front to back.
// Keys are encoded to UTF-8 once and kept with their sort order in a plan tree that mirrors the
// Struct.
class StructPlan {
  constructor(
    public keyBytes: Array<ArrayBuffer>,
    public order: Array<i32>,
    public valuePlans: Array<ValuePlan>,
    public size: i32,
  ) {}
}

class ValuePlan {
  size: i32 = 0;
  strBytes: ArrayBuffer | null = null;
  struct: StructPlan | null = null;
  items: Array<ValuePlan> | null = null;
  itemsSize: i32 = 0;
}

function planValue(v: PbValue): ValuePlan {
  const p = new ValuePlan();
  switch (v.kind) {
    case ValueKind.Null: p.size = 2; break;
    case ValueKind.Number: p.size = 9; break;
    case ValueKind.Bool: p.size = 2; break;
    case ValueKind.String: {
      const b = String.UTF8.encode(v.str);
      p.strBytes = b;
      p.size = 1 + varintSize(<u64>b.byteLength) + b.byteLength;
      break;
    }
    case ValueKind.Struct: {
      const s = planStruct(changetype<PbStruct>(v.struct));
      p.struct = s;
      p.size = 1 + varintSize(<u64>s.size) + s.size;
      break;
    }
    case ValueKind.List: {
      const list = changetype<Array<PbValue>>(v.list);
      const items = new Array<ValuePlan>(list.length);
      let inner = 0;
      for (let i = 0; i < list.length; i++) {
        const ip = planValue(unchecked(list[i]));
        unchecked(items[i] = ip);
        inner += 1 + varintSize(<u64>ip.size) + ip.size;
      }
      p.items = items;
      p.itemsSize = inner;
      p.size = 1 + varintSize(<u64>inner) + inner;
      break;
    }
    default: p.size = 0;
  }
  return p;
}

function planStruct(s: PbStruct): StructPlan {
  const n = s.keys.length;
  const keyBytes = new Array<ArrayBuffer>(n);
  const order = new Array<i32>(n);
  const valuePlans = new Array<ValuePlan>(n);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const kb = String.UTF8.encode(unchecked(s.keys[i]));
    unchecked(keyBytes[i] = kb);
    unchecked(order[i] = i);
    const vp = planValue(unchecked(s.values[i]));
    unchecked(valuePlans[i] = vp);
    const entry = 1 + varintSize(<u64>kb.byteLength) + kb.byteLength + 1 + varintSize(<u64>vp.size) + vp.size;
    size += 1 + varintSize(<u64>entry) + entry;
  }
  // Insertion sort by key bytes: node metadata has a handful of keys.
  for (let i = 1; i < n; i++) {
    const cur = unchecked(order[i]);
    const ck = unchecked(keyBytes[cur]);
    let j = i - 1;
    while (j >= 0) {
      const ok = unchecked(keyBytes[unchecked(order[j])]);
      if (compareBytes(changetype<usize>(ok), <usize>ok.byteLength, changetype<usize>(ck), <usize>ck.byteLength) <= 0) break;
      unchecked(order[j + 1] = unchecked(order[j]));
      j--;
    }
    unchecked(order[j + 1] = cur);
  }
  return new StructPlan(keyBytes, order, valuePlans, size);
}

/** Writes `v` as a protobuf varint at `p`; returns the position after it. */
export function putVarint(p: usize, v: u64): usize {
  while (v >= 0x80) {
    store<u8>(p++, <u8>(v | 0x80));
    v >>= 7;
  }
  store<u8>(p++, <u8>v);
  return p;
}

/** Copies `b` to `p`; returns the position after it. */
export function putBytes(p: usize, b: ArrayBuffer): usize {
  const n = <usize>b.byteLength;
  memory.copy(p, changetype<usize>(b), n);
  return p + n;
}

function writeValue(p: usize, v: PbValue, plan: ValuePlan): usize {
  switch (v.kind) {
    case ValueKind.Null:
      store<u8>(p, 0x08);
      store<u8>(p + 1, 0);
      return p + 2;
    case ValueKind.Number:
      store<u8>(p, 0x11);
      store<f64>(p + 1, v.num);
      return p + 9;
    case ValueKind.Bool:
      store<u8>(p, 0x20);
      store<u8>(p + 1, v.flag ? 1 : 0);
      return p + 2;
    case ValueKind.String: {
      const b = changetype<ArrayBuffer>(plan.strBytes);
      store<u8>(p, 0x1a);
      p = putVarint(p + 1, <u64>b.byteLength);
      return putBytes(p, b);
    }
    case ValueKind.Struct: {
      const sp = changetype<StructPlan>(plan.struct);
      store<u8>(p, 0x2a);
      p = putVarint(p + 1, <u64>sp.size);
      return writeStruct(p, changetype<PbStruct>(v.struct), sp);
    }
    case ValueKind.List: {
      const list = changetype<Array<PbValue>>(v.list);
      const items = changetype<Array<ValuePlan>>(plan.items);
      store<u8>(p, 0x32);
      p = putVarint(p + 1, <u64>plan.itemsSize);
      for (let i = 0; i < list.length; i++) {
        const ip = unchecked(items[i]);
        store<u8>(p, 0x0a);
        p = putVarint(p + 1, <u64>ip.size);
        p = writeValue(p, unchecked(list[i]), ip);
      }
      return p;
    }
    default:
      return p;
  }
}

function writeStruct(p: usize, s: PbStruct, plan: StructPlan): usize {
  for (let k = 0; k < plan.order.length; k++) {
    const i = unchecked(plan.order[k]);
    const kb = unchecked(plan.keyBytes[i]);
    const vp = unchecked(plan.valuePlans[i]);
    const entry = 1 + varintSize(<u64>kb.byteLength) + kb.byteLength + 1 + varintSize(<u64>vp.size) + vp.size;
    store<u8>(p, 0x0a);
    p = putVarint(p + 1, <u64>entry);
    store<u8>(p, 0x0a);
    p = putVarint(p + 1, <u64>kb.byteLength);
    p = putBytes(p, kb);
    store<u8>(p, 0x12);
    p = putVarint(p + 1, <u64>vp.size);
    p = writeValue(p, unchecked(s.values[i]), vp);
  }
  return p;
}

/** Serializes a Struct deterministically: map entries sorted by key at every level. */
export function encodeStruct(s: PbStruct): ArrayBuffer {
  const plan = planStruct(s);
  const out = new ArrayBuffer(plan.size);
  writeStruct(changetype<usize>(out), s, plan);
  return out;
}

// ---- decoding ---------------------------------------------------------------------------------

/** Nesting limit of the decoder (Struct inside Value inside Struct …); node metadata uses 2. */
export const MAX_STRUCT_DEPTH: i32 = 16;

// A cursor over [pos, end). Any malformed input sets `bad`; callers check it and give up.
class Reader {
  bad: bool = false;
  constructor(public pos: usize, public end: usize) {}

  varint(): u64 {
    let result: u64 = 0;
    let shift: u64 = 0;
    while (true) {
      if (this.pos >= this.end || shift > 63) {
        this.bad = true;
        return 0;
      }
      const b = <u64>load<u8>(this.pos++);
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && b > 1) {
        this.bad = true;
        return 0;
      }
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  }

  /** Length prefix of a length-delimited field; sets `bad` when it runs past the end. */
  length(): usize {
    const n = this.varint();
    if (this.bad || n > <u64>(this.end - this.pos)) {
      this.bad = true;
      return 0;
    }
    return <usize>n;
  }
}

function decodeString(ptr: usize, len: usize): string | null {
  if (!isValidUtf8(ptr, len)) return null;
  return String.UTF8.decodeUnsafe(ptr, len);
}

function decodeValue(ptr: usize, len: usize, depth: i32): PbValue | null {
  const r = new Reader(ptr, ptr + len);
  const v = new PbValue();
  while (r.pos < r.end) {
    const tag = r.varint();
    if (r.bad) return null;
    const field = tag >> 3;
    const wire = <u32>(tag & 7);
    if (field == 1 && wire == 0) {
      r.varint();
      if (r.bad) return null;
      v.kind = ValueKind.Null;
    } else if (field == 2 && wire == 1) {
      if (r.end - r.pos < 8) return null;
      v.num = load<f64>(r.pos);
      r.pos += 8;
      v.kind = ValueKind.Number;
    } else if (field == 3 && wire == 2) {
      const n = r.length();
      if (r.bad) return null;
      const s = decodeString(r.pos, n);
      if (s === null) return null;
      v.str = s;
      r.pos += n;
      v.kind = ValueKind.String;
    } else if (field == 4 && wire == 0) {
      const b = r.varint();
      if (r.bad) return null;
      v.flag = b != 0;
      v.kind = ValueKind.Bool;
    } else if (field == 5 && wire == 2) {
      const n = r.length();
      if (r.bad || depth >= MAX_STRUCT_DEPTH) return null;
      const s = decodeStructAt(r.pos, n, depth + 1);
      if (s === null) return null;
      v.struct = s;
      r.pos += n;
      v.kind = ValueKind.Struct;
    } else if (field == 6 && wire == 2) {
      const n = r.length();
      if (r.bad || depth >= MAX_STRUCT_DEPTH) return null;
      const list = decodeList(r.pos, n, depth + 1);
      if (list === null) return null;
      v.list = list;
      r.pos += n;
      v.kind = ValueKind.List;
    } else {
      return null; // unknown field or wrong wire type
    }
  }
  return v;
}

function decodeList(ptr: usize, len: usize, depth: i32): Array<PbValue> | null {
  const r = new Reader(ptr, ptr + len);
  const out = new Array<PbValue>();
  while (r.pos < r.end) {
    const tag = r.varint();
    if (r.bad || tag != 0x0a) return null;
    const n = r.length();
    if (r.bad) return null;
    const v = decodeValue(r.pos, n, depth);
    if (v === null) return null;
    out.push(v);
    r.pos += n;
  }
  return out;
}

function decodeEntry(ptr: usize, len: usize, into: PbStruct, depth: i32): bool {
  const r = new Reader(ptr, ptr + len);
  let key = "";
  let value: PbValue | null = null;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (r.bad) return false;
    if (tag == 0x0a) {
      const n = r.length();
      if (r.bad) return false;
      const k = decodeString(r.pos, n);
      if (k === null) return false;
      key = k;
      r.pos += n;
    } else if (tag == 0x12) {
      const n = r.length();
      if (r.bad) return false;
      value = decodeValue(r.pos, n, depth);
      if (value === null) return false;
      r.pos += n;
    } else {
      return false;
    }
  }
  into.set(key, value !== null ? value : new PbValue());
  return true;
}

function decodeStructAt(ptr: usize, len: usize, depth: i32): PbStruct | null {
  const r = new Reader(ptr, ptr + len);
  const s = new PbStruct();
  while (r.pos < r.end) {
    const tag = r.varint();
    if (r.bad || tag != 0x0a) return null;
    const n = r.length();
    if (r.bad) return null;
    if (!decodeEntry(r.pos, n, s, depth)) return null;
    r.pos += n;
  }
  return s;
}

/**
 * Parses a serialized Struct. Strict: unknown fields, wrong wire types, truncated or overlong
 * lengths, invalid UTF-8 in strings and nesting deeper than {@link MAX_STRUCT_DEPTH} all give null.
 */
export function decodeStruct(ptr: usize, len: usize): PbStruct | null {
  return decodeStructAt(ptr, len, 0);
}

/** {@link decodeStruct} of a whole buffer. */
export function decodeStructBuffer(buf: ArrayBuffer): PbStruct | null {
  return decodeStructAt(changetype<usize>(buf), <usize>buf.byteLength, 0);
}
