// A recording HTTP relay on 127.0.0.1: sits on the wire between two proxies and keeps the headers
// each request and response carried, so a test can show what travelled between the sidecars.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { httpRequest, type HttpReply } from "../../helpers/http.js";

/** One exchange as seen on the wire. */
export interface WireExchange {
  requestHeaders: http.IncomingHttpHeaders;
  responseHeaders: http.IncomingHttpHeaders;
}

export interface Relay {
  url: string;
  seen: WireExchange[];
  close(): Promise<void>;
}

/** Starts a relay forwarding every request to `target` (an http:// base URL). */
export async function startRelay(target: string): Promise<Relay> {
  const to = new URL(target);
  const seen: WireExchange[] = [];
  const server = http.createServer((req, res) => {
    const out = http.request({ hostname: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      seen.push({ requestHeaders: req.headers, responseHeaders: up.headers });
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on("error", () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** GET through a proxy; resolves with status, headers and body. */
export function get(url: string, path: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return httpRequest(`${url}${path}`, { headers });
}

/** Parses `name{a="1",b="2"} value` lines of a family into label objects with their values. */
export function seriesOf(text: string, family: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${family}{`)) continue;
    const close = line.lastIndexOf("}");
    const labels: Record<string, string> = {};
    for (const m of line.slice(family.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    out.push({ labels, value: Number(line.slice(close + 1).trim()) });
  }
  return out;
}
