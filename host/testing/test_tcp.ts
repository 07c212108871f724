// One TCP connection of the test API: open it (proxy_on_new_connection), push client and server
// bytes through the plugin callback by callback, close either side, and read back what went
// through, what the plugin returned, and whether the proxy closed the connection.
import { PeerType } from "../abi/constants.js";
import type { StreamInfo, StreamInfoInit } from "../values/stream_info.js";
import type { TcpConnection, TcpLastActions } from "../streams/tcp_connection.js";
import type { TestDriver } from "./driver.js";

/** Bytes that went out one side of a connection. */
export interface TestTcpSide {
  data: Buffer;
  /** End of stream went out. */
  ended: boolean;
}

const bytes = (b: string | Uint8Array): Buffer => (typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b));

const PEERS = { unknown: PeerType.Unknown, local: PeerType.Local, remote: PeerType.Remote } as const;

/** Who closed a connection (proxy_peer_type_t). */
export type TestPeer = keyof typeof PEERS;

export class TestTcpConnection {
  /** The underlying host connection (for advanced inspection). */
  readonly connection: TcpConnection;
  /** Client bytes the plugin let through toward the server. */
  readonly upstream: TestTcpSide = { data: Buffer.alloc(0), ended: false };
  /** Server bytes the plugin let through toward the client. */
  readonly downstream: TestTcpSide = { data: Buffer.alloc(0), ended: false };
  /** Why the proxy closed the connection (`wasm_downstream_close`, `wasm_upstream_close`, `wasm_fail_stream`). */
  closedBy: string | undefined;

  /** Opens a connection through the plugin: proxy_on_context_create and proxy_on_new_connection. */
  constructor(private readonly t: TestDriver, info?: StreamInfoInit | StreamInfo, worker = 0) {
    const append = (side: TestTcpSide, data: Buffer, end: boolean) => {
      side.data = side.data.length ? Buffer.concat([side.data, data]) : Buffer.from(data);
      side.ended ||= end;
      // Envoy counts what reaches the client as the connection's `response.total_size`.
      if (side === this.downstream) this.connection.info.responseBodyBytes += data.length;
    };
    this.connection = t.plugin.newTcpConnection({
      upstreamData: (d, end) => append(this.upstream, d, end),
      downstreamData: (d, end) => append(this.downstream, d, end),
      close: (details) => { this.closedBy = details; },
    }, info, { worker });
    this.connection.open();
    t.runPending();
  }

  private after<T>(value: T): T {
    this.t.runPending();
    return value;
  }

  /** What proxy_on_new_connection returned (0 Continue, 1 StopIteration). */
  get newConnectionAction(): number | undefined {
    return this.connection.lastActions.newConnection;
  }

  /** Client bytes arrive; returns what proxy_on_downstream_data returned. */
  callOnDownstreamData(data: string | Uint8Array, endOfStream = false): number | undefined {
    delete this.connection.lastActions.downstreamData;
    const b = bytes(data);
    // …and what the client sent, as it arrives (`request.total_size`).
    this.connection.info.requestBodyBytes += b.length;
    this.connection.downstreamRead(b, endOfStream);
    return this.after(this.connection.lastActions.downstreamData);
  }

  /** Server bytes arrive; returns what proxy_on_upstream_data returned. End of stream also reports the upstream close. */
  callOnUpstreamData(data: string | Uint8Array, endOfStream = false): number | undefined {
    delete this.connection.lastActions.upstreamData;
    this.connection.upstreamWrite(bytes(data), endOfStream);
    return this.after(this.connection.lastActions.upstreamData);
  }

  /** The client connection closes (proxy_on_downstream_connection_close); the connection ends. */
  closeDownstream(peer: TestPeer = "remote"): void {
    this.connection.downstreamClose(PEERS[peer]);
    this.t.runPending();
  }

  /** The server side closes (proxy_on_upstream_connection_close). */
  closeUpstream(peer: TestPeer = "unknown"): void {
    this.connection.upstreamClose(PEERS[peer]);
    this.t.runPending();
  }

  /** Raw values the plugin's callbacks returned, last of each kind. */
  get actions(): TcpLastActions {
    return this.connection.lastActions;
  }

  /** True once the connection ended (proxy_on_done, proxy_on_log, proxy_on_delete ran). */
  get completed(): boolean {
    return this.connection.completed;
  }

  /** Client bytes that reached the server, as text. */
  get upstreamText(): string {
    return this.upstream.data.toString("utf8");
  }

  /** Server bytes that reached the client, as text. */
  get downstreamText(): string {
    return this.downstream.data.toString("utf8");
  }

  /** Filter state written with proxy_set_property (key without the `wasm.` prefix), as text. */
  filterState(key: string): string | undefined {
    return this.connection.info.filterState.get(`wasm.${key}`)?.toString("utf8");
  }
}
