// One TCP connection through one plugin, driven as Envoy drives a Wasm network filter
// (docs/envoy/lifecycle.md, "TCP"): proxy_on_new_connection when the connection opens; client bytes through
// proxy_on_downstream_data (buffer 2) and server bytes through proxy_on_upstream_data (buffer 3);
// a data callback that returns StopIteration keeps its bytes, and the next callback sees them plus
// what arrived since. proxy_continue_stream(DOWNSTREAM) lets held client bytes go on; there is no
// continue for UPSTREAM (UNIMPLEMENTED). Upstream end of stream also reports
// proxy_on_upstream_connection_close(UNKNOWN); the downstream close (LOCAL or REMOTE) ends the
// connection: proxy_on_done, proxy_on_log, proxy_on_delete, once (Envoy's order for connections).
import { BufferType, PeerType, StreamType, WasmResult } from "../abi/constants.js";
import { HostContext } from "../vm/contexts.js";
import { VmFailedError } from "../vm/errors.js";
import {
  onContextCreate, onDelete, onDone, onDownstreamConnectionClose, onDownstreamData, onLog, onNewConnection,
  onUpstreamConnectionClose, onUpstreamData,
} from "../vm/guest.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import type { FailurePolicy } from "../vm/runtime.js";
import type { PropertyScope, StreamInfo } from "../values/stream_info.js";

/** Where the bytes a plugin lets through go. */
export interface TcpConnectionSink {
  /** Client bytes let through toward the server. */
  upstreamData?(data: Buffer, endOfStream: boolean): void;
  /** Server bytes let through toward the client. */
  downstreamData?(data: Buffer, endOfStream: boolean): void;
  /**
   * The proxy closes the client connection: the plugin asked (`wasm_downstream_close`,
   * `wasm_upstream_close`) or its VM failed (`wasm_fail_stream`).
   */
  close?(details: string): void;
}

/** Raw values the plugin's callbacks returned, last of each kind (for the test API). */
export interface TcpLastActions {
  newConnection?: number;
  downstreamData?: number;
  upstreamData?: number;
}

const EMPTY = Buffer.alloc(0);

// One direction: bytes held by the filter while it stops iteration.
class Flow {
  held: Buffer = EMPTY;
  /** The running data callback can read and edit `held`. */
  visible = false;
  /** Stopped: bytes wait for a Continue (or continue_stream for downstream). */
  stopped = false;
  /** End of stream arrived on this side. */
  ended = false;
  /** End of stream went out. */
  endSent = false;
}

export class TcpConnection extends HostContext {
  readonly kind = "tcp" as const;
  readonly lastActions: TcpLastActions = {};
  /** Client bytes (toward the server). */
  readonly downstream = new Flow();
  /** Server bytes (toward the client). */
  readonly upstream = new Flow();
  /** Why the proxy closed the connection, once it did. */
  closeDetails: string | undefined;
  /** The plugin is out of the connection: it opened without a VM under FAIL_OPEN. */
  bypass = false;
  /** True once proxy_on_done/log/delete ran (or the connection ended without the plugin). */
  completed = false;

  private created = false;
  private downstreamClosed = false;
  private upstreamClosed = false;
  private failed = false;

  constructor(
    vm: PluginVm | undefined,
    id: number,
    readonly info: StreamInfo,
    readonly sink: TcpConnectionSink,
    readonly failurePolicy: FailurePolicy,
  ) {
    super(vm as PluginVm, id);
    if (!vm) this.bypass = failurePolicy === "FAIL_OPEN";
  }

  /** The connection opened: proxy_on_context_create, then proxy_on_new_connection. */
  open(): void {
    if (!this.usable()) return;
    const raw = this.invoke(() => {
      this.created = true;
      this.vm.contexts.set(this.id, this);
      onContextCreate(this, this.root.id);
      return onNewConnection(this);
    });
    if (raw !== undefined) this.lastActions.newConnection = raw;
  }

  /** Bytes from the client (a read); `endOfStream` when the client half-closed. */
  downstreamRead(data: Buffer, endOfStream: boolean): void {
    this.data(this.downstream, data, endOfStream, true);
  }

  /** Bytes from the server (a write toward the client); `endOfStream` when the server half-closed. */
  upstreamWrite(data: Buffer, endOfStream: boolean): void {
    this.data(this.upstream, data, endOfStream, false);
    // Envoy reports the upstream close on the write that carries end of stream (when the data
    // callback did not already: it does so before the bytes go on).
    if (endOfStream) this.upstreamClose(PeerType.Unknown);
  }

  /** The client connection closed: Remote (the client closed) or Local (the proxy closed it). */
  downstreamClose(peer: number = PeerType.Remote): void {
    if (this.downstreamClosed || this.completed) return;
    this.downstreamClosed = true;
    if (this.usable()) this.invoke(() => (onDownstreamConnectionClose(this, peer), 0));
    this.finish();
  }

  /** The server side closed (proxy_on_upstream_connection_close); ends the connection if the client side is closed too. */
  upstreamClose(peer: number = PeerType.Unknown): void {
    if (this.upstreamClosed || this.completed) return;
    this.upstreamClosed = true;
    if (this.usable()) this.invoke(() => (onUpstreamConnectionClose(this, peer), 0));
    if (this.downstreamClosed) this.finish();
  }

  // ---- driving ---------------------------------------------------------------------------------

  private usable(): boolean {
    if (this.bypass || this.failed || this.completed) return false;
    if (!this.vm || this.vm.failure) {
      this.onVmFailure();
      return false;
    }
    return true;
  }

