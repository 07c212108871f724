// What a real upstream request or connection tells the stream's attributes, as Envoy's upstream
// info holds it (docs/envoy/properties.md): the local address of the upstream connection and how
// long the request waited for it (`upstream.local_address`, `upstream.cx_pool_ready_duration`),
// once connected; for HTTP the first byte sent and the last byte received
// (`response.backend_latency`); for tcp_proxy the host and the attempt once connected.
import type { ClientRequest, IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { StreamInfo } from "../values/stream_info.js";

/** Records upstream timings and addresses of `request` on `info` as the request proceeds. */
export function trackUpstreamRequest(request: ClientRequest, info: StreamInfo): void {
  const start = Date.now();
  info.upstreamRequestStart = start;
  request.once("socket", (socket: Socket) => {
    const ready = () => {
      info.upstreamPoolReadyMs = Date.now() - start;
      if (socket.localAddress !== undefined && socket.localPort !== undefined) {
        info.upstreamLocalAddress = { ip: socket.localAddress, port: socket.localPort };
      }
    };
    // A pooled (kept-alive) socket is connected already.
    if (socket.connecting) socket.once("connect", ready);
    else ready();
  });
  request.once("response", (response: IncomingMessage) => {
    // Before the proxy's own end handler, which may finish the stream.
    response.prependOnceListener("end", () => {
      info.upstreamResponseEnd = Date.now();
    });
  });
}

/**
 * Records, for a TCP connection's upstream socket (tcp_proxy, connecting to `cluster` once the
 * plugins' on_new_connection ran): the cluster at once, then, once connected, the host, the local
 * address, the time the connection took and one attempt. (Call markUpstreamRequested when the
 * connection opens.)
 */
export function trackUpstreamConnection(socket: Socket, info: StreamInfo, cluster: string, host: { ip: string; port: number }): void {
  const start = Date.now();
  info.upstreamRequested = true;
  info.clusterName = cluster;
  socket.once("connect", () => {
    info.upstream = host;
    info.upstreamPoolReadyMs = Date.now() - start;
    info.attemptCount = 1;
    if (socket.localAddress !== undefined && socket.localPort !== undefined) {
      info.upstreamLocalAddress = { ip: socket.localAddress, port: socket.localPort };
    }
  });
}

/** A TCP connection's upstream info exists from its start in Envoy, before any host (tcp_proxy). */
export function markUpstreamRequested(info: StreamInfo): void {
  info.upstreamRequested = true;
  info.attemptCount = 0;
}
