// HTTP scenarios: HTTP callouts — granted, denied, failed (refused port), timed out (a target that
// never answers), with a body and extra headers, copying the request's headers, without a timeout,
// with methods that do and do not get `content-length: 0` — the callout request as each target
// receives it and the answer as the plugin sees it. Facts: docs/envoy/http-stream.md.
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { actionsScenario, doing } from "./http_fixture.js";

const ADDED = ["x-envoy-internal", "x-envoy-expected-rq-timeout-ms"];

export const HTTP_CALLOUT_SCENARIOS: Scenario[] = [
  actionsScenario("http: callouts", [
    {
      name: "granted: a minimal GET",
      request: { path: "/c1", headers: doing("call:svc") },
      expect: {
        status: 200, reachedUpstream: true,
        callouts: {
          svc: {
            method: "GET", path: "/callout", headerOrder: ["host", ...ADDED],
            headers: { host: "svc", "x-envoy-internal": "true", "x-envoy-expected-rq-timeout-ms": "1000", connection: null, "content-length": null },
          },
        },
        logs: ['callout 25 bytes: :status=200, content-type=text/plain, x-callout=yes, content-length=25, date=<date>, connection=keep-alive, x-envoy-upstream-service-time=<ms>; body "callout saw GET /callout "; trailers '],
      },
    },
    {
      name: "denied: the answer decides the reply",
      request: { path: "/c2", headers: doing("call:deny", "call-reply") },
      expect: { status: 403, body: "callout answered\n", reachedUpstream: false, logs: ['callout 6 bytes: :status=403, content-type=text/plain, content-length=6, date=<date>, connection=keep-alive, x-envoy-upstream-service-time=<ms>; body "denied"'] },
    },
    {
      name: "failed: nothing listens",
      request: { path: "/c3", headers: doing("call:refuse", "call-reply") },
      expect: {
        status: 503, reachedUpstream: false,
        logs: ['callout 98 bytes: :status=503, content-length=98, content-type=text/plain; body "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"'],
      },
    },
    {
      name: "timed out",
      request: { path: "/c4", headers: doing("call:hang", "call-timeout:300", "call-reply") },
      expect: {
        status: 504, reachedUpstream: false, callouts: { hang: { headers: { "x-envoy-expected-rq-timeout-ms": "300" } } },
        logs: ['callout 24 bytes: :status=504, content-length=24, content-type=text/plain; body "upstream request timeout"'],
      },
    },
    {
      name: "a POST with a body and headers",
      request: { path: "/c5", headers: doing("call:svc", "call-method:POST", "call-path:/post?x=1", "call-body:payload", "call-header:x-extra=1") },
      expect: {
        status: 200,
        callouts: { svc: { method: "POST", path: "/post?x=1", body: "payload", headers: { "content-length": "7", "x-extra": "1" }, headerOrder: ["host", "x-extra", "content-length", ...ADDED] } },
      },
    },
    {
      name: "the request's own headers",
      request: { path: "/c6", headers: [["x-mine", "1"], ...doing("call:svc", "call-copy")] },
      expect: {
        status: 200,
        callouts: { svc: { path: "/c6", headers: { "x-mine": "1", "x-forwarded-proto": "http" }, headerOrder: ["host", "x-mine", "x-do", "x-do", "x-forwarded-proto", "x-request-id", ...ADDED] } },
      },
    },
    {
      name: "the headers of a chunked POST, no body: content-length: 0",
      request: { method: "POST", path: "/c7", headers: doing("call:svc", "call-copy"), chunks: ["data"] },
      expect: {
        status: 200, upstreamBody: "data",
        callouts: { svc: { method: "POST", headers: { "content-length": "0", "transfer-encoding": null }, headerOrder: ["host", "x-do", "x-do", "x-forwarded-proto", "x-request-id", ...ADDED, "content-length"] } },
      },
    },
    {
      name: "an unknown cluster",
      request: { path: "/c8", headers: doing("call:nowhere", "call-reply") },
      expect: { status: 500, body: "callout refused\n", logs: ["callout refused"] },
    },
    {
      name: "no timeout, DELETE: neither the timeout header nor content-length",
      request: { path: "/c9", headers: doing("call:svc", "call-timeout:0", "call-method:DELETE") },
      expect: { status: 200, callouts: { svc: { method: "DELETE", headers: { "x-envoy-internal": "true", "x-envoy-expected-rq-timeout-ms": null, "content-length": null } } } },
    },
    {
      name: "PUT without a body: content-length: 0",
      request: { path: "/c10", headers: doing("call:svc", "call-method:PUT") },
      expect: { status: 200, callouts: { svc: { method: "PUT", headers: { "content-length": "0" } } } },
    },
    {
      name: "TRACE without a body: no content-length",
      request: { path: "/c11", headers: doing("call:svc", "call-method:TRACE") },
      expect: { status: 200, callouts: { svc: { method: "TRACE", headers: { "content-length": null } } } },
    },
    {
      name: "the plugin's own connection, te and x-envoy-internal",
      request: { path: "/c12", headers: doing("call:svc", "call-method:OPTIONS", "call-header:connection=keep-alive", "call-header:te=trailers", "call-header:x-envoy-internal=false") },
      expect: {
        status: 200,
        callouts: { svc: { method: "OPTIONS", headers: { connection: "keep-alive", te: "trailers", "x-envoy-internal": "true", "content-length": "0" } } },
      },
    },
  ], { clusters: { svc: "echo", deny: "deny", hang: "hang", refuse: "refuse" } }),
];
