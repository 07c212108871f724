// The scenario's client: HTTP/1.1 requests with headers in a given order, bodies whole or chunked
// (with trailers), responses read with their headers and trailers as they came; and TCP exchanges.
import http from "node:http";
import net from "node:net";
import type { HeaderList, ScenarioRequest } from "./scenario.js";

/** A response as the client read it. */
export interface ClientResponse {
  status: number;
  headers: HeaderList;
  body: string;
  trailers: HeaderList;
  /** Set when no complete response came. */
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pairs = (raw: string[]): HeaderList => {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
};

/** The request's headers in order, `host` first unless given. */
export function requestHeaderList(r: ScenarioRequest, hostPort: string): HeaderList {
  const given: HeaderList = Array.isArray(r.headers) ? [...r.headers] : Object.entries(r.headers ?? {});
  const list: HeaderList = given.some(([k]) => k.toLowerCase() === "host") ? [] : [["host", hostPort]];
  list.push(...given);
  if (r.chunks || r.trailers) {
    list.push(["transfer-encoding", "chunked"]);
    if (r.trailers) list.push(["trailer", Object.keys(r.trailers).join(", ")]);
  } else if (r.body !== undefined) {
    list.push(["content-length", String(Buffer.byteLength(r.body))]);
  }
  return list;
}

/** Sends one request to `base` (http://host:port) and reads the whole response (bounded by `timeoutMs`). */
export function sendRequest(base: string, r: ScenarioRequest, timeoutMs = 15_000): Promise<ClientResponse> {
  const url = new URL(base);
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: ClientResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const empty = (error: string): ClientResponse => ({ status: 0, headers: [], body: "", trailers: [], error });
    const req = http.request({
      host: url.hostname, port: url.port, method: r.method ?? "GET", path: r.path ?? "/",
      headers: requestHeaderList(r, url.host).flat(), agent: false, setHost: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => done({
        status: res.statusCode ?? 0, headers: pairs(res.rawHeaders),
        body: Buffer.concat(chunks).toString("latin1"), trailers: pairs(res.rawTrailers),
      }));
      res.on("error", () => undefined);
      // A reset after the headers: what came so far, and the error.
      res.on("aborted", () => done({
        status: res.statusCode ?? 0, headers: pairs(res.rawHeaders),
        body: Buffer.concat(chunks).toString("latin1"), trailers: [], error: "reset after the response started",
      }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(empty(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (err: NodeJS.ErrnoException) => done(empty(err.code === "ECONNRESET" ? "reset before the response" : err.code === "ECONNREFUSED" ? "connection refused" : err.message)));
    void (async () => {
      try {
        if (r.chunks) {
          for (const [i, c] of r.chunks.entries()) {
            if (i > 0 && r.chunkDelayMs) await sleep(r.chunkDelayMs);
            if (req.destroyed) return;
            req.write(c);
          }
        } else if (r.body !== undefined) {
          req.write(r.body);
        }
        if (r.trailers) req.addTrailers(r.trailers);
        req.end();
      } catch {
        // the request failed; its error handler answers
      }
    })();
  });
}

/** What a TCP exchange saw. */
export interface TcpExchange {
  received: string;
  ended: "closed" | "reset" | "open";
}

/** Writes `send` (chunks `delayMs` apart) to `host:port`, half-closes unless `keepOpen`, reads until the end or `waitMs`. */
export function tcpExchange(base: string, o: { send: string[]; delayMs?: number; keepOpen?: boolean; waitMs?: number }): Promise<TcpExchange> {
  const url = new URL(base);
  return new Promise((resolve) => {
    let received = "";
    let settled = false;
    const socket = net.connect(Number(url.port), url.hostname);
    const done = (ended: TcpExchange["ended"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, ended });
    };
    let timer: NodeJS.Timeout | undefined;
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    socket.on("end", () => done("closed"));
    socket.on("close", (hadError) => done(hadError ? "reset" : "closed"));
    socket.on("error", () => done("reset"));
    socket.on("connect", () => {
      void (async () => {
        for (const [i, c] of o.send.entries()) {
          if (i > 0 && o.delayMs) await sleep(o.delayMs);
          if (socket.destroyed) return;
          socket.write(c);
        }
        if (!o.keepOpen) socket.end();
        timer = setTimeout(() => done("open"), o.waitMs ?? 2000);
      })();
    });
  });
}
