// metadata-exchange: Istio's peer metadata exchange, wire-compatible with Istio sidecars.
//
// HTTP (envoy.filters.http.wasm): each side of a call tells the other who it is with two headers:
// x-envoy-peer-metadata (base64 of the deterministic protobuf google.protobuf.Struct of this node's
// metadata) and x-envoy-peer-metadata-id (this node's id). Received headers are removed before the
// application sees them and the peer is stored in filter state as an Istio FlatNode, for the stats
// plugin. Direction comes from Envoy's `xds.listener_direction`, read per stream (Envoy answers it
// per stream, not at on_configure): outbound sends on requests, inbound answers on responses (only
// to callers that sent theirs).
//
// TCP (envoy.filters.network.wasm): the same Struct and id in Istio's TCP exchange preamble
// (tcp_exchange.ts), carried in band. Inbound, a connection that opens with the preamble has it
// removed, and the server's first bytes back carry this node's; outbound, with "tcp_exchange":
// true, the client's first bytes carry this node's preamble and the server's is read and removed.
//
// Configuration (optional): {"max_peer_cache_size": N, "tcp_exchange": true|false}.
import {
  Action, BufferType, HttpContext, RootContext, getBufferBytes, logDebug, logWarn, setBufferBytes,
} from "pwasm/sdk";
import { xdsPath } from "../../common/assembly/attributes";
import { base64Decode, base64EncodeBuffer } from "../../common/assembly/base64";
import { buildFlatNode, flatNodeInputFromStruct } from "../../common/assembly/flat_node";
import { JsonKind, jsonError, parseJson } from "../../common/assembly/json";
import { readLocalNodeMetadata } from "../../common/assembly/local_node";
import { PbStruct, decodeStruct, encodeStruct } from "../../common/assembly/pb_struct";
import {
  DOWNSTREAM_PEER, DOWNSTREAM_PEER_ID, HEADER_PEER_METADATA, HEADER_PEER_METADATA_ID, PEER_UNKNOWN, TrafficDirection,
  UPSTREAM_PEER, UPSTREAM_PEER_ID,
} from "../../common/assembly/peer";
import { PropertyPath } from "../../common/assembly/property";
import { RawHeader } from "../../common/assembly/raw_header";
import { sameBytes } from "../../common/assembly/bytes";
import { TCP_EXCHANGE_HEADER_BYTES, TcpExchangeState, encodeTcpExchange, readTcpExchange } from "../../common/assembly/tcp_exchange";

/** Istio's default peer cache size. */
const DEFAULT_MAX_PEER_CACHE_SIZE: i32 = 500;
/**
 * Longest x-envoy-peer-metadata we decode, in characters. A sidecar's value is 0.5–2 KiB; anything
 * far larger is refused (peer unknown) rather than parsed.
 */
const MAX_PEER_HEADER_CHARS: i32 = 16384;

/** A decoded peer, kept by node id: the header value it came from and the FlatNode stored for it. */
class CachedPeer {
  constructor(public header: ArrayBuffer, public node: ArrayBuffer) {}
}

// The exchange headers, names encoded once: values move as bytes on the per-request path (read,
// compared with the cached peer's, stored as filter state) and are decoded only for a new peer.
// @ts-ignore: decorator
@lazy const METADATA_HEADER = new RawHeader(HEADER_PEER_METADATA);
// @ts-ignore: decorator
@lazy const METADATA_ID_HEADER = new RawHeader(HEADER_PEER_METADATA_ID);

