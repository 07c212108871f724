// The CLI's HTTP/1.1 client, for every command and runner that sends requests on loopback (the
// demo, the differential runner, Envoy's admin API): requests with headers in a given order, bodies
// whole or chunked (with trailers), responses read whole with their headers and trailers as they came.
import http from "node:http";

/** Header fields in order, names lower-case as read. */
export type HeaderList = Array<[string, string]>;

/** One request. */
export interface HttpRequestSpec {
  method?: string;
  /** The request target as sent (origin form `/x?y`, or absolute form `http://h/x`). */
  path?: string;
  /** Headers in order; `host` defaults to the address the request goes to. */
  headers?: HeaderList | Record<string, string>;
  /** A body sent with content-length. */
  body?: string;
  /** A body sent with chunked transfer encoding, one chunk per entry, `chunkDelayMs` apart. */
  chunks?: string[];
  chunkDelayMs?: number;
  /** Request trailers (chunked encoding). */
  trailers?: Record<string, string>;
}

/** A response as the client read it. */
export interface HttpResponse {
  status: number;
  headers: HeaderList;
  body: string;
  trailers: HeaderList;
  /** Set when no complete response came. */
  error?: string;
}

const pairs = (raw: string[]): HeaderList => {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
};

/** The request's headers in order, `host` first unless given. */
export function requestHeaderList(r: HttpRequestSpec, hostPort: string): HeaderList {
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
export function sendRequest(base: string, r: HttpRequestSpec, timeoutMs = 15_000): Promise<HttpResponse> {
  const url = new URL(base);
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const empty = (error: string): HttpResponse => ({ status: 0, headers: [], body: "", trailers: [], error });
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

/** The first value of header `name` (lower-case) in `headers`. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  return headers.find(([k]) => k === name)?.[1];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A GET on loopback, bounded in time; the body is read whole (admin pages are small). */
export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}
