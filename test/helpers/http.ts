// One HTTP client for the tests: a request to a loopback server, its status, headers and body.
import http from "node:http";

/** A response as a test reads it. */
export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Default: a new connection per request. */
  agent?: http.Agent | false;
  /** Default 10 s. */
  timeoutMs?: number;
  /** Resolve with status 0 when the server resets the connection, instead of rejecting. */
  resetAsStatus0?: boolean;
}

/** Sends one request and reads the whole response. */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpReply> {
  const reset: HttpReply = { status: 0, headers: {}, body: "" };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", (err) => (options.resetAsStatus0 ? resolve(reset) : reject(err)));
    });
    req.on("error", (err: NodeJS.ErrnoException) => (options.resetAsStatus0 && err.code === "ECONNRESET" ? resolve(reset) : reject(err)));
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.end(options.body);
  });
}