/** The metadata-exchange root: one per filter configuration (HTTP or network filter). */
export class MetadataExchangeRoot extends RootContext {
  /** This node's x-envoy-peer-metadata value, UTF-8 (empty when the node has no metadata). */
  metadataValue: ArrayBuffer = new ArrayBuffer(0);
  /** This node's id, UTF-8 (empty when unknown). */
  nodeId: ArrayBuffer = new ArrayBuffer(0);
  /** This node's TCP exchange preamble. */
  tcpPreamble: ArrayBuffer = new ArrayBuffer(0);
  /** Outbound connections open with this node's TCP preamble. */
  tcpExchange: bool = false;
  maxPeerCacheSize: i32 = DEFAULT_MAX_PEER_CACHE_SIZE;
  cache: Map<string, CachedPeer> = new Map<string, CachedPeer>();
  /** Cache keys in insertion order, for eviction. */
  cacheOrder: Array<string> = new Array<string>();
  readonly downstreamPeer: PropertyPath = new PropertyPath([DOWNSTREAM_PEER]);
  readonly downstreamPeerId: PropertyPath = new PropertyPath([DOWNSTREAM_PEER_ID]);
  readonly upstreamPeer: PropertyPath = new PropertyPath([UPSTREAM_PEER]);
  readonly upstreamPeerId: PropertyPath = new PropertyPath([UPSTREAM_PEER_ID]);
  /** Set in onConfigure, once the host's attribute names are known. */
  listenerDirection: PropertyPath = new PropertyPath([]);

  onConfigure(size: u32): bool {
    // Metadata exchange has safe defaults: a bad configuration is logged, never fatal.
    if (size > 0) this.configure(this.getPluginConfigurationString());
    this.listenerDirection = xdsPath(["listener_direction"]);
    const metadata = readLocalNodeMetadata();
    this.metadataValue = String.UTF8.encode(metadata.size > 0 ? base64EncodeBuffer(encodeStruct(metadata)) : "");
    const id = xdsPath(["node", "id"]).getString();
    const nodeId = id !== null ? id : "";
    this.nodeId = String.UTF8.encode(nodeId);
    this.tcpPreamble = encodeTcpExchange(metadata, nodeId);
    if (nodeId.length == 0) logDebug("metadata-exchange: node id unknown; x-envoy-peer-metadata-id will not be sent");
    if (this.metadataValue.byteLength == 0) logDebug("metadata-exchange: node metadata empty; x-envoy-peer-metadata will not be sent");
    return true;
  }

  configure(text: string): void {
    const json = parseJson(text);
    if (json === null || !json.isObject) {
      logWarn("metadata-exchange: configuration is not a JSON object (" + (json === null ? jsonError : json.kindName()) + "); using defaults");
      return;
    }
    const size = json.get("max_peer_cache_size");
    if (size !== null) {
      if (size.kind == JsonKind.Number && size.num >= 0 && size.num <= 1e7 && Math.floor(size.num) == size.num) {
        this.maxPeerCacheSize = <i32>size.num;
      } else {
        logWarn("metadata-exchange: max_peer_cache_size must be a whole number from 0 to 10000000; using " + this.maxPeerCacheSize.toString());
      }
    }
    const tcp = json.get("tcp_exchange");
    if (tcp !== null) {
      if (tcp.kind == JsonKind.Bool) this.tcpExchange = tcp.flag;
      else logWarn("metadata-exchange: tcp_exchange must be true or false; using false");
    }
  }

  /**
   * The listener direction of the current stream or connection. Envoy knows it per stream only
   * (`xds.listener_direction` is NOT_FOUND at on_configure), and one root can serve listeners of
   * both directions, so it is read for each stream.
   */
  streamDirection(): i64 {
    return this.listenerDirection.getI64(TrafficDirection.UNSPECIFIED);
  }

  /**
   * Decodes a received x-envoy-peer-metadata and stores the peer under `target`. Peers are cached
   * by id (and reused only for the very same header value). Returns false — peer unknown — for
   * anything that is not valid base64 of a Struct within the size limit.
   */
  storePeer(target: PropertyPath, idBytes: ArrayBuffer | null, header: ArrayBuffer): bool {
    const useCache = this.maxPeerCacheSize > 0 && idBytes !== null;
    const id = useCache ? String.UTF8.decode(changetype<ArrayBuffer>(idBytes)) : "";
    if (useCache && this.cache.has(id)) {
      const hit = this.cache.get(id);
      if (sameBytes(hit.header, header)) {
        target.set(hit.node);
        return true;
      }
    }
    if (header.byteLength > MAX_PEER_HEADER_CHARS) return false;
    const bytes = base64Decode(String.UTF8.decode(header), MAX_PEER_HEADER_CHARS);
    if (bytes === null) return false;
    const metadata = decodeStruct(changetype<usize>(bytes), <usize>bytes.byteLength);
    if (metadata === null) return false;
    const node = buildFlatNode(flatNodeInputFromStruct(metadata));
    target.set(node);
    if (useCache) this.remember(id, header, node);
    return true;
  }

