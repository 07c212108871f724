// A closed-loop HTTP/1.1 load generator for `pwasm bench --envoy`: a fixed number of requests over a
// fixed number of keep-alive connections, each connection sending its next request when the previous
// response is complete. A fixed request count (not a duration) is what CPU-per-request needs, and the
// same load shape for every variant keeps Envoy's batching alike. Responses are parsed just enough to
// find their end (content-length or chunked) and checked: a non-2xx answer or a broken connection is
// an error, never a silently cheaper request.
import net from "node:net";

/** What to send. */
export interface LoadOptions {
  /** http://host:port of the listener (path and query go into the request line). */
  url: string;
  /** Requests to complete. */
  requests: number;
  /** Keep-alive connections (default 8). */
  connections?: number;
  /** Extra request headers (besides host). */
  headers?: Array<[string, string]>;
  /** Gives up after this long (default 120 s): a stuck Envoy must not hang the benchmark. */
  timeoutMs?: number;
}

/** What came back. */
export interface LoadResult {
  /** Responses received whole. */
  completed: number;
  /** Wall time of the run, ms. */
  wallMs: number;
  /** The first response's status and headers (names lower-cased; repeated names joined by ", "). */
  first: { status: number; headers: Record<string, string> } | undefined;
}

/** A response that is not 2xx, a connection Envoy closed, or a timeout: the run's figures would lie. */
export class LoadError extends Error {}

// Bounds on what one response may hold: Envoy's answers here are small; a runaway response (a
// misconfigured upstream) is an error, not a growing buffer.
const MAX_HEADER_BYTES = 64 * 1024;

interface Parsed {
  status: number;
  headers: Record<string, string>;
  /** Bytes of the whole response (head + body), or undefined when more bytes are needed. */
  length: number | undefined;
}

