// What a real upstream request tells the stream's attributes, as Envoy's upstream info holds it
// (docs/envoy/properties.md): the local address of the upstream connection and how long the
// request waited for it (`upstream.local_address`, `upstream.cx_pool_ready_duration`), once
// connected; the first byte sent and the last byte received (`response.backend_latency`).
import type { ClientRequest, IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { StreamInfo } from "../state/stream_info.js";

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
