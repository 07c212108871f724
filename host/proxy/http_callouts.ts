// HTTP callouts for the dev proxy: each cluster name maps to a base URL, and callouts are sent for
// real over HTTP/1.1. As in Envoy, what goes wrong before a response arrives comes back as a
// response Envoy's router generates (503 for a connection failure, 504 for the timeout); a reset
// after the response started is a failure (the plugin sees 0 headers, proxy_get_status 11 "reset").
import http from "node:http";
import https from "node:https";
import type { CalloutTransport, HttpCalloutRequest, HttpCalloutResult } from "../imports/http_call.js";
import { HeaderMap } from "../state/header_map.js";

// A response Envoy generates itself (a local reply: text/plain with a content-length).
function generated(status: number, body: string): HttpCalloutResult {
  return {
    headers: new HeaderMap([":status", String(status), "content-length", String(body.length), "content-type", "text/plain"]),
    body: Buffer.from(body),
    trailers: new HeaderMap(),
  };
}

/** Sends callouts to `clusters[name]` (a base URL such as http://127.0.0.1:8081). */
export class HttpCalloutTransport implements CalloutTransport {
  constructor(readonly clusters: Map<string, URL>) {}

  hasCluster(cluster: string): boolean {
    return this.clusters.has(cluster);
  }

  send(req: HttpCalloutRequest, _token: number, onResult: (r: HttpCalloutResult) => void) {
    const base = this.clusters.get(req.cluster);
    if (!base) return undefined;
    const headers: Record<string, string | string[]> = {};
    const hasTrailers = req.trailers.count > 0;
    for (const [k, v] of req.headers.entries()) {
      // HTTP/1.1 sends trailers only with chunked encoding, which excludes content-length.
      if (k.startsWith(":") || (hasTrailers && k === "content-length")) continue;
      const cur = headers[k];
      headers[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
    }
    headers.host = req.headers.get(":authority")!;
    const lib = base.protocol === "https:" ? https : http;
    let settled = false;
    let responded = false;
    const finish = (r: HttpCalloutResult) => {
      if (settled) return;
      settled = true;
      onResult(r);
    };
    let outgoing: http.ClientRequest | undefined;
    try {
      outgoing = lib.request({
        protocol: base.protocol, hostname: base.hostname, port: base.port,
        method: req.headers.get(":method"), path: req.headers.get(":path"), headers,
      }, (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const h = new HeaderMap([":status", String(res.statusCode ?? 0)]);
          for (let i = 0; i < res.rawHeaders.length; i += 2) h.add(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const t = new HeaderMap();
          for (let i = 0; i < res.rawTrailers.length; i += 2) t.add(res.rawTrailers[i]!, res.rawTrailers[i + 1]!);
          finish({ headers: h, body: Buffer.concat(chunks), trailers: t });
        });
        res.on("error", () => finish({ reset: "reset" }));
        res.on("aborted", () => finish({ reset: "reset" }));
      });
      // Trailers are checked only here: a refusal must not escape into the plugin's VM call.
      if (hasTrailers) outgoing.addTrailers(req.trailers.entries());
    } catch {
      // Headers or trailers Node refuses to send: Envoy would refuse the send too.
      settled = true;
      outgoing?.on("error", () => {}).destroy();
      return undefined;
    }
    const sent = outgoing;
    let timer: NodeJS.Timeout | undefined;
    if (req.timeoutMs > 0) {
      timer = setTimeout(() => {
        finish(generated(504, "upstream request timeout"));
        sent.destroy();
      }, req.timeoutMs);
    }
    sent.on("error", () => {
      if (responded) finish({ reset: "reset" });
      else finish(generated(503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure"));
    });
    sent.on("close", () => timer && clearTimeout(timer));
    // Written before end(): with the whole body in end(), Node would send a content-length and drop the trailers.
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