  // Runs VM calls inside a dispatch (deferred continue/close wait for it); a trap applies the
  // failure policy and yields undefined.
  private invoke(fn: () => number): number | undefined {
    this.vm.beginDispatch();
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
      this.onVmFailure();
      return undefined;
    } finally {
      this.vm.endDispatch();
    }
  }

  private data(flow: Flow, data: Buffer, endOfStream: boolean, fromClient: boolean): void {
    if (this.completed || this.closeDetails !== undefined) return;
    flow.held = flow.held.length ? Buffer.concat([flow.held, data]) : data;
    flow.ended ||= endOfStream;
    if (!this.usable()) {
      if (this.bypass) this.flush(flow, fromClient);
      return;
    }
    flow.visible = true;
    const raw = this.invoke(() => {
      try {
        return (fromClient ? onDownstreamData : onUpstreamData)(this, flow.held.length, flow.ended);
      } finally {
        // Envoy keeps the buffer readable while the filter holds it (e.g. for continue from a tick).
        flow.visible = false;
      }
    });
    if (raw === undefined) return;
    if (fromClient) this.lastActions.downstreamData = raw;
    else this.lastActions.upstreamData = raw;
    // Any non-zero status stops iteration (Envoy).
    flow.stopped = raw !== 0;
    // Envoy's onWrite reports the upstream close right after the data callback that carried the
    // end of stream, before the bytes go on toward the client (docs/envoy/lifecycle.md, "TCP").
    if (!fromClient && endOfStream) this.upstreamClose(PeerType.Unknown);
    if (!flow.stopped) this.flush(flow, fromClient);
  }

  private flush(flow: Flow, fromClient: boolean): void {
    if (flow.endSent) return;
    const out = flow.held;
    flow.held = EMPTY;
    if (out.length === 0 && !flow.ended) return;
    flow.endSent = flow.ended;
    if (fromClient) this.sink.upstreamData?.(out, flow.ended);
    else this.sink.downstreamData?.(out, flow.ended);
  }

  // The proxy closes the client connection; the plugin hears about it as a local close.
  private closeConnection(details: string): void {
    if (this.closeDetails !== undefined || this.completed) return;
    this.closeDetails = details;
    this.sink.close?.(details);
    this.downstreamClose(PeerType.Local);
  }

  // Envoy's CHECK_FAIL_NET: a connection whose VM failed is closed (FlushWrite) whatever the
  // failure policy — FAIL_OPEN only lets later connections run without the plugin, which is
  // decided when they open (docs/envoy/lifecycle.md).
  private onVmFailure(): void {
    if (this.failed) return;
    this.failed = true;
    this.closeDetails = "wasm_fail_stream";
    this.sink.close?.("wasm_fail_stream");
    this.finish();
  }

  // proxy_on_done, proxy_on_log, proxy_on_delete, once (Envoy's onCloseTCP).
  private finish(): void {
    if (this.completed) return;
    this.completed = true;
    // No end time: a connection never completes a request (request.duration is NOT_FOUND in its
    // on_log, as in Envoy: docs/envoy/lifecycle.md, "TCP").
    if (this.created && this.vm && !this.vm.failure && !this.failed) {
      this.invoke(() => {
        onDone(this);
        onLog(this);
        onDelete(this);
        return 0;
      });
    }
    if (this.created && this.vm) this.vm.contexts.delete(this.id);
  }

  // ---- what host functions see -----------------------------------------------------------------

  override buffer(type: BufferType): Buffer | undefined {
    if (type === BufferType.DownstreamData) return this.readable(this.downstream);
    if (type === BufferType.UpstreamData) return this.readable(this.upstream);
    // HTTP bodies do not exist on a connection: Envoy reads them as empty.
    if (type === BufferType.HttpRequestBody || type === BufferType.HttpResponseBody) return EMPTY;
    return super.buffer(type);
  }

  private readable(flow: Flow): Buffer {
    return flow.visible || flow.stopped ? flow.held : EMPTY;
  }

  override setBuffer(type: BufferType, start: number, size: number, data: Buffer): number {
    const flow = type === BufferType.DownstreamData ? this.downstream : type === BufferType.UpstreamData ? this.upstream : undefined;
    if (!flow || !(flow.visible || flow.stopped)) return WasmResult.BadArgument;
    const cur = flow.held;
    if (start === 0) flow.held = Buffer.concat([data, cur.subarray(Math.min(size, cur.length))]);
    else if (start >= cur.length) flow.held = Buffer.concat([cur, data]);
    else return WasmResult.BadArgument;
    return WasmResult.Ok;
  }

  override continueStream(type: number): number {
    if (type > 3) return WasmResult.BadArgument;
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (type === StreamType.Downstream) {
      // continueReading: the held client bytes go on to the next filter, after this VM call.
      this.vm.defer(() => {
        if (this.completed || this.closeDetails !== undefined) return;
        this.downstream.stopped = false;
        this.flush(this.downstream, true);
      });
    }
    // HTTP stream types have no effect on a connection (Envoy answers OK).
    return WasmResult.Ok;
  }

  override closeStream(type: number): number {
    if (type > 3) return WasmResult.BadArgument;
    if (type === StreamType.Downstream || type === StreamType.Upstream) {
      // Both close the client connection in Envoy (flushing what was written).
      const details = type === StreamType.Downstream ? "wasm_downstream_close" : "wasm_upstream_close";
      this.vm.defer(() => this.closeConnection(details));
    }
    return WasmResult.Ok;
  }

  override propertyScope(): PropertyScope {
    return { info: this.info, requestHeaders: undefined, responseHeaders: undefined, responseTrailers: undefined };
  }
}