// Parses one response from the start of `buf`: its status, headers and total length when complete.
function parseResponse(buf: Buffer): Parsed | undefined {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) {
    if (buf.length > MAX_HEADER_BYTES) throw new LoadError(`response head larger than ${MAX_HEADER_BYTES} bytes`);
    return undefined;
  }
  const lines = buf.toString("latin1", 0, headEnd).split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (!m) throw new LoadError(`not an HTTP/1.1 response: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  const bodyStart = headEnd + 4;
  const status = Number(m[1]);
  if (headers["transfer-encoding"]?.toLowerCase().includes("chunked")) {
    // Walk the chunks: size line, data, CRLF; a zero-size chunk then the trailer section ends it.
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", at);
      if (lineEnd < 0) return { status, headers, length: undefined };
      const size = parseInt(buf.toString("latin1", at, lineEnd), 16);
      if (!Number.isFinite(size) || size < 0) throw new LoadError("malformed chunked body");
      if (size === 0) {
        const end = buf.indexOf("\r\n\r\n", lineEnd);
        return { status, headers, length: end < 0 ? undefined : end + 4 };
      }
      at = lineEnd + 2 + size + 2;
      if (at > buf.length) return { status, headers, length: undefined };
    }
  }
  const contentLength = headers["content-length"] === undefined ? 0 : Number(headers["content-length"]);
  if (!Number.isSafeInteger(contentLength) || contentLength < 0) throw new LoadError(`bad content-length ${headers["content-length"]}`);
  return { status, headers, length: buf.length >= bodyStart + contentLength ? bodyStart + contentLength : undefined };
}

/** Keep-alive connections to one listener, reused run after run (connection setup is not measured). */
export interface LoadClient {
  /** Sends `requests` requests and resolves once every response arrived. */
  run(requests: number): Promise<LoadResult>;
  /** Closes the connections. */
  close(): void;
}

interface Connection {
  socket: net.Socket;
  buf: Buffer;
  waiting: boolean;
}

/** Opens `connections` keep-alive connections to `o.url` (resolves once all are connected). */
export async function openLoadClient(o: Omit<LoadOptions, "requests">): Promise<LoadClient> {
  const url = new URL(o.url);
  if (url.protocol !== "http:") throw new LoadError(`load goes to http:// listeners only, got ${o.url}`);
  const port = Number(url.port || 80);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const head = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, ...(o.headers ?? []).map(([k, v]) => `${k}: ${v}`)];
  const request = Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1");
  const timeoutMs = o.timeoutMs ?? 120_000;

  // The run in progress: how many to send, how many came back, and how it ends.
  let run: {
    requests: number; sent: number; completed: number; started: number; first: LoadResult["first"];
    resolve: (r: LoadResult) => void; reject: (e: Error) => void; timer: NodeJS.Timeout;
  } | undefined;
  let broken: Error | undefined;

  const fail = (err: Error) => {
    broken ??= err;
    const r = run;
    run = undefined;
    if (r) {
      clearTimeout(r.timer);
      r.reject(err);
    }
  };
  const sendNext = (c: Connection) => {
    if (!run || run.sent >= run.requests) return;
    run.sent++;
    c.waiting = true;
    c.socket.write(request);
  };
  const onData = (c: Connection, chunk: Buffer) => {
    c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]);
    try {
      for (;;) {
        const r = parseResponse(c.buf);
        if (!r || r.length === undefined) return;
        c.buf = c.buf.subarray(r.length);
        c.waiting = false;
        if (r.status < 200 || r.status > 299) throw new LoadError(`HTTP ${r.status} from ${o.url}${r.status === 503 ? " (a failed plugin answers 503)" : ""}`);
        const current = run;
        if (!current) throw new LoadError(`${o.url} answered a request nobody sent`);
        current.first ??= { status: r.status, headers: r.headers };
        current.completed++;
        if (current.completed === current.requests) {
          run = undefined;
          clearTimeout(current.timer);
          current.resolve({ completed: current.completed, wallMs: performance.now() - current.started, first: current.first });
          return;
        }
        sendNext(c);
      }
    } catch (err) {
      fail(err as Error);
    }
  };

  const count = Math.max(1, o.connections ?? 8);
  const conns: Connection[] = [];
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const c: Connection = { socket, buf: Buffer.alloc(0), waiting: false };
    conns.push(c);
    socket.setNoDelay(true);
    socket.once("connect", () => resolve());
    socket.on("data", (chunk: Buffer) => onData(c, chunk));
    socket.on("error", (err) => {
      reject(new LoadError(`connection to ${o.url} failed: ${err.message}`));
      fail(new LoadError(`connection to ${o.url} failed: ${err.message}`));
    });
    socket.on("close", () => {
      if (c.waiting || run) fail(new LoadError(`${o.url} closed a connection${run ? ` (${run.completed} of ${run.requests} responses)` : ""}`));
    });
  }))).catch((err: Error) => {
    for (const c of conns) c.socket.destroy();
    throw err;
  });

  return {
    run(requests: number): Promise<LoadResult> {
      if (broken) return Promise.reject(broken);
      if (run) return Promise.reject(new Error("a load run is already in progress"));
      if (!Number.isInteger(requests) || requests < 1) return Promise.reject(new Error(`requests must be a positive integer, got ${requests}`));
      return new Promise<LoadResult>((resolve, reject) => {
        const timer = setTimeout(() => fail(new LoadError(`${run?.completed ?? 0} of ${requests} responses after ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        run = { requests, sent: 0, completed: 0, started: performance.now(), first: undefined, resolve, reject, timer };
        for (const c of conns) sendNext(c);
      });
    },
    close(): void {
      broken ??= new Error("load client closed");
      for (const c of conns) c.socket.destroy();
    },
  };
}

/** Sends `requests` GETs over fresh keep-alive connections and resolves when every response arrived. */
export async function sendRequests(o: LoadOptions): Promise<LoadResult> {
  const client = await openLoadClient({ ...o, connections: Math.max(1, Math.min(o.connections ?? 8, o.requests)) });
  try {
    return await client.run(o.requests);
  } finally {
    client.close();
  }
}