  private remember(id: string, header: ArrayBuffer, node: ArrayBuffer): void {
    if (this.cache.has(id)) {
      this.cache.set(id, new CachedPeer(header, node));
      return;
    }
    if (this.cache.size >= this.maxPeerCacheSize) {
      // Over the limit: forget the oldest quarter (at least one), as Istio does.
      let drop = this.maxPeerCacheSize >> 2;
      if (drop < 1) drop = 1;
      if (drop > this.cacheOrder.length) drop = this.cacheOrder.length;
      for (let i = 0; i < drop; i++) this.cache.delete(unchecked(this.cacheOrder[i]));
      this.cacheOrder = this.cacheOrder.slice(drop);
    }
    this.cache.set(id, new CachedPeer(header, node));
    this.cacheOrder.push(id);
  }

  createHttpContext(contextId: u32): HttpContext {
    return new MetadataExchange(contextId, this);
  }
}

/** Where a TCP connection is in the exchange. */
const enum Tcp {
  /** Nothing to do (not a TCP exchange, or it is over). */
  Done = 0,
  /** Inbound: the client's first bytes may hold its preamble. */
  ReadDownstream = 1,
  /** Outbound: this node's preamble goes in front of the client's first bytes. */
  SendUpstream = 2,
  /** Outbound: the server's first bytes may hold its preamble. */
  ReadUpstream = 3,
}

// One class for HTTP streams and TCP connections: the host does not say which kind a new stream is,
// so the first callback decides (onRequestHeaders: HTTP; onNewConnection: TCP).
class MetadataExchange extends HttpContext {
  direction: i64 = TrafficDirection.UNSPECIFIED;
  /** The request carried the headers: answer them on the response. */
  metadataReceived: bool = false;
  idReceived: bool = false;
  tcp: Tcp = Tcp.Done;
  /** Inbound TCP: the client sent its preamble, so the server's first bytes carry ours. */
  tcpAnswer: bool = false;

  constructor(contextId: u32, readonly mx: MetadataExchangeRoot) {
    super(contextId, mx);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.mx;
    this.direction = root.streamDirection();
    const headers = this.requestHeaders;
    const id = METADATA_ID_HEADER.take(headers);
    if (id !== null) {
      root.downstreamPeerId.set(id);
      this.idReceived = true;
    }
    const metadata = METADATA_HEADER.take(headers);
    if (metadata !== null) {
      this.metadataReceived = true;
      if (!root.storePeer(root.downstreamPeer, id, metadata)) logDebug("metadata-exchange: invalid x-envoy-peer-metadata from downstream; peer unknown");
    }
    // Inbound listeners never forward the exchange headers to the application.
    if (this.direction != TrafficDirection.INBOUND) {
      if (root.metadataValue.byteLength > 0) METADATA_HEADER.set(headers, root.metadataValue);
      if (root.nodeId.byteLength > 0) METADATA_ID_HEADER.set(headers, root.nodeId);
    }
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.mx;
    const headers = this.responseHeaders;
    const id = METADATA_ID_HEADER.take(headers);
    if (id !== null) root.upstreamPeerId.set(id);
    const metadata = METADATA_HEADER.take(headers);
    if (metadata !== null) {
      if (!root.storePeer(root.upstreamPeer, id, metadata)) logDebug("metadata-exchange: invalid x-envoy-peer-metadata from upstream; peer unknown");
    }
    // Outbound listeners never send them back to the application; inbound ones answer only
    // callers that sent theirs, so clients outside the mesh don't learn about the node.
    if (this.direction != TrafficDirection.OUTBOUND) {
      if (this.metadataReceived && root.metadataValue.byteLength > 0) METADATA_HEADER.set(headers, root.metadataValue);
      if (this.idReceived && root.nodeId.byteLength > 0) METADATA_ID_HEADER.set(headers, root.nodeId);
    }
    return Action.Continue;
  }

