// Envoy's header rules as the host applies them (docs/envoy/http-stream.md): header maps (pseudo-
// headers in front, inline headers joined, replace moves to the end, host is :authority), what the
// HTTP/1.1 codec writes, and the connection manager's changes around the filters. The differential
// scenarios (test/differential/scenarios/http_*.ts) check the same facts against Envoy itself.
import { describe, expect, it } from "vitest";
import { mutateRequestHeaders, mutateResponseHeaders } from "../../host/proxy/connection_manager.js";
import { encodeHeaders } from "../../host/proxy/http1_codec.js";
import { HeaderMap, REQUEST_HEADERS_INLINE, RESPONSE_HEADERS_INLINE } from "../../host/values/header_map.js";

const request = (...pairs: string[]) => new HeaderMap(pairs, REQUEST_HEADERS_INLINE);
const response = (...pairs: string[]) => new HeaderMap(pairs, RESPONSE_HEADERS_INLINE);

describe("header maps", () => {
  it("keep pseudo-headers in front of the others", () => {
    const h = request(":authority", "a", "x-a", "1");
    h.add(":path", "/p");
    h.add("x-b", "2");
    expect(h.pairs).toEqual([":authority", "a", ":path", "/p", "x-a", "1", "x-b", "2"]);
  });

  it("join an added inline header with a comma, keep other repeats apart", () => {
    const h = request(":path", "/", "user-agent", "a", "x-c", "1");
    h.add("user-agent", "more");
    h.add("User-Agent", "");
    h.add("x-c", "2");
    expect(h.entries()).toEqual([[":path", "/"], ["user-agent", "a,more"], ["x-c", "1"], ["x-c", "2"]]);
    // A map of no kind is a plain list.
    const plain = new HeaderMap(["user-agent", "a"]);
    plain.add("user-agent", "b");
    expect(plain.getAll("user-agent")).toEqual(["a", "b"]);
  });

  it("move a replaced header to the end (pseudo-headers to the end of theirs)", () => {
    const h = request(":authority", "a", ":path", "/", "x-a", "1", "x-b", "2", "x-a", "3");
    h.replace("x-a", "new");
    h.replace(":authority", "b");
    expect(h.pairs).toEqual([":path", "/", ":authority", "b", "x-b", "2", "x-a", "new"]);
  });

  it("read, join and remove host as :authority in request maps only", () => {
    const h = request(":authority", "a", "x", "1");
    expect(h.get("host")).toBe("a");
    h.add("host", "b");
    expect(h.get(":authority")).toBe("a,b");
    h.remove("Host");
    expect(h.has(":authority")).toBe(false);
    const r = response(":status", "200");
    r.add("host", "h");
    expect(r.get("host")).toBe("h");
  });

  it("replace every pair as Envoy does (remove all, add each): repeats joined", () => {
    const h = request(":path", "/", "x", "1");
    h.replaceAll(["Accept", "a", ":method", "GET", "accept", "b"]);
    expect(h.pairs).toEqual([":method", "GET", "accept", "a,b"]);
  });

  it("remove a set of names in one pass", () => {
    const h = response(":status", "200", "connection", "keep-alive", "x", "1", "keep-alive", "t", "y", "2");
    h.removeEach(new Set(["connection", "keep-alive"]));
    expect(h.pairs).toEqual([":status", "200", "x", "1", "y", "2"]);
  });
});

describe("the HTTP/1.1 codec's header lines", () => {
  it("write :authority as host where it stands, skip other pseudo-headers", () => {
    const h = request(":authority", "a.example", ":path", "/", ":method", "GET", "x-a", "1");
    expect(encodeHeaders(h, true, { method: "GET" })).toEqual(["host", "a.example", "x-a", "1"]);
  });

  it("add content-length: 0 to a headers-only message unless GET, HEAD, DELETE, TRACE, 204 or a reply to HEAD", () => {
    const req = (method: string) => encodeHeaders(request(":method", method), true, { method });
    for (const m of ["POST", "PUT", "PATCH", "OPTIONS"]) expect(req(m)).toEqual(["content-length", "0"]);
    for (const m of ["GET", "HEAD", "DELETE", "TRACE"]) expect(req(m)).toEqual([]);
    expect(encodeHeaders(response(":status", "200"), true, { status: 200, headRequest: false })).toEqual(["content-length", "0"]);
    expect(encodeHeaders(response(":status", "204"), true, { status: 204, headRequest: false })).toEqual([]);
  });

  it("add transfer-encoding: chunked, last, to a message with a body and no content-length", () => {
    expect(encodeHeaders(request(":method", "GET", "x", "1"), false, { method: "GET" })).toEqual(["x", "1", "transfer-encoding", "chunked"]);
    expect(encodeHeaders(response(":status", "200", "content-length", "3"), false, { status: 200, headRequest: false })).toEqual(["content-length", "3"]);
    expect(encodeHeaders(response(":status", "204"), false, { status: 204, headRequest: false })).toEqual([]);
  });
});

describe("the connection manager around the filters", () => {
  it("drops hop-by-hop request headers, keeps te: trailers, then adds :scheme, x-forwarded-proto, x-request-id", () => {
    const h = request(":authority", "a", ":path", "/", ":method", "GET", "connection", "keep-alive", "te", "gzip, trailers", "x-a", "1", "transfer-encoding", "chunked");
    mutateRequestHeaders(h, "http");
    expect(h.entries().map(([k, v]) => (k === "x-request-id" ? [k, /^[0-9a-f-]{36}$/.test(v)] : [k, v]))).toEqual([
      [":authority", "a"], [":path", "/"], [":method", "GET"], [":scheme", "http"], ["te", "trailers"], ["x-a", "1"],
      ["x-forwarded-proto", "http"], ["x-request-id", true],
    ]);
  });

  it("takes :scheme from the client's x-forwarded-proto and keeps its x-request-id", () => {
    const h = request(":authority", "a", ":path", "/", ":method", "GET", "x-forwarded-proto", "https", "x-request-id", "id", "te", "gzip");
    mutateRequestHeaders(h, "http");
    expect(h.get(":scheme")).toBe("https");
    expect(h.get("x-request-id")).toBe("id");
    expect(h.has("te")).toBe(false);
  });

  it("adds date when absent, drops hop-by-hop response headers, adds connection: close when closing", () => {
    const h = response(":status", "200", "connection", "keep-alive", "transfer-encoding", "chunked", "x-a", "1");
    mutateResponseHeaders(h, true);
    expect(h.pairs.filter((_, i) => i % 2 === 0)).toEqual([":status", "x-a", "date", "connection"]);
    expect(h.get("connection")).toBe("close");
    expect(h.get("date")).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    const kept = response(":status", "200", "date", "d");
    mutateResponseHeaders(kept, false);
    expect(kept.pairs).toEqual([":status", "200", "date", "d"]);
  });
});
