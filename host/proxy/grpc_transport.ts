// gRPC callouts for the dev proxy, sent for real over HTTP/2 (node:http2) to the URL configured for
// the cluster, as Envoy's gRPC async client sends them: POST /<service>/<method>, content-type
// application/grpc, te: trailers, grpc-timeout for unary deadlines, length-prefixed messages. A unary
// call ends with its response message or a failure (status from grpc-status, or UNAVAILABLE when
// the connection fails, DEADLINE_EXCEEDED on timeout); a stream reports initial metadata, each
// message, trailing metadata and the close.
import http2 from "node:http2";
import { HeaderMap } from "../values/header_map.js";
import type {
  GrpcCallHandle, GrpcCalloutRequest, GrpcEvents, GrpcStreamHandle, GrpcTransport,
} from "../services/transports.js";

/** gRPC status codes the transport produces itself. */
const DEADLINE_EXCEEDED = 4;
const INTERNAL = 13;
const UNAVAILABLE = 14;

// Headers the client sets itself; initial metadata may not override them.
const RESERVED = new Set(["content-type", "te", "grpc-timeout", "host", "connection", "transfer-encoding", "upgrade", "keep-alive"]);

/** Encodes one gRPC message: a 0 compression flag, the u32 big-endian length, the bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** Splits length-prefixed gRPC messages out of a byte stream. */
export class GrpcFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the messages completed by them, or an error text for a bad frame. */
  push(chunk: Buffer): Buffer[] | string {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.pending.length >= 5) {
      if (this.pending[0] !== 0) return "compressed gRPC messages are not supported";
      const len = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + len) break;
      out.push(Buffer.from(this.pending.subarray(5, 5 + len)));
      this.pending = this.pending.subarray(5 + len);
    }
    return out;
  }

  /** Bytes of an unfinished message. */
  get leftover(): number {
    return this.pending.length;
  }
}

// Response headers (byte strings) without HTTP/2 pseudo-headers.
function metadataOf(headers: http2.IncomingHttpHeaders): HeaderMap {
  const m = new HeaderMap();
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(":") || v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) m.add(k, Buffer.from(String(x), "utf8").toString("latin1"));
  }
  return m;
}

function grpcMessageOf(headers: http2.IncomingHttpHeaders): string {
  const m = headers["grpc-message"];
  if (typeof m !== "string") return "";
  try {
    return decodeURIComponent(m);
  } catch {
    return m;
  }
}

/** Sends gRPC callouts over HTTP/2 to `clusters[name]` (http:// for h2c, https:// for TLS). */
export class Http2GrpcTransport implements GrpcTransport {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(readonly clusters: Map<string, URL>) {}

  hasCluster(cluster: string): boolean {
    return this.clusters.has(cluster);
  }

  // One HTTP/2 connection per cluster origin, reopened when it closed.
  private session(url: URL): http2.ClientHttp2Session {
    const key = url.origin;
    const cur = this.sessions.get(key);
    if (cur && !cur.closed && !cur.destroyed) return cur;
    const s = http2.connect(url.origin);
    s.on("error", () => this.sessions.delete(key));
    s.on("close", () => {
      if (this.sessions.get(key) === s) this.sessions.delete(key);
    });
    s.unref();
    this.sessions.set(key, s);
    return s;
  }

