// The dev proxy's TCP mode: a TCP listener whose connections run through a chain of network
// plugins, as Envoy runs envoy.filters.network.wasm filters before tcp_proxy (docs/envoy/
// lifecycle.md, "TCP"): client bytes go through the plugins in order to the upstream address, the
// upstream's bytes through them in reverse order back to the client; half-closes pass both ways,
// and the connection closes (a local close, as the plugins hear it) once both directions ended,
// when a plugin closes it, when the upstream fails or resets, or when its VM fails. Without an
// upstream, Envoy's direct_response network filter: the body goes to the client, then a close.
import net from "node:net";
import { PeerType } from "../abi/constants.js";
import type { Plugin } from "../plugin/plugin.js";
import { newStreamInfo, type StreamInfo } from "../values/stream_info.js";
import type { TcpConnection, TcpConnectionSink } from "../streams/tcp_connection.js";
import type { DevProxy, DevProxyOptions } from "./dev_proxy_options.js";
import { markUpstreamRequested, trackUpstreamConnection } from "./upstream_info.js";
import { createProxyHost, listen, LiveChain, loadChain, runningProxy, startAdmin, type AdminListener } from "./proxy_host.js";

const EMPTY = Buffer.alloc(0);

/** Where a TCP proxy forwards: `tcp://host:port` or `http://host:port` (the address of the URL). */
export function tcpUpstream(spec: string): { host: string; port: number } {
  const url = new URL(spec);
  if (url.protocol !== "tcp:" && url.protocol !== "http:") throw new Error(`a TCP upstream is tcp://host:port or http://host:port, got ${spec}`);
  const port = Number(url.port || (url.protocol === "http:" ? 80 : NaN));
  if (!Number.isInteger(port) || port < 1) throw new Error(`a TCP upstream needs a port: ${spec}`);
  return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * Reads a socket as Envoy's event loop does: what arrived by the time the loop gets to it is one
 * read, and a FIN that came with the last bytes is that read's end of stream — so a plugin sees
 * `data, end_of_stream` together, as in Envoy, rather than the data and then an empty end.
 */
function readCoalesced(socket: net.Socket, onRead: (data: Buffer, end: boolean) => void): void {
  let pending: Buffer[] = [];
  let scheduled = false;
  const take = () => {
    const d = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    return d;
  };
  socket.on("data", (d: Buffer) => {
    pending.push(d);
    if (scheduled) return;
    scheduled = true;
    // Node emits 'end' on the next tick after the last 'data' of a read: before this runs.
    setImmediate(() => {
      scheduled = false;
      if (pending.length > 0) onRead(take(), false);
    });
  });
  socket.on("end", () => onRead(take(), true));
}

// One client connection through the chain, to the upstream.
class ProxiedConnection {
  readonly filters: TcpConnection[] = [];
  private upstream: net.Socket | undefined;
  private clientEnded = false;
  private clientFinSent = false;
  private closed = false;
  private readonly info: StreamInfo;

  constructor(
    private readonly client: net.Socket, plugins: Plugin[], worker: number,
    private readonly upstreamAddress: { host: string; port: number } | undefined, onEnd: () => void,
  ) {
    const info = newStreamInfo({
      protocol: "",
      source: { ip: client.remoteAddress ?? "127.0.0.1", port: client.remotePort ?? 0 },
      destination: { ip: client.localAddress ?? "127.0.0.1", port: client.localPort ?? 0 },
      clusterName: "",
    });
    this.info = info;
    // tcp_proxy's upstream info exists from the connection's start (none without tcp_proxy).
    if (upstreamAddress) markUpstreamRequested(info);
    plugins.forEach((plugin, i) => {
      const sink: TcpConnectionSink = {
        upstreamData: (d, end) => (i + 1 < plugins.length ? this.filters[i + 1]!.downstreamRead(d, end) : this.toUpstream(d, end)),
        downstreamData: (d, end) => (i > 0 ? this.filters[i - 1]!.upstreamWrite(d, end) : this.toClient(d, end)),
        close: () => this.closeLocally(),
      };
      this.filters.push(plugin.newTcpConnection(sink, info, { worker }));
    });
    client.once("close", () => {
      // A close the proxy did not start: the client reset (Envoy's RemoteClose).
      this.close(PeerType.Remote);
      onEnd();
    });
    client.on("error", () => undefined);
  }

  /** Runs each filter's on_new_connection, then (as tcp_proxy does) connects upstream. */
  start(directBody: Buffer): void {
    const upstream = this.upstreamAddress;
    // Envoy reads nothing from the client until the upstream is connected.
    this.client.pause();
    for (const f of this.filters) {
      f.open();
      if (this.closed) return;
    }
    readCoalesced(this.client, (d, end) => {
      if (end) this.clientEnded = true;
      // Envoy counts the connection's bytes at the client socket, whatever the filters change
      // (`request.total_size` / `response.total_size`; docs/envoy/istio-telemetry.md, "TCP byte counts").
      this.filters[0]!.info.requestBodyBytes += d.length;
      this.filters[0]!.downstreamRead(d, end);
      if (end) this.closeIfDone();
    });
    if (!upstream) {
      // Envoy's direct_response network filter writes its body through the chain as the end of
      // the stream, then closes.
      this.filters[this.filters.length - 1]!.upstreamWrite(directBody, true);
      this.closeLocally();
      return;
    }
    // Half-closes pass through: a FIN from either side does not end the other direction.
    const up = net.connect({ port: upstream.port, host: upstream.host, allowHalfOpen: true });
    this.upstream = up;
    // The dev proxy's TCP upstream is its cluster "upstream", as in pwasm's Envoy bootstrap.
    trackUpstreamConnection(up, this.info, "upstream", { ip: upstream.host, port: upstream.port });
    up.on("connect", () => this.client.resume());
    readCoalesced(up, (d, end) => {
      this.filters[this.filters.length - 1]!.upstreamWrite(d, end);
      if (end) this.closeIfDone();
    });
    // Refused, reset: tcp_proxy closes the client connection.
    up.on("error", () => this.closeLocally());
    up.on("close", () => this.closeLocally());
  }

  private toUpstream(d: Buffer, end: boolean): void {
    const up = this.upstream;
    if (!up || up.destroyed) return;
    if (d.length > 0) up.write(d);
    if (end) up.end();
  }

  private toClient(d: Buffer, end: boolean): void {
    if (this.client.destroyed) return;
    this.filters[0]!.info.responseBodyBytes += d.length;
    if (d.length > 0) this.client.write(d);
    if (end) {
      this.clientFinSent = true;
      this.client.end();
      this.closeIfDone();
    }
  }

  // Both directions ended: Envoy closes the connection itself.
  private closeIfDone(): void {
    if (this.clientEnded && this.clientFinSent) this.closeLocally();
  }

  /**
   * The proxy closes the connection as Envoy's close(FlushWrite) does: what was written goes out,
   * then the socket is closed — no shutdown first, so a client whose bytes were never read gets a
   * reset, as from Envoy.
   */
  closeLocally(): void {
    if (this.closed) return;
    const client = this.client;
    if (client.writableEnded) {
      // Our FIN went out already (both directions ended): close once it is flushed.
      if (client.writableFinished) client.destroy();
      else client.once("finish", () => client.destroy());
    } else if (!client.destroyed) {
      client.write(EMPTY, () => client.destroy());
    }
    this.close(PeerType.Local);
  }

  private close(peer: PeerType): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream?.destroy();
    // Every filter hears the close, in filter order; each then ends (on_done, on_log, on_delete).
    for (const f of this.filters) f.downstreamClose(peer);
    if (peer === PeerType.Remote) this.client.destroy();
  }
}

