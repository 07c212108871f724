// One access log line per stream, in Envoy's default format (what its stdout access logger writes
// with no format given; docs/envoy/http-stream.md, "Access log"), so `pwasm run --access-log` reads
// like `pwasm run --envoy --access-log`: start time, request line, status, response flags, body
// bytes each way, duration, upstream service time, and the request's forwarding headers.
import type { FilterChain } from "./filter_chain.js";

// %REQ(...)% and friends print "-" for a missing value.
const orDash = (v: string | number | undefined): string => (v === undefined || v === "" ? "-" : String(v));

/** The access log line of a finished stream (no newline). */
export function formatAccessLog(chain: FilterChain): string {
  const info = chain.info;
  const req = chain.maps.requestHeaders;
  const res = chain.maps.responseHeaders;
  const end = info.endTime ?? Date.now();
  const path = req?.get("x-envoy-original-path") ?? req?.get(":path");
  const upstream = info.upstream ? `${info.upstream.ip}:${info.upstream.port}` : undefined;
  return `[${new Date(info.startTime).toISOString()}] "${orDash(req?.get(":method"))} ${orDash(path)} ${info.protocol}" ` +
    `${info.responseCode} ${orDash(info.responseFlags)} ${info.requestBodyBytes} ${info.responseBodyBytes} ${Math.max(0, Math.round(end - info.startTime))} ` +
    `${orDash(res?.get("x-envoy-upstream-service-time"))} "${orDash(req?.get("x-forwarded-for"))}" "${orDash(req?.get("user-agent"))}" ` +
    `"${orDash(req?.get("x-request-id"))}" "${orDash(req?.get(":authority"))}" "${orDash(upstream)}"`;
}