  private open(req: GrpcCalloutRequest, timeoutMs: number): http2.ClientHttp2Stream | string {
    const url = this.clusters.get(req.cluster);
    if (!url) return `unknown cluster ${req.cluster}`;
    const headers: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":scheme": url.protocol === "https:" ? "https" : "http",
      ":authority": url.host,
      ":path": `/${req.serviceName}/${req.method}`,
      "content-type": "application/grpc",
      te: "trailers",
    };
    if (timeoutMs > 0) headers["grpc-timeout"] = `${timeoutMs}m`;
    for (const [k, v] of req.initialMetadata.entries()) {
      if (k.startsWith(":") || RESERVED.has(k)) continue;
      const text = Buffer.from(v, "latin1").toString("utf8");
      const cur = headers[k];
      headers[k] = cur === undefined ? text : Array.isArray(cur) ? [...cur, text] : [String(cur), text];
    }
    try {
      return this.session(url).request(headers);
    } catch (err) {
      return (err as Error).message;
    }
  }

  // Envoy's async gRPC client sends on the dispatcher's next turn: a call cancelled before then —
  // by the callback that made it, or with the VM that made it, as Envoy's configuration check (the
  // canary VM, docs/envoy/lifecycle.md) drops its VM — never reaches the server. So calls and
  // streams open on the next turn of Node's loop, not at once.
  call(req: GrpcCalloutRequest, token: number, events: GrpcEvents): GrpcCallHandle | undefined {
    if (!this.clusters.has(req.cluster)) return undefined;
    let cancelled = false;
    let started: GrpcCallHandle | undefined;
    setImmediate(() => {
      if (cancelled) return;
      started = this.startCall(req, token, events);
      if (!started) events.close(UNAVAILABLE, "the call could not be opened");
    });
    return {
      cancel: () => {
        cancelled = true;
        started?.cancel();
      },
    };
  }

  stream(req: GrpcCalloutRequest, token: number, events: GrpcEvents): GrpcStreamHandle | undefined {
    if (!this.clusters.has(req.cluster)) return undefined;
    let reset = false;
    let started: GrpcStreamHandle | undefined;
    // What the plugin sent before the stream opened, in order (see call()).
    const queued: Array<(h: GrpcStreamHandle) => void> = [];
    setImmediate(() => {
      if (reset) return;
      started = this.startStream(req, token, events);
      if (!started) return events.close(UNAVAILABLE, "the stream could not be opened");
      for (const q of queued.splice(0)) q(started);
    });
    const later = (f: (h: GrpcStreamHandle) => void) => (started ? f(started) : queued.push(f));
    return {
      send: (message, endStream) => later((h) => h.send(message, endStream)),
      close: () => later((h) => h.close()),
      reset: () => {
        reset = true;
        started?.reset();
      },
    };
  }

  private startCall(req: GrpcCalloutRequest, _token: number, events: GrpcEvents): GrpcCallHandle | undefined {
    const stream = this.open(req, req.timeoutMs);
    if (typeof stream === "string") return undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      fn();
    };
    const reader = new GrpcFrameReader();
    const messages: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => { headers = h; });
    stream.on("data", (chunk: Buffer) => {
      const got = reader.push(chunk);
      if (typeof got === "string") {
        finish(() => events.close(INTERNAL, got));
        stream.close(http2.constants.NGHTTP2_CANCEL);
      } else {
        messages.push(...got);
      }
    });
    const done = (trailers: http2.IncomingHttpHeaders) => finish(() => {
      const statusText = trailers["grpc-status"] ?? headers["grpc-status"];
      const httpStatus = Number(headers[":status"] ?? 0);
      if (statusText === undefined) {
        events.close(httpStatus && httpStatus !== 200 ? UNAVAILABLE : INTERNAL, `upstream answered HTTP ${httpStatus || "?"} without grpc-status`);
      } else if (Number(statusText) !== 0) {
        events.close(Number(statusText), grpcMessageOf(trailers["grpc-message"] !== undefined ? trailers : headers));
      } else if (messages.length !== 1 || reader.leftover > 0) {
        events.close(INTERNAL, `a unary call answered ${messages.length} messages`);
      } else {
        events.message(messages[0]!);
      }
    });
    let trailersSeen: http2.IncomingHttpHeaders | undefined;
    stream.on("trailers", (t) => { trailersSeen = t; });
    stream.on("end", () => done(trailersSeen ?? {}));
    stream.on("error", (err) => finish(() => events.close(UNAVAILABLE, err.message)));
    stream.on("close", () => finish(() => events.close(UNAVAILABLE, "stream closed before a response")));
    if (req.timeoutMs > 0) {
      timer = setTimeout(() => {
        finish(() => events.close(DEADLINE_EXCEEDED, "gRPC call timed out"));
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, req.timeoutMs);
    }
    stream.end(grpcFrame(req.message));
    return {
      cancel: () => {
        settled = true;
        if (timer) clearTimeout(timer);
        stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  private startStream(req: GrpcCalloutRequest, _token: number, events: GrpcEvents): GrpcStreamHandle | undefined {
    const stream = this.open(req, 0);
    if (typeof stream === "string") return undefined;
    let closed = false;
    const close = (status: number, message: string) => {
      if (closed) return;
      closed = true;
      events.close(status, message);
    };
    const reader = new GrpcFrameReader();
    let sawHeaders = false;
    stream.on("response", (h, flags) => {
      sawHeaders = true;
      // A trailers-only response (headers that end the stream) carries the status.
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM || h["grpc-status"] !== undefined) {
        events.trailingMetadata(metadataOf(h));
        close(Number(h["grpc-status"] ?? UNAVAILABLE), grpcMessageOf(h));
        return;
      }
      events.initialMetadata(metadataOf(h));
    });
    stream.on("data", (chunk: Buffer) => {
      const got = reader.push(chunk);
      if (typeof got === "string") {
        close(INTERNAL, got);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        return;
      }
      for (const m of got) events.message(m);
    });
    stream.on("trailers", (t) => {
      events.trailingMetadata(metadataOf(t));
      close(Number(t["grpc-status"] ?? INTERNAL), grpcMessageOf(t));
    });
    stream.on("error", (err) => close(UNAVAILABLE, err.message));
    stream.on("close", () => close(sawHeaders ? INTERNAL : UNAVAILABLE, "stream closed without a status"));
    return {
      send: (message, endStream) => {
        if (stream.writable) stream.write(grpcFrame(message));
        if (endStream && !stream.writableEnded) stream.end();
      },
      close: () => {
        if (!stream.writableEnded) stream.end();
      },
      reset: () => {
        closed = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  /** Closes every connection. */
  close(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}
