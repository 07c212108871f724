// Building a local reply as Envoy's sendLocalReply / prepareLocalReply does
// (source/common/http/utility.cc; docs/envoy/http-stream.md, "Local replies"): `:status`, the
// extra headers, then content-length and content-type for a body; a gRPC request gets a
// trailers-only reply with grpc-status and a percent-encoded grpc-message; HEAD gets no body.
import { httpToGrpcStatus } from "../abi/constants.js";
import type { LocalReply } from "../vm/contexts.js";
import { HeaderMap, RESPONSE_HEADERS_INLINE } from "../values/header_map.js";

/** A local reply's response: headers, and a body (undefined for a headers-only reply). */
export interface LocalReplyMessage {
  headers: HeaderMap;
  body: Buffer | undefined;
}

// Envoy's PercentEncoding::encode for grpc-message: everything outside printable ASCII, and '%'.
function percentEncode(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}

/** The response Envoy sends for `reply` to a request with headers `request` (if they arrived). */
export function localReplyMessage(reply: LocalReply, request: HeaderMap | undefined): LocalReplyMessage {
  const contentType = request?.get("content-type") ?? "";
  const isGrpc = contentType === "application/grpc" || contentType.startsWith("application/grpc+") || contentType.startsWith("application/grpc;");
  const isHead = request?.get(":method") === "HEAD";
  const headers = new HeaderMap([":status", String(reply.statusCode)], RESPONSE_HEADERS_INLINE);
  for (const [k, v] of reply.headers) headers.add(k, v);
  if (isGrpc) {
    headers.set(":status", "200");
    headers.set("content-type", "application/grpc");
    if (!headers.has("grpc-status")) headers.set("grpc-status", String(reply.grpcStatus ?? httpToGrpcStatus(reply.statusCode)));
    if (reply.body.length > 0 && !isHead) headers.set("grpc-message", percentEncode(reply.body.toString("utf8")));
    headers.remove("content-length");
    return { headers, body: undefined };
  }
  if (reply.body.length > 0) {
    headers.set("content-length", String(reply.body.length));
    if (!headers.has("content-type")) headers.set("content-type", "text/plain");
  } else {
    headers.remove("content-length");
    headers.remove("content-type");
  }
  return { headers, body: reply.body.length > 0 && !isHead ? reply.body : undefined };
}
