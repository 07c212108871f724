// The servers behind a scenario's proxies, on loopback: the echo upstream (HTTP or TCP) and the
// callout targets. Each records what it received, in order, with headers as sent on the wire.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { CalloutTargetKind, HeaderList, ReceivedRequest, UpstreamKind } from "./scenario.js";

/** A running test server. */
export interface TestServer {
  /** http://127.0.0.1:port (TCP servers too: the proxy's settings take a URL). */
  url: string;
  port: number;
  /** Requests (HTTP) received so far. */
  readonly received: ReceivedRequest[];
  /** Bytes (TCP) received so far, per connection in order of arrival. */
  readonly tcpReceived: string[];
  close(): Promise<void>;
}

const pairs = (raw: string[]): HeaderList => {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
};

const csvPairs = (v: string | undefined): HeaderList =>
  (v ?? "").split(",").map((p) => p.trim()).filter(Boolean).map((p) => {
    const i = p.indexOf("=");
    return [p.slice(0, i < 0 ? p.length : i), i < 0 ? "" : p.slice(i + 1)] as [string, string];
  });

function header(r: ReceivedRequest, name: string): string | undefined {
  return r.headers.find(([k]) => k === name)?.[1];
}

// Answers as the scenario's echo contract says (scenario.ts, UpstreamKind).
function echoReply(res: http.ServerResponse, r: ReceivedRequest, who: string): void {
  const status = Number(header(r, "x-echo-status") ?? 200) || 200;
  const body = header(r, "x-echo-body") ?? `${who} saw ${r.method} ${r.path} ${r.body}`;
  const chunks = Math.max(1, Number(header(r, "x-echo-chunks") ?? 1) || 1);
  const trailers = csvPairs(header(r, "x-echo-trailers"));
  const send = () => {
    const h: Array<[string, string]> = [["content-type", "text/plain"], [`x-${who}`, "yes"], ...csvPairs(header(r, "x-echo-header"))];
    const chunked = chunks > 1 || trailers.length > 0;
    if (!chunked) h.push(["content-length", String(Buffer.byteLength(body))]);
    if (trailers.length > 0) h.push(["trailer", trailers.map(([k]) => k).join(", ")]);
    res.writeHead(status, h.flat());
    if (!chunked) return res.end(body);
    const size = Math.ceil(body.length / chunks);
    let i = 0;
    const next = () => {
      if (i < body.length) {
        res.write(body.slice(i, i + size));
        i += size;
        setTimeout(next, 5);
        return;
      }
      if (trailers.length > 0) res.addTrailers(trailers);
      res.end();
    };
    next();
  };
  const delay = Number(header(r, "x-echo-delay-ms") ?? 0);
  if (delay > 0) setTimeout(send, delay);
  else send();
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  return new Promise((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  });
}

/** An HTTP server with one of the scenario behaviours. */
export async function startHttpServer(kind: "echo" | Exclude<CalloutTargetKind, "refuse">, who = "upstream"): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: ReceivedRequest = {
        method: req.method ?? "", path: req.url ?? "", headers: pairs(req.rawHeaders),
        body: Buffer.concat(chunks).toString("latin1"), trailers: pairs(req.rawTrailers),
      };
      received.push(r);
      if (kind === "hang") return;
      if (kind === "deny") {
        res.writeHead(403, ["content-type", "text/plain", "content-length", "6"]).end("denied");
        return;
      }
      echoReply(res, r, who);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, received, tcpReceived: [], close: () => closeServer(server, sockets) };
}

/** A TCP server that answers each read with `echo:<data>` and records what it read. */
export async function startTcpEchoServer(): Promise<TestServer> {
  const tcpReceived: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    const i = tcpReceived.push("") - 1;
    s.on("data", (d: Buffer) => {
      tcpReceived[i] += d.toString("latin1");
      s.write(`echo:${d.toString("latin1")}`);
    });
    s.on("end", () => s.end());
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, received: [], tcpReceived, close: () => closeServer(server, sockets) };
}

/** A loopback port nothing listens on (bound, then released). */
export async function refusingPort(): Promise<TestServer> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise<void>((r) => s.close(() => r()));
  return { url: `http://127.0.0.1:${port}`, port, received: [], tcpReceived: [], close: async () => undefined };
}

/** The upstream of a scenario. */
export function startUpstream(kind: UpstreamKind): Promise<TestServer> {
  return kind === "tcp-echo" ? startTcpEchoServer() : startHttpServer("echo");
}

/** A callout target. */
export function startCalloutTarget(kind: CalloutTargetKind): Promise<TestServer> {
  return kind === "refuse" ? refusingPort() : startHttpServer(kind, "callout");
}
