// HTTP callouts for the dev proxy: each cluster name maps to a base URL, and callouts are sent for
// real. As in Envoy, a timeout arrives as a generated 504 and a connection failure as a reset.
import http from "node:http";
import https from "node:https";
import type { CalloutTransport, HttpCalloutRequest, HttpCalloutResult } from "../imports/http_call.js";
import { HeaderMap } from "../state/header_map.js";

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
    for (const [k, v] of req.headers.entries()) {
      if (k.startsWith(":")) continue;
      const cur = headers[k];
      headers[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
    }
    headers.host = req.headers.get(":authority")!;
    const lib = base.protocol === "https:" ? https : http;
    let settled = false;
    const finish = (r: HttpCalloutResult) => {
      if (settled) return;
      settled = true;
      onResult(r);
    };
    const outgoing = lib.request({
      protocol: base.protocol, hostname: base.hostname, port: base.port,
      method: req.headers.get(":method"), path: req.headers.get(":path"), headers,
    }, (res) => {
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
    });
    let timer: NodeJS.Timeout | undefined;
    if (req.timeoutMs > 0) {
      timer = setTimeout(() => {
        outgoing.destroy();
        finish({ headers: new HeaderMap([":status", "504", "content-type", "text/plain"]), body: Buffer.from("upstream request timeout"), trailers: new HeaderMap() });
      }, req.timeoutMs);
    }
    outgoing.on("error", () => finish({ reset: "reset" }));
    outgoing.on("close", () => timer && clearTimeout(timer));
    if (req.body.length > 0) outgoing.write(req.body);
    outgoing.end();
    return {
      cancel: () => {
        settled = true;
        if (timer) clearTimeout(timer);
        outgoing.destroy();
      },
    };
  }
}