/** Starts the dev proxy in TCP mode (every plugin a network filter); resolves once it listens. */
export async function startTcpProxy(options: DevProxyOptions): Promise<DevProxy> {
  const upstream = options.upstream ? tcpUpstream(options.upstream) : undefined;
  const directBody = Buffer.from(options.directResponse?.body ?? "");
  const proxyHost = createProxyHost(options);
  const { host } = proxyHost;
  const live = new LiveChain(host, await loadChain(proxyHost, options.plugins));
  let nextWorker = 0;
  const sockets = new Set<net.Socket>();

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    sockets.add(client);
    // The chain is fixed for the whole connection: a swap affects only later connections.
    const chain = live.begin();
    const connection = new ProxiedConnection(client, chain, nextWorker++, upstream, () => {
      sockets.delete(client);
      live.end(chain);
    });
    connection.start(directBody);
  });

  let admin: AdminListener | undefined;
  let address: net.AddressInfo;
  try {
    address = await listen(server, options.host ?? "127.0.0.1", options.port ?? 10000);
    if (options.admin !== false) admin = await startAdmin(host, options.admin);
  } catch (err) {
    proxyHost.shutdown();
    if (server.listening) await new Promise((r) => server.close(r));
    throw err;
  }

  return runningProxy({
    url: `tcp://${address.address}:${address.port}`,
    adminUrl: admin?.url,
    host,
    live,
    async close() {
      // Connections still open after the drain time are reset.
      const drain = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, options.drainTimeoutMs ?? 5000);
      await Promise.all([new Promise<void>((r) => server.close(() => r())), admin?.close()]);
      await live.idle();
      clearTimeout(drain);
      proxyHost.shutdown();
    },
  });
}
