// The embedded dev proxy: an HTTP/1.1 listener whose requests run through a chain of plugins and
// then go to an upstream URL (or get a direct response), plus an admin listener with /ready and
// /stats/prometheus. It behaves like an Envoy listener with http_connection_manager, Wasm filters
// and a router, as far as a plugin can tell.
import http from "node:http";
import { LogLevel } from "../abi/constants.js";
import type { Plugin } from "../plugin/plugin.js";
import type { HeaderMap } from "../values/header_map.js";
import { localReplyMessage } from "../streams/local_reply.js";
import { mutateRequestHeaders, mutateResponseHeaders } from "./connection_manager.js";
import { FilterChain } from "./filter_chain.js";
import { decodeRequestHeaders, decodeResponseHeaders, encodeHeaders, startRequest, writeResponseHead } from "./http1_codec.js";
import { createProxyHost, listen, LiveChain, loadChain, runningProxy, startAdmin, type AdminListener } from "./proxy_host.js";
import { trackUpstreamRequest } from "./upstream_info.js";
import { FlowReader } from "./stream_flow.js";
import { startTcpProxy } from "./tcp_proxy.js";
import { HttpCalloutTransport } from "./http_callouts.js";
import { RequestInspector } from "../inspect/routes.js";

import type { DevProxy, DevProxyOptions } from "./dev_proxy_options.js";
import { formatAccessLog } from "./access_log.js";

export type { DevProxy, DevProxyOptions, DevProxyPlugin } from "./dev_proxy_options.js";

const EMPTY = Buffer.alloc(0);

