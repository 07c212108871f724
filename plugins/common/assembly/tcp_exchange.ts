// Istio's TCP metadata exchange preamble (istio/proxy's `metadata_exchange` network filter, ALPN
// `istio-peer-exchange`): 4 bytes magic 0x3D230467 and 4 bytes payload length, both big-endian,
// then a google.protobuf.Any holding a Struct with two fields: `x-envoy-peer-metadata` (the node
// metadata Struct) and `x-envoy-peer-metadata-id` (the node id). docs/envoy/istio-telemetry.md,
// "TCP metadata exchange".
import { HEADER_PEER_METADATA, HEADER_PEER_METADATA_ID } from "./peer";
import { PbStruct, PbValue, ValueKind, decodeStruct, encodeStruct, putBytes, putVarint, varintSize } from "./pb_struct";

/** The preamble's magic number. */
export const TCP_EXCHANGE_MAGIC: u32 = 0x3d230467;
/** Magic and length. */
export const TCP_EXCHANGE_HEADER_BYTES: i32 = 8;
/** Largest payload accepted; a sidecar's is well under 2 KiB. */
export const TCP_EXCHANGE_MAX_PAYLOAD: u32 = 65536;
const STRUCT_TYPE_URL = "type.googleapis.com/google.protobuf.Struct";

function putU32BE(p: usize, v: u32): void {
  store<u32>(p, bswap<u32>(v));
}

/** The preamble a node sends: its metadata (may be empty) and id ("" = none). */
export function encodeTcpExchange(metadata: PbStruct, id: string): ArrayBuffer {
  const data = new PbStruct();
  data.set(HEADER_PEER_METADATA, PbValue.ofStruct(metadata));
  if (id.length > 0) data.setString(HEADER_PEER_METADATA_ID, id);
  const value = encodeStruct(data);
  const url = String.UTF8.encode(STRUCT_TYPE_URL);
  const anySize = 1 + varintSize(<u64>url.byteLength) + url.byteLength + 1 + varintSize(<u64>value.byteLength) + value.byteLength;
  const out = new ArrayBuffer(TCP_EXCHANGE_HEADER_BYTES + anySize);
  const base = changetype<usize>(out);
  putU32BE(base, TCP_EXCHANGE_MAGIC);
  putU32BE(base + 4, <u32>anySize);
  let p = base + TCP_EXCHANGE_HEADER_BYTES;
  store<u8>(p, 0x0a);
  p = putBytes(putVarint(p + 1, <u64>url.byteLength), url);
  store<u8>(p, 0x12);
  putBytes(putVarint(p + 1, <u64>value.byteLength), value);
  return out;
}

/** What the first bytes of a connection say. */
export enum TcpExchangeState {
  /** Too few bytes to tell: wait for more. */
  NeedMore = 0,
  /** Not a preamble (or a malformed one): the peer does not exchange metadata. */
  Absent = 1,
  /** A complete preamble: `consumed` bytes, the peer's metadata and id. */
  Found = 2,
}

/** The outcome of {@link readTcpExchange}. */
export class TcpExchangeRead {
  state: TcpExchangeState = TcpExchangeState.NeedMore;
  consumed: i32 = 0;
  metadata: PbStruct | null = null;
  id: string | null = null;
}

function readU32BE(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

// A varint inside [p, end); -1 when truncated or longer than 32 bits.
function readVarint32(p: usize, end: usize, out: usize): i64 {
  let v: u64 = 0;
  let shift: u64 = 0;
  while (p < end && shift < 35) {
    const b = <u64>load<u8>(p++);
    v |= (b & 0x7f) << shift;
    if (b < 0x80) {
      store<usize>(out, p);
      return v > 0xffffffff ? -1 : <i64>v;
    }
    shift += 7;
  }
  return -1;
}

/**
 * Reads a preamble at the start of `bytes`. A prefix of the magic number is NeedMore; anything
 * else that is not a complete, well-formed preamble within the size limit is Absent.
 */
export function readTcpExchange(bytes: ArrayBuffer, endOfStream: bool): TcpExchangeRead {
  const r = new TcpExchangeRead();
  const base = changetype<usize>(bytes);
  const len = bytes.byteLength;
  // The magic, byte by byte, so that a shorter read that could still be one waits.
  const have = len < 4 ? len : 4;
  for (let i = 0; i < have; i++) {
    if (load<u8>(base + i) != <u8>(TCP_EXCHANGE_MAGIC >> (24 - 8 * i))) {
      r.state = TcpExchangeState.Absent;
      return r;
    }
  }
  if (len < TCP_EXCHANGE_HEADER_BYTES) {
    r.state = endOfStream ? TcpExchangeState.Absent : TcpExchangeState.NeedMore;
    return r;
  }
  const size = readU32BE(base + 4);
  if (size > TCP_EXCHANGE_MAX_PAYLOAD) {
    r.state = TcpExchangeState.Absent;
    return r;
  }
  if (<u32>(len - TCP_EXCHANGE_HEADER_BYTES) < size) {
    r.state = endOfStream ? TcpExchangeState.Absent : TcpExchangeState.NeedMore;
    return r;
  }
  r.state = TcpExchangeState.Absent;
  // google.protobuf.Any: type_url (1) and value (2).
  let p = base + TCP_EXCHANGE_HEADER_BYTES;
  const end = p + size;
  let valuePtr: usize = 0;
  let valueLen: usize = 0;
  let typeOk = false;
  const cursor = memory.data(sizeof<usize>());
  while (p < end) {
    const tag = load<u8>(p++);
    if (tag != 0x0a && tag != 0x12) return r;
    const n = readVarint32(p, end, cursor);
    if (n < 0) return r;
    p = load<usize>(cursor);
    if (<u64>n > <u64>(end - p)) return r;
    if (tag == 0x0a) typeOk = String.UTF8.decodeUnsafe(p, <usize>n) == STRUCT_TYPE_URL;
    else {
      valuePtr = p;
      valueLen = <usize>n;
    }
    p += <usize>n;
  }
  if (!typeOk) return r;
  const data = decodeStruct(valuePtr, valueLen);
  if (data === null) return r;
  const md = data.get(HEADER_PEER_METADATA);
  if (md !== null && md.kind == ValueKind.Struct) r.metadata = md.struct;
  const id = data.get(HEADER_PEER_METADATA_ID);
  if (id !== null && id.kind == ValueKind.String && id.str.length > 0) r.id = id.str;
  r.consumed = TCP_EXCHANGE_HEADER_BYTES + <i32>size;
  r.state = TcpExchangeState.Found;
  return r;
}
