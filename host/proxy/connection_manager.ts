// What Envoy's http_connection_manager does to headers around the filter chain, for the dev proxy
// (docs/envoy/http-stream.md, "Around the filter chain"). Before the filters: the request's
// hop-by-hop headers go, `te` keeps only `trailers`, `:scheme` comes from x-forwarded-proto (or the
// connection), and x-forwarded-proto then x-request-id are added when absent. After them, on the
// response the client gets (and proxy_on_log reads): `date` when absent, the hop-by-hop headers
// dropped, `connection: close` when the connection is closing. Envoy's `server: envoy` is left out
// on purpose (cli/envoy/differential/intentional_differences.ts).
import { randomUUID } from "node:crypto";
import type { HeaderMap } from "../values/header_map.js";

const HOP_BY_HOP: ReadonlySet<string> = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

// The `date` value, made once a second (Envoy's date provider caches it too).
let dateSecond = -1;
let dateValue = "";
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/** Mutates request headers as the connection manager does before the first filter. */
export function mutateRequestHeaders(h: HeaderMap, connectionScheme: "http" | "https"): void {
  h.removeEach(HOP_BY_HOP);
  const te = h.get("te");
  if (te !== undefined) {
    if (te.split(",").some((t) => t.trim().toLowerCase() === "trailers")) h.set("te", "trailers");
    else h.remove("te");
  }
  if (!h.has(":scheme")) {
    const forwarded = h.get("x-forwarded-proto");
    h.add(":scheme", forwarded === "http" || forwarded === "https" ? forwarded : connectionScheme);
  }
  if (!h.has("x-forwarded-proto")) h.add("x-forwarded-proto", connectionScheme);
  if (!h.has("x-request-id")) h.add("x-request-id", randomUUID());
}

/** Mutates response headers as the connection manager does after the last filter. */
export function mutateResponseHeaders(h: HeaderMap, closing: boolean): void {
  if (!h.has("date")) h.add("date", httpDate());
  h.removeEach(HOP_BY_HOP);
  if (closing) h.add("connection", "close");
}
