// The servers behind a scenario's proxies, on loopback: the echo upstream (HTTP or TCP) and the
// callout targets. Each records what it received, in order, with headers as sent on the wire.
// HTTP servers speak HTTP/1.1 and, to a client that opens with HTTP/2's preface (an Envoy cluster
// with HTTP/2 configured), HTTP/2 cleartext on the same port.
import http from "node:http";
import http2 from "node:http2";
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

type Reply = http.ServerResponse | http2.Http2ServerResponse;

// Writes a status and headers in order on either protocol.
function writeHead(res: Reply, status: number, headers: Array<[string, string]>): void {
  if (res instanceof http.ServerResponse) {
    res.writeHead(status, headers.flat());
    return;
  }
  const h: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of headers) {
    const key = k.toLowerCase();
    const was = h[key];
    h[key] = was === undefined ? v : [...(Array.isArray(was) ? was : [String(was)]), v];
  }
  res.writeHead(status, h);
}

// A gRPC server's answer (request content-type application/grpc…): status `x-echo-grpc-status`
// (default 0), message `x-echo-grpc-message`, extra headers `x-echo-header`. OK sends the request's
// message back with grpc-status in trailers; any other status is answered Trailers-Only (grpc-status
// in the response headers, no body), as gRPC servers answer a call that fails at once.
function grpcReply(res: Reply, r: ReceivedRequest): void {
  const status: Array<[string, string]> = [["grpc-status", header(r, "x-echo-grpc-status") ?? "0"]];
  const message = header(r, "x-echo-grpc-message");
  if (message !== undefined) status.push(["grpc-message", message]);
  const head: Array<[string, string]> = [["content-type", "application/grpc"], ...csvPairs(header(r, "x-echo-header"))];
  const out = res as http.ServerResponse; // the HTTP/2 compatibility response has the same calls
  if (status[0]![1] !== "0") {
    writeHead(res, 200, [...head, ...status]);
    out.end();
    return;
  }
  if (res instanceof http.ServerResponse) head.push(["trailer", status.map(([k]) => k).join(", ")]);
  writeHead(res, 200, head);
  out.write(Buffer.from(r.body, "latin1"));
  out.addTrailers(Object.fromEntries(status));
  out.end();
}

// Answers as the scenario's echo contract says (scenario.ts, UpstreamKind).
function echoReply(reply: Reply, r: ReceivedRequest, who: string): void {
  if (header(r, "content-type")?.startsWith("application/grpc")) return grpcReply(reply, r);
  const res = reply as http.ServerResponse; // the HTTP/2 compatibility response has the same calls
  const status = Number(header(r, "x-echo-status") ?? 200) || 200;
  const body = header(r, "x-echo-body") ?? `${who} saw ${r.method} ${r.path} ${r.body}`;
  const chunks = Math.max(1, Number(header(r, "x-echo-chunks") ?? 1) || 1);
  const chunkDelay = Math.max(0, Number(header(r, "x-echo-chunk-delay-ms") ?? 5) || 0);
  const trailers = csvPairs(header(r, "x-echo-trailers"));
  const send = () => {
    const h: Array<[string, string]> = [["content-type", "text/plain"], [`x-${who}`, "yes"], ...csvPairs(header(r, "x-echo-header"))];
    const chunked = chunks > 1 || trailers.length > 0;
    if (!chunked) h.push(["content-length", String(Buffer.byteLength(body))]);
    if (trailers.length > 0 && reply instanceof http.ServerResponse) h.push(["trailer", trailers.map(([k]) => k).join(", ")]);
    writeHead(reply, status, h);
    if (!chunked) return res.end(body);
    const size = Math.ceil(body.length / chunks);
    let i = 0;
    const next = () => {
      if (i < body.length) {
        res.write(body.slice(i, i + size));
        i += size;
        setTimeout(next, chunkDelay);
        return;
      }
      if (trailers.length > 0) res.addTrailers(Object.fromEntries(trailers));
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

// HTTP/2 headers as an HTTP/1.1 server would list them: `host` for `:authority`, no other pseudo-headers.
function h1Shaped(raw: string[]): HeaderList {
  return pairs(raw).flatMap(([k, v]): HeaderList => (k === ":authority" ? [["host", v]] : k.startsWith(":") ? [] : [[k, v]]));
}

/** An HTTP server with one of the scenario behaviours. */
export async function startHttpServer(kind: "echo" | Exclude<CalloutTargetKind, "refuse">, who = "upstream"): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: Reply) => {
    const h2 = req instanceof http2.Http2ServerRequest;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: ReceivedRequest = {
        method: req.method ?? "", path: req.url ?? "", headers: h2 ? h1Shaped(req.rawHeaders) : pairs(req.rawHeaders),
        body: Buffer.concat(chunks).toString("latin1"), trailers: pairs(req.rawTrailers),
      };
      received.push(r);
      if (kind === "hang") return;
      if (kind === "deny") {
        writeHead(res, 403, [["content-type", "text/plain"], ["content-length", "6"]]);
        (res as http.ServerResponse).end("denied");
        return;
      }
      echoReply(res, r, who);
    });
  };
  const h1 = http.createServer(handler);
  const h2 = http2.createServer(handler);
  // One port for both: a connection that opens with HTTP/2's preface goes to the HTTP/2 server.
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    s.once("readable", () => {
      const head: Buffer | null = s.read();
      if (!head) return;
      s.unshift(head);
      (head.subarray(0, 4).toString("latin1") === "PRI " ? h2 : h1).emit("connection", s);
    });
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
  if (kind === "refuse") return refusingPort();
  return kind === "tcp-echo" ? startTcpEchoServer() : startHttpServer("echo");
}

/** A callout target. */
export function startCalloutTarget(kind: CalloutTargetKind): Promise<TestServer> {
  return kind === "refuse" ? refusingPort() : startHttpServer(kind, "callout");
}
