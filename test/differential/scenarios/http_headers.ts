// HTTP scenarios: headers in both directions as a plugin sees and edits them, and as the upstream
// and the client receive them — order (a replace moves the header to the end), the headers Envoy
// adds (x-forwarded-proto, x-request-id, x-envoy-expected-rq-timeout-ms upstream,
// x-envoy-upstream-service-time on responses), repeats of Envoy's inline headers joined,
// hop-by-hop headers, absolute-form request targets. Facts: docs/envoy/http-stream.md.
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { actionsScenario, doing } from "./http_fixture.js";

const DO5 = ["x-do", "x-do", "x-do", "x-do", "x-do"];

export const HTTP_HEADER_SCENARIOS: Scenario[] = [
  actionsScenario("http: request headers added, replaced and removed, in order", [
    {
      name: "edits reach the upstream in the order the plugin left them",
      request: {
        path: "/edit",
        headers: [
          ["x-first", "1"], ["x-second", "2"], ["x-dup", "a"], ["x-dup", "b"], ["x-last", "9"],
          ...doing("req-set:x-first=changed", "req-remove:x-second", "req-add:x-added=yes", "req-set:x-dup=one", "req-set:x-new=new"),
        ],
      },
      expect: {
        status: 200,
        // host first, the client's headers, x-forwarded-proto and x-request-id, then what the
        // plugin added or replaced (a replace moves a header to the end), then the router's.
        upstreamHeaderOrder: ["host", "x-last", ...DO5, "x-forwarded-proto", "x-request-id", "x-first", "x-added", "x-dup", "x-new", "x-envoy-expected-rq-timeout-ms"],
        upstreamHeaders: { "x-first": "changed", "x-second": null, "x-dup": "one", "x-new": "new", connection: null, "x-envoy-expected-rq-timeout-ms": "15000" },
        logs: [
          "req-headers end=true: :authority=<proxy>, :path=/edit, :method=GET, :scheme=http, x-first=1, x-second=2, x-dup=a, x-dup=b, x-last=9, x-do=req-set:x-first=changed, x-do=req-remove:x-second, x-do=req-add:x-added=yes, x-do=req-set:x-dup=one, x-do=req-set:x-new=new, x-forwarded-proto=http, x-request-id=<uuid>",
          "log: request :authority=<proxy>, :path=/edit, :method=GET, :scheme=http, x-last=9",
          "x-forwarded-proto=http, x-request-id=<uuid>, x-first=changed, x-added=yes, x-dup=one, x-new=new, x-envoy-expected-rq-timeout-ms=15000; response",
        ],
      },
    },
    {
      name: "repeats of inline headers are joined, others kept apart",
      request: {
        path: "/inline",
        headers: [
          ["user-agent", "a"], ["user-agent", "b"], ["accept", "x"], ["accept", "y"], ["cookie", "c1"], ["cookie", "c2"], ["x-custom", "1"], ["x-custom", "2"],
          ...doing("req-add:user-agent=more", "req-add:x-custom=3", "resp-add:content-type=more", "resp-add:x-upstream=again"),
        ],
      },
      expect: {
        status: 200,
        upstreamHeaders: { "user-agent": "a,b,more", accept: "x,y", cookie: "c1, c2", "x-custom": "1, 2, 3" },
        headers: { "content-type": "text/plain,more", "x-upstream": "yes, again" },
        logs: ["req-headers end=true: :authority=<proxy>, :path=/inline, :method=GET, :scheme=http, user-agent=a,b, accept=x,y, cookie=c1, cookie=c2, x-custom=1, x-custom=2, x-do="],
      },
    },
    {
      name: "pseudo-headers: an add joins :path, a replace moves :authority last, host is :authority",
      request: { path: "/p2", headers: doing("req-add::path=/more", "req-set::authority=auth.example", "req-add:host=h2") },
      expect: {
        status: 200,
        body: "upstream saw GET /p2,/more ",
        upstreamHeaders: { host: "auth.example,h2" },
        upstreamHeaderOrder: ["host", "x-do", "x-do", "x-do", "x-forwarded-proto", "x-request-id", "x-envoy-expected-rq-timeout-ms"],
        logs: ["log: request :path=/p2,/more, :method=GET, :scheme=http, :authority=auth.example,h2, x-do="],
      },
    },
  ]),
  actionsScenario("http: response headers as response callbacks see them, edited", [
    {
      name: "a content-length response",
      request: {
        path: "/resp",
        headers: [["x-echo-header", "x-a=1,x-b=2,x-c=3"], ...doing("resp-set:x-a=changed", "resp-remove:x-b", "resp-add:x-added=yes", "resp-set:x-new=new")],
      },
      expect: {
        status: 200,
        headers: { "x-a": "changed", "x-b": null, "x-c": "3", "x-added": "yes", "x-new": "new", "keep-alive": null, connection: "close" },
        headerOrder: ["content-type", "x-upstream", "x-c", "content-length", "date", "x-envoy-upstream-service-time", "x-a", "x-added", "x-new", "connection"],
        logs: [
          // The upstream's keep-alive is gone; its connection header and the router's service time are there.
          "resp-headers end=false: :status=200, content-type=text/plain, x-upstream=yes, x-a=1, x-b=2, x-c=3, content-length=23, date=<date>, connection=keep-alive, x-envoy-upstream-service-time=<ms>",
          // on_log: the final map, with the connection manager's connection: close.
          "response :status=200, content-type=text/plain, x-upstream=yes, x-c=3, content-length=23, date=<date>, x-envoy-upstream-service-time=<ms>, x-a=changed, x-added=yes, x-new=new",
        ],
      },
    },
    {
      name: "a chunked response with the upstream's own connection and keep-alive",
      request: { path: "/chunked", headers: [["x-echo-chunks", "3"], ["x-echo-chunk-delay-ms", "60"], ["x-echo-header", "connection=keep-alive,keep-alive=timeout=5"]] },
      expect: {
        status: 200,
        headers: { "transfer-encoding": "chunked", "keep-alive": null, connection: "close" },
        logs: ["resp-headers end=false: :status=200, content-type=text/plain, x-upstream=yes, connection=keep-alive, date=<date>, transfer-encoding=chunked, x-envoy-upstream-service-time=<ms>"],
      },
    },
  ]),
  actionsScenario("http: hop-by-hop and proxy headers of the request", [
    {
      name: "connection, keep-alive, te, proxy-connection from a keep-alive client",
      request: { path: "/hop", headers: [["connection", "keep-alive"], ["keep-alive", "timeout=5"], ["te", "trailers"], ["proxy-connection", "keep-alive"], ["x-after", "1"]] },
      expect: {
        status: 200,
        upstreamHeaders: { te: "trailers", connection: null, "keep-alive": null, "proxy-connection": null },
        // The connection stays open: no connection header at all.
        headers: { connection: null, "keep-alive": null },
        logs: ["req-headers end=true: :authority=<proxy>, :path=/hop, :method=GET, :scheme=http, te=trailers, x-after=1, x-forwarded-proto=http, x-request-id=<uuid>"],
      },
    },
    {
      name: "te keeps only trailers",
      request: { path: "/te", headers: [["te", "gzip, trailers"], ["x-a", "1"]] },
      expect: { status: 200, upstreamHeaders: { te: "trailers" } },
    },
    {
      name: "te without trailers goes",
      request: { path: "/te2", headers: [["te", "gzip"], ["x-a", "1"]] },
      expect: { status: 200, upstreamHeaders: { te: null }, logs: ["req-headers end=true: :authority=<proxy>, :path=/te2, :method=GET, :scheme=http, x-a=1, x-forwarded-proto=http"] },
    },
    {
      name: "the client's x-request-id and x-forwarded-proto are kept; :scheme follows x-forwarded-proto",
      request: { path: "/ids", headers: [["x-request-id", "client-id-1"], ["x-forwarded-proto", "https"], ["x-forwarded-for", "10.0.0.1"]] },
      expect: {
        status: 200,
        upstreamHeaders: { "x-request-id": "client-id-1", "x-forwarded-proto": "https", "x-forwarded-for": "10.0.0.1" },
        logs: ["req-headers end=true: :authority=<proxy>, :path=/ids, :method=GET, :scheme=https, x-request-id=client-id-1, x-forwarded-proto=https, x-forwarded-for=10.0.0.1"],
      },
    },
  ]),
  actionsScenario("http: absolute-form request target", [
    {
      name: "absolute form with a matching host",
      request: { path: "http://example.com/abs?q=1", headers: [["host", "example.com"]] },
      expect: {
        status: 200, body: "upstream saw GET /abs?q=1 ", upstreamHeaders: { host: "example.com" },
        logs: ["req-headers end=true: :authority=example.com, :scheme=http, :path=/abs?q=1, :method=GET, x-forwarded-proto=http"],
      },
    },
    {
      name: "absolute form with another host header",
      request: { path: "http://example.com:8080/abs", headers: [["host", "other.example"]] },
      expect: { status: 200, body: "upstream saw GET /abs ", upstreamHeaders: { host: "example.com:8080" } },
    },
  ]),
];
