// What Envoy's HTTP/1.1 codec does to headers, for the dev proxy (docs/envoy/http-stream.md,
// "The HTTP/1.1 codec"): the maps it builds from the wire — request: `:authority` from Host (in
// front), `:path` and `:method`, an absolute-form target taken apart; response: `:status`,
// `keep-alive` dropped, no content-length on a 204; repeats of inline headers joined — and the
// header lines it writes: `host` from `:authority`, no pseudo-headers, then `content-length: 0`
// or `transfer-encoding: chunked` as the message needs. HTTP/1.1 trailers are off by default in
// Envoy: the codec drops them both ways, so the dev proxy never reads or writes any.
import http from "node:http";
import https from "node:https";
import { HeaderMap, REQUEST_HEADERS_INLINE, RESPONSE_HEADERS_INLINE } from "../values/header_map.js";

const COLON = 58;

// Methods whose headers-only request gets no `content-length: 0` (every other method does).
const BODILESS = new Set(["GET", "HEAD", "DELETE", "TRACE", "CONNECT"]);

/** The request header map Envoy's codec builds from a request as Node parsed it. */
export function decodeRequestHeaders(req: http.IncomingMessage): HeaderMap {
  const h = new HeaderMap([], REQUEST_HEADERS_INLINE);
  const raw = req.rawHeaders;
  // `host` lands on `:authority` (the request map's alias), in front with the pseudo-headers.
  for (let i = 0; i + 1 < raw.length; i += 2) h.add(raw[i]!, raw[i + 1]!);
  const target = req.url ?? "/";
  const absolute = target.charCodeAt(0) !== 47 /* / */ ? parseAbsolute(target) : undefined;
  if (absolute) {
    h.set(":authority", absolute.host);
    h.add(":scheme", absolute.protocol.slice(0, -1));
    h.add(":path", `${absolute.pathname}${absolute.search}`);
  } else {
    if (!h.has(":authority")) h.add(":authority", "");
    h.add(":path", target);
  }
  h.add(":method", req.method ?? "GET");
  return h;
}

// An absolute-form request target (`http://host/path`), or undefined.
function parseAbsolute(target: string): URL | undefined {
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    return new URL(target);
  } catch {
    return undefined;
  }
}

/** The response header map Envoy's codec builds from an upstream (or callout) response. */
export function decodeResponseHeaders(res: http.IncomingMessage): HeaderMap {
  const status = res.statusCode ?? 502;
  const h = new HeaderMap([":status", String(status)], RESPONSE_HEADERS_INLINE);
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length === 10 && k.toLowerCase() === "keep-alive") continue;
    h.add(k, raw[i + 1]!);
  }
  if (status === 204) h.remove("content-length");
  return h;
}

/** What kind of message a header block starts. */
export type Http1Message = { method: string } | { status: number; headRequest: boolean };

/**
 * The header lines Envoy's codec writes for `map`, flat [name, value, …]: every entry in order,
 * `:authority` as `host`, other pseudo-headers left out; without a content-length, a headers-only
 * message gets `content-length: 0` (not a GET, HEAD, DELETE or TRACE request, a 204 or a reply to
 * HEAD) and any other `transfer-encoding: chunked` (not a 1xx or 204).
 */
export function encodeHeaders(map: HeaderMap, endStream: boolean, message: Http1Message): string[] {
  const out: string[] = [];
  const p = map.pairs;
  let contentLength = false;
  for (let i = 0; i + 1 < p.length; i += 2) {
    const k = p[i]!;
    if (k.charCodeAt(0) === COLON) {
      if (k === ":authority") out.push("host", p[i + 1]!);
      continue;
    }
    if (k === "content-length") contentLength = true;
    out.push(k, p[i + 1]!);
  }
  if (contentLength) return out;
  const request = "method" in message;
  const status = request ? 0 : message.status;
  if (endStream && (request || !message.headRequest)) {
    if (request ? !BODILESS.has(message.method) : status >= 200 && status !== 204) out.push("content-length", "0");
  } else if (request || (status >= 200 && status !== 204)) {
    out.push("transfer-encoding", "chunked");
  }
  return out;
}

/** Where a request goes: the cluster's base URL, the request line, and the header lines to send. */
export interface Http1Request {
  base: URL;
  method: string;
  path: string;
  /** Flat header lines, in order (encodeHeaders). */
  headers: string[];
}

/**
 * Starts an HTTP/1.1 request that sends exactly `r.headers`: Node appends a `Connection` line to
 * a raw header list (and removeHeader cannot take it back once the list is stored), which is cut
 * out again here because Envoy's codec sends none. Throws what Node throws for headers it refuses.
 */
export function startRequest(r: Http1Request, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
  const lib = r.base.protocol === "https:" ? https : http;
  const req = lib.request({
    protocol: r.base.protocol, hostname: r.base.hostname, port: r.base.port,
    method: r.method, path: r.path, headers: r.headers, setHost: false,
  }, onResponse);
  const stored = req as unknown as { _header?: unknown };
  if (typeof stored._header === "string") stored._header = stored._header.replace(/\r\nConnection: (?:keep-alive|close)\r\n/, "\r\n");
  return req;
}

/**
 * Writes a response head with exactly `headers` (encodeHeaders): no `Connection` or `Keep-Alive`
 * of Node's own (a `connection: close` the connection manager added is among `headers`), no `Date`
 * of its own.
 */
export function writeResponseHead(res: http.ServerResponse, status: number, headers: string[]): void {
  res.sendDate = false;
  res.removeHeader("connection");
  res.writeHead(status, headers);
}
