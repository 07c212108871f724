// HTTP callouts for the dev proxy: each cluster name maps to a base URL, and callouts are sent for
// real over HTTP/1.1 the way Envoy's async client, router and HTTP/1 codec send them
// (docs/envoy/http-stream.md, "HTTP callouts"): `host` first, the plugin's headers in order, then
// `x-envoy-internal: true` and the timeout in `x-envoy-expected-rq-timeout-ms`, a body with its
// content-length (`content-length: 0` for a body-less POST), no trailers (the codec drops them). The
// plugin sees the response with `x-envoy-upstream-service-time` and without `keep-alive` or
// trailers. What goes wrong before a response arrives comes back as a response Envoy's router
// generates (503 for a connection failure, 504 for the timeout); a reset after the response started
// is a failure (the plugin sees 0 headers, proxy_get_status 11 "reset").
import type http from "node:http";
import type { CalloutTransport, HttpCalloutRequest, HttpCalloutResult } from "../services/transports.js";
import { HeaderMap, RESPONSE_HEADERS_INLINE, RESPONSE_TRAILERS_INLINE } from "../values/header_map.js";
import { decodeResponseHeaders, encodeHeaders, startRequest } from "./http1_codec.js";
import type { CalloutTap } from "../inspect/tap.js";

// A response Envoy generates itself (a local reply: text/plain with a content-length).
function generated(status: number, body: string): HttpCalloutResult {
  return {
    headers: new HeaderMap([":status", String(status), "content-length", String(body.length), "content-type", "text/plain"], RESPONSE_HEADERS_INLINE),
    body: Buffer.from(body),
    trailers: new HeaderMap([], RESPONSE_TRAILERS_INLINE),
  };
}

/** Sends callouts to `clusters[name]` (a base URL such as http://127.0.0.1:8081). */
export class HttpCalloutTransport implements CalloutTransport {
  /** Sees each callout and its outcome while set (the dev proxy's request inspector). */
  tap: CalloutTap | null = null;

  constructor(readonly clusters: Map<string, URL>) {}

  hasCluster(cluster: string): boolean {
    return this.clusters.has(cluster);
  }

  send(req: HttpCalloutRequest, _token: number, onResult: (r: HttpCalloutResult) => void) {
    const base = this.clusters.get(req.cluster);
    if (!base) return undefined;
    // What Envoy's async client and router add to the plugin's headers.
    const headers = req.headers.clone();
    headers.set("x-envoy-internal", "true");
    if (req.timeoutMs > 0) headers.set("x-envoy-expected-rq-timeout-ms", String(req.timeoutMs));
    const method = headers.get(":method")!;
    let settled = false;
    let responded = false;
    const recorded = this.tap ? this.tap.send(req.cluster, headers, req.body) : undefined;
    const finish = (r: HttpCalloutResult) => {
      if (settled) return;
      settled = true;
      if (recorded) recorded(r);
      onResult(r);
    };
    let sentAt = 0;
    const onResponse = (res: http.IncomingMessage) => {
      responded = true;
      const h = decodeResponseHeaders(res);
      h.set("x-envoy-upstream-service-time", String(Date.now() - sentAt));
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      // Response trailers are dropped by the codec.
      res.on("end", () => finish({ headers: h, body: Buffer.concat(chunks), trailers: new HeaderMap([], RESPONSE_TRAILERS_INLINE) }));
      res.on("error", () => finish({ reset: "reset" }));
      res.on("aborted", () => finish({ reset: "reset" }));
    };
    let sent: http.ClientRequest;
    try {
      sent = startRequest({ base, method, path: headers.get(":path")!, headers: encodeHeaders(headers, req.body.length === 0, { method }) }, onResponse);
    } catch {
      // Headers Node refuses to send: Envoy would refuse the send too.
      return undefined;
    }
    sentAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    if (req.timeoutMs > 0) {
      timer = setTimeout(() => {
        finish(generated(504, "upstream request timeout"));
        sent.destroy();
      }, req.timeoutMs);
    }
    sent.on("error", (err: NodeJS.ErrnoException) => {
      if (responded) return finish({ reset: "reset" });
      // Envoy reports a refused connection as a remote connection failure.
      const reason = err.code === "ECONNREFUSED" ? "remote connection failure" : "connection failure";
      finish(generated(503, `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`));
    });
    sent.on("close", () => timer && clearTimeout(timer));
    if (req.body.length > 0) sent.write(req.body);
    sent.end();
    return {
      cancel: () => {
        settled = true;
        if (timer) clearTimeout(timer);
        sent.destroy();
      },
    };
  }
}