/** Envoy's default `stream_idle_timeout`: 5 minutes. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;

/** Starts the dev proxy; resolves once both listeners accept connections. */
export async function startDevProxy(options: DevProxyOptions): Promise<DevProxy> {
  // Network plugins → the TCP mode (Envoy's network Wasm filters before tcp_proxy).
  if (options.plugins.some((p) => p.type === "network")) {
    if (options.plugins.some((p) => p.type !== "network")) {
      throw new Error("the dev proxy runs HTTP plugins or network plugins, not both on one listener (run each kind with its own pwasm run)");
    }
    return startTcpProxy(options);
  }
  const proxyHost = createProxyHost(options);
  const { host } = proxyHost;
  // A start that fails part way (a plugin refused, a port in use) leaves nothing running.
  const live = new LiveChain(host, await loadChain(proxyHost, options.plugins));
  const upstream = options.upstream ? new URL(options.upstream) : undefined;
  const direct = options.directResponse ?? { status: 200, body: "" };
  const routeTimeoutMs = options.routeTimeoutMs ?? 15_000;
  const streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
  let nextWorker = 0;
  // Records streams only while an inspector page is open (host/inspect/routes.ts).
  const inspector = new RequestInspector(host, host.callouts instanceof HttpCalloutTransport ? host.callouts : undefined, () => live.plugins,
    typeof options.inspector === "object" ? options.inspector : undefined);

  const server = http.createServer((req, res) => {
    // The chain is fixed for the whole stream: a swap affects only later requests.
    const chainPlugins = live.begin();
    const chain = handle(req, res, chainPlugins);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      chain.complete();
      live.end(chainPlugins);
      if (options.onAccessLog) options.onAccessLog(formatAccessLog(chain));
    };
    res.on("close", finish);
  });

  const logError = (message: string) => host.logs.write({ level: LogLevel.Error, message, plugin: "", rootId: "", vmId: "", time: Date.now(), source: "proxy" });

  function handle(req: http.IncomingMessage, res: http.ServerResponse, chainPlugins: Plugin[]): FilterChain {
    let outgoing: http.ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    let upstreamStarted = false;
    let upstreamSentAt = 0;
    // The client's request is over (Envoy closes the connection after a reply sent before that).
    let requestEnded = false;
    // Response headers left the chain: Envoy writes them at once, Node with the first body bytes.
    let responseHeadersOut = false;
    let streamReset = false;
    let upstreamEnded = false;
    // The response to the client is complete: an upstream request still in flight is reset, as
    // Envoy resets the router's upstream request when the stream ends (say, after a local reply).
    // The stream is over then too: request bytes still arriving reach no plugin and are not
    // counted (request.total_size), as in Envoy.
    let responseEnded = false;
    // Flow control (stream_flow.ts): the client's request body and the upstream's response body
    // are read only as fast as the other side and the plugins take them.
    const requestReader = new FlowReader();
    const responseReader = new FlowReader();
    // Envoy's stream idle timer: any data either way restarts it.
    const idle = streamIdleTimeoutMs > 0 ? setTimeout(() => idleTimeout(), streamIdleTimeoutMs) : undefined;
    const active = () => idle?.refresh();
    // A plugin holding more than the buffer limit pauses the direction's reader (filter_manager.ts).
    const onWatermark = (request: boolean, above: boolean) => (request ? requestReader : responseReader).watermark(above);
    const responseComplete = () => {
      responseEnded = true;
      if (upstreamStarted && !upstreamEnded) outgoing?.destroy();
    };
    // The request as Envoy's codec and connection manager hand it to the first filter.
    const requestHeaders = decodeRequestHeaders(req);
    mutateRequestHeaders(requestHeaders, "http");
    // Node refuses to send what a plugin may have written (a `:path` with a space, a header value
    // with a line break, a `:status` that is no code). Such a throw must end this stream, never
    // escape into the event loop and take the proxy down.
    const rejected = (what: string, err: unknown) => {
      logError(`${what}: ${(err as Error).message}`);
      res.destroy();
    };
    // Node's headersSent turns true once writeHead stored the head; this says it went out.
    let headFlushed = false;
    const flushHeaders = () => {
      if (headFlushed || res.destroyed) return;
      headFlushed = true;
      try {
        res.flushHeaders();
      } catch (err) {
        rejected("response rejected", err);
      }
    };
    // A reset once response headers left the chain: the client gets them, then the connection ends.
    const resetDownstream = () => {
      if (responseHeadersOut && !res.destroyed) {
        flushHeaders();
        res.socket?.destroySoon();
        return;
      }
      res.destroy();
    };
    // A reply the router generates (Envoy's sendLocalReply through the filters, or a reset once
    // the response started).
    const fail = (status: number, body: string, details: string, flags: string) => {
      if (responseHeadersOut) return resetDownstream();
      chain.info.responseFlags = flags;
      chain.info.responseCodeDetails = details;
      const local = { statusCode: status, details, body: Buffer.from(body), headers: [], grpcStatus: undefined };
      // The upstream's response reached a plugin that holds it: Envoy's local reply while encoding
      // goes straight to the client, no plugin sees it (docs/envoy/http-stream.md, "Local replies").
      if (chain.info.responseStarted && chain.streams[0]) return chain.streams[0].sendLocalReply(local, false);
      const reply = localReplyMessage(local, requestHeaders);
      chain.encodeHeaders(reply.headers, reply.body === undefined);
      if (reply.body) chain.encodeData(reply.body, true);
    };
    // Envoy's stream idle timeout: a local reply — 504 once the request was complete (the wait is
    // the upstream's or a plugin's), else 408 and the connection closes — or, once response headers
    // went out, a reset (the connection closes, even with writes still queued for a client that
    // stopped reading).
    const idleTimeout = () => {
      if (responseEnded || streamReset) return;
      if (!responseHeadersOut) return fail(requestEnded ? 504 : 408, "stream timeout", "stream_idle_timeout", "SI");
      chain.info.responseFlags = "SI";
      chain.info.responseCodeDetails = "stream_idle_timeout";
      streamReset = true;
      outgoing?.destroy();
      res.destroy();
    };
    // The route's direct response (a local reply of the router).
    const directResponse = () => {
      const reply = localReplyMessage({ statusCode: direct.status, details: "direct_response", body: Buffer.from(direct.body ?? ""), headers: [], grpcStatus: undefined }, requestHeaders);
      chain.info.responseCodeDetails = "direct_response";
      chain.encodeHeaders(reply.headers, reply.body === undefined);
      if (reply.body) chain.encodeData(reply.body, true);
    };
    const sendUpstream = (headers: HeaderMap, end: boolean) => {
      upstreamStarted = true;
      if (!upstream) return directResponse();
      // The router tells the upstream the route's timeout (the header stays in the map on_log reads).
      if (routeTimeoutMs > 0) headers.set("x-envoy-expected-rq-timeout-ms", String(routeTimeoutMs));
      chain.info.upstream = { ip: upstream.hostname, port: Number(upstream.port || (upstream.protocol === "https:" ? 443 : 80)) };
      const method = headers.get(":method") ?? "GET";
      try {
        outgoing = startRequest({ base: upstream, method, path: headers.get(":path") ?? "/", headers: encodeHeaders(headers, end, { method }) }, onUpstreamResponse);
        trackUpstreamRequest(outgoing, chain.info); // upstream.local_address, backend_latency, …
      } catch (err) {
        // Envoy's codec would fail the upstream request: the client gets its 503.
        logError(`request rejected: ${(err as Error).message}`);
        fail(503, "upstream connect error or disconnect/reset before headers. reset reason: protocol error", "upstream_reset_before_response_started{protocol_error}", "UPE");
        return;
      }
      upstreamSentAt = Date.now();
      outgoing.on("error", (err: NodeJS.ErrnoException) => {
        // Envoy reports a refused connection as a remote connection failure.
        const reason = err.code === "ECONNREFUSED" ? "remote connection failure" : "connection failure";
        fail(503, `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`, `upstream_reset_before_response_started{${reason.replace(/ /g, "_")}}`, "UF");
      });
      if (routeTimeoutMs > 0) {
        timer = setTimeout(() => {
          outgoing?.destroy();
          fail(504, "upstream request timeout", "upstream_response_timeout", "UT");
        }, routeTimeoutMs);
      }
      if (end) outgoing.end();
    };
    const onUpstreamResponse = (up: http.IncomingMessage) => {
      if (timer) clearTimeout(timer);
      active();
      responseReader.attach(up);
      const h = decodeResponseHeaders(up);
      // The router tells the client how long the upstream took.
      h.set("x-envoy-upstream-service-time", String(Date.now() - upstreamSentAt));
      const noBody = up.statusCode === 204 || up.statusCode === 304 || req.method === "HEAD" || up.headers["content-length"] === "0";
      upstreamEnded = noBody;
      chain.encodeHeaders(h, noBody);
      up.on("data", (c: Buffer) => {
        active();
        chain.encodeData(c, false);
      });
      // Envoy's HTTP/1 codec drops response trailers: the body just ends.
      up.on("end", () => {
        active();
        upstreamEnded = true;
        if (!noBody) chain.encodeData(EMPTY, true);
      });
      // The upstream went away mid-response (not because this stream was reset: then the client
      // already has what it gets).
      up.on("error", () => {
        if (!streamReset) resetDownstream();
      });
    };
    const chain = new FilterChain(chainPlugins, {
      upstream: {
        requestHeaders: (h, end) => sendUpstream(h, end),
        requestData: (d, end) => {
          if (!outgoing) return;
          if (d.length && !outgoing.write(d)) requestReader.blockedOn(outgoing);
          if (end) outgoing.end();
        },
        // Envoy's HTTP/1 codec drops request trailers (a plugin's too): the body just ends.
        requestTrailers: () => outgoing?.end(),
      },
      downstream: {
        responseHeaders: (h, end) => {
          if (res.headersSent || res.destroyed) return;
          responseHeadersOut = true;
          try {
            const status = Number(h.get(":status") ?? 200);
            // The connection closes after this response when the client asked for it, or when the
            // request is not over yet.
            mutateResponseHeaders(h, !res.shouldKeepAlive || !requestEnded);
            writeResponseHead(res, status, encodeHeaders(h, end, { status, headRequest: req.method === "HEAD" }));
            if (end) {
              headFlushed = true;
              res.end();
              responseComplete();
            }
            // Headers go out with the first body bytes when those follow at once (one write instead
            // of two); otherwise, as Envoy does, right away.
            else setImmediate(flushHeaders);
          } catch (err) {
            rejected("response rejected", err);
          }
        },
        responseData: (d, end) => {
          if (res.destroyed) return;
          try {
            headFlushed = true;
            if (d.length && !res.write(d)) responseReader.blockedOn(res);
            if (end) {
              res.end();
              responseComplete();
            }
          } catch (err) {
            rejected("response body rejected (did a plugin change the body but keep content-length?)", err);
          }
        },
        // Envoy's HTTP/1 codec drops response trailers: the body just ends.
        responseTrailers: () => {
          if (res.destroyed) return;
          res.end();
          responseComplete();
        },
      },
      reset: () => {
        streamReset = true;
        outgoing?.destroy();
        resetDownstream();
      },
    }, {
      protocol: `HTTP/${req.httpVersion}`,
      source: { ip: req.socket.remoteAddress ?? "127.0.0.1", port: req.socket.remotePort ?? 0 },
      destination: { ip: req.socket.localAddress ?? "127.0.0.1", port: req.socket.localPort ?? 0 },
      // The route and virtual host pwasm's Envoy bootstrap declares (an unnamed route in virtual
      // host "local"), as Envoy reports them (docs/envoy/properties.md).
      routeName: "", virtualHostName: "local",
      clusterName: upstream ? "upstream" : "",
    }, { worker: nextWorker++, onWatermark, tap: inspector.live ? inspector.live.begin(chainPlugins, { method: requestHeaders.get(":method") ?? "", path: requestHeaders.get(":path") ?? "", authority: requestHeaders.get(":authority") ?? "" }) : undefined });

    const hasBody = req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
    requestEnded = !hasBody;
    chain.decodeHeaders(requestHeaders, !hasBody);
    if (hasBody) {
      requestReader.attach(req);
      req.on("data", (c: Buffer) => {
        active();
        if (!responseEnded) chain.decodeData(c, false);
      });
      // Envoy's HTTP/1 codec drops request trailers: the body just ends.
      req.on("end", () => {
        active();
        requestEnded = true;
        if (!responseEnded) chain.decodeData(EMPTY, true);
      });
    } else {
      req.resume();
    }
    res.on("close", () => {
      if (timer) clearTimeout(timer);
      if (idle) clearTimeout(idle);
      if (!res.writableFinished && upstreamStarted) outgoing?.destroy();
    });
    return chain;
  }

  const abandon = async (err: unknown): Promise<never> => {
    proxyHost.shutdown();
    if (server.listening) await new Promise((r) => server.close(r));
    throw err;
  };
  const address = await listen(server, options.host ?? "127.0.0.1", options.port ?? 10000).catch(abandon);
  const adminRoutes = options.inspector === false ? undefined : (req: http.IncomingMessage, res: http.ServerResponse) => inspector.handle(req, res);
  const admin: AdminListener | undefined = options.admin === false ? undefined : await startAdmin(host, options.admin, adminRoutes).catch(abandon);
  return runningProxy({
    url: `http://${address.address}:${address.port}`,
    adminUrl: admin?.url,
    host,
    live,
    onReplace: (next, previous) => inspector.pluginsReplaced(next, previous),
    async close() {
      // Connections still busy after the drain time are closed: their streams end (reset).
      const drain = setTimeout(() => server.closeAllConnections(), options.drainTimeoutMs ?? 5000);
      inspector.close(); // its feeds would keep the admin listener open
      await Promise.all([
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeIdleConnections();
        }),
        admin?.close(),
      ]);
      clearTimeout(drain);
      // A closed socket ends its stream a moment later: plugins shut down after their last stream.
      await live.idle();
      proxyHost.shutdown();
    },
  });
}