  onNewConnection(): Action {
    const root = this.mx;
    this.direction = root.streamDirection();
    if (this.direction == TrafficDirection.OUTBOUND) {
      if (root.tcpExchange) this.tcp = Tcp.SendUpstream;
      // No exchange: the server's identity will not come, so the stats filter need not wait for it.
      else root.upstreamPeerId.set(String.UTF8.encode(PEER_UNKNOWN));
    } else {
      this.tcp = Tcp.ReadDownstream;
    }
    return Action.Continue;
  }

  onDownstreamData(dataSize: usize, endOfStream: bool): Action {
    const root = this.mx;
    if (this.tcp == Tcp.SendUpstream) {
      // Prepend (start 0, length 0): this node's preamble goes out ahead of the client's bytes.
      setBufferBytes(BufferType.DownstreamData, 0, 0, root.tcpPreamble);
      this.tcp = Tcp.ReadUpstream;
      return Action.Continue;
    }
    if (this.tcp != Tcp.ReadDownstream) return Action.Continue;
    const found = this.readPreamble(BufferType.DownstreamData, dataSize, endOfStream, root.downstreamPeer, root.downstreamPeerId);
    if (found == TcpExchangeState.NeedMore) return Action.Pause;
    this.tcpAnswer = found == TcpExchangeState.Found;
    this.tcp = Tcp.Done;
    return Action.Continue;
  }

  onUpstreamData(dataSize: usize, endOfStream: bool): Action {
    const root = this.mx;
    if (this.tcpAnswer) {
      this.tcpAnswer = false;
      setBufferBytes(BufferType.UpstreamData, 0, 0, root.tcpPreamble);
      return Action.Continue;
    }
    if (this.tcp != Tcp.ReadUpstream) return Action.Continue;
    const found = this.readPreamble(BufferType.UpstreamData, dataSize, endOfStream, root.upstreamPeer, root.upstreamPeerId);
    if (found == TcpExchangeState.NeedMore) return Action.Pause;
    this.tcp = Tcp.Done;
    return Action.Continue;
  }

  /**
   * Looks for the peer's preamble at the start of a connection's data: stores the peer and removes
   * the preamble when found; marks the peer unknown when the data does not start with one.
   */
  private readPreamble(buffer: BufferType, size: usize, endOfStream: bool, peer: PropertyPath, peerId: PropertyPath): TcpExchangeState {
    // The first bytes decide; the whole chunk is read only when it opens with the magic number
    // (removing the preamble means replacing the chunk: Envoy only prepends or replaces whole).
    const head = getBufferBytes(buffer, 0, TCP_EXCHANGE_HEADER_BYTES);
    const opening = readTcpExchange(head !== null ? head : new ArrayBuffer(0), false);
    const bytes = opening.state == TcpExchangeState.Absent ? head : getBufferBytes(buffer, 0, size);
    const r = opening.state == TcpExchangeState.Absent ? opening : readTcpExchange(bytes !== null ? bytes : new ArrayBuffer(0), endOfStream);
    if (r.state == TcpExchangeState.NeedMore) return r.state;
    if (r.state == TcpExchangeState.Absent) {
      peerId.set(String.UTF8.encode(PEER_UNKNOWN));
      return r.state;
    }
    const rest = changetype<ArrayBuffer>(bytes).slice(r.consumed);
    setBufferBytes(buffer, 0, size, rest);
    const md = r.metadata;
    peer.set(buildFlatNode(flatNodeInputFromStruct(md !== null ? md : new PbStruct())));
    if (r.id !== null) peerId.set(String.UTF8.encode(r.id!));
    return r.state;
  }
}
