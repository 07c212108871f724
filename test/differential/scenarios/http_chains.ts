// HTTP scenarios: two plugins in one filter chain — the order of their callbacks, edits one makes
// that the other sees, local replies from either (a reply from the first while decoding skips the
// second; a reply while encoding stops the upstream's response for both), and what each logs at the
// end: the stream's final maps. Facts: docs/envoy/http-stream.md.
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { actions, doing, HTTP_NORMALIZE } from "./http_fixture.js";

export const HTTP_CHAIN_SCENARIOS: Scenario[] = [
  {
    name: "http: a chain of two plugins",
    proxies: [{ plugins: [actions("a"), actions("b")] }],
    normalize: HTTP_NORMALIZE,
    steps: [
      {
        name: "both edit both directions",
        request: { path: "/ch1", headers: doing("a/req-add:x-from-a=1", "b/req-add:x-from-b=1", "a/resp-add:x-resp-a=1", "b/resp-add:x-resp-b=1") },
        expect: {
          status: 200,
          upstreamHeaderOrder: ["x-forwarded-proto", "x-request-id", "x-from-a", "x-from-b", "x-envoy-expected-rq-timeout-ms"],
          headerOrder: ["x-envoy-upstream-service-time", "x-resp-b", "x-resp-a", "connection"],
          logs: ["log a: req-headers", "log b: req-headers", "x-request-id=<uuid>, x-from-a=1", "log b: resp-headers", "log a: resp-headers", "x-envoy-upstream-service-time=<ms>, x-resp-b=1", "log b: resp-body", "log a: resp-body"],
        },
      },
      {
        name: "the second replies: the first sees the reply",
        request: { path: "/ch2", headers: doing("b/reply:req-headers=403") },
        expect: {
          status: 403, headers: { "x-reply-by": "b" },
          logs: ["log b: resp-headers end=false: :status=403", "log a: resp-headers end=false: :status=403", "log b: resp-body 28 end=true", "log a: resp-body 28 end=true"],
        },
      },
      {
        name: "the first replies: the second sees nothing but logs the stream",
        request: { path: "/ch3", headers: doing("a/reply:req-headers=403") },
        expect: {
          status: 403, headers: { "x-reply-by": "a" },
          logs: ["log a: resp-headers end=false: :status=403", "log a: resp-body 28 end=true", "log b: log: request :authority=<proxy>, :path=/ch3", "response :status=403, x-reply-by=a"],
        },
      },
      {
        name: "the second buffers a body the first streams",
        request: { method: "POST", path: "/ch4", headers: doing("b/req-buffer", "b/req-append:!"), chunks: ["x", "y"], chunkDelayMs: 60 },
        expect: {
          status: 200, upstreamBody: "xy!",
          logs: ['log a: req-body 1 end=false: "x"', 'log b: req-body 1 end=false: "x"', 'log a: req-body 1 end=false: "y"', 'log b: req-body 2 end=false: "xy"', 'log a: req-body 0 end=true: ""', 'log b: req-body 2 end=true: "xy"'],
        },
      },
      {
        name: "the first replies to the response: the upstream's body reaches neither",
        request: { path: "/ch5", headers: doing("a/reply:resp-headers=503") },
        expect: {
          status: 503, headers: { "x-reply-by": "a" },
          logs: ["log b: resp-headers end=false: :status=200", "log a: resp-headers end=false: :status=200", "log a: log: request", "response :status=503, x-reply-by=a", "log b: log: request", "response :status=503, x-reply-by=a"],
        },
      },
    ],
  },
];
