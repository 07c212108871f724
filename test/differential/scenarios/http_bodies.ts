// HTTP scenarios: request and response bodies as a plugin sees them — streamed chunk by chunk,
// buffered (each body callback sees everything so far), replaced, prepended and appended, from a
// content-length or a chunked client, and empty — and how the proxy frames what it forwards.
// Facts: docs/envoy/http-stream.md.
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { actionsScenario, doing } from "./http_fixture.js";

export const HTTP_BODY_SCENARIOS: Scenario[] = [
  actionsScenario("http: request bodies", [
    {
      name: "a content-length body, streamed",
      request: { method: "POST", path: "/cl", body: "hello body" },
      expect: {
        status: 200, upstreamBody: "hello body", upstreamHeaders: { "content-length": "10", "transfer-encoding": null },
        logs: ["req-headers end=false: :authority=<proxy>, :path=/cl, :method=POST, :scheme=http, content-length=10, x-forwarded-proto=http", 'req-body 10 end=false: "hello body"', 'req-body 0 end=true: ""'],
      },
    },
    {
      name: "a content-length body, buffered",
      request: { method: "POST", path: "/cl-buffered", headers: doing("req-buffer"), body: "hello body" },
      expect: { status: 200, upstreamBody: "hello body", logs: ['req-body 10 end=false: "hello body"', 'req-body 10 end=true: "hello body"'] },
    },
    {
      name: "a chunked body, streamed",
      request: { method: "POST", path: "/chunked", chunks: ["one ", "two ", "three"], chunkDelayMs: 60 },
      expect: {
        status: 200, upstreamBody: "one two three", upstreamHeaders: { "transfer-encoding": "chunked", "content-length": null },
        upstreamHeaderOrder: ["host", "x-forwarded-proto", "x-request-id", "x-envoy-expected-rq-timeout-ms", "transfer-encoding"],
        logs: [
          // The client's transfer-encoding is gone before the filters; the codec adds its own upstream.
          "req-headers end=false: :authority=<proxy>, :path=/chunked, :method=POST, :scheme=http, x-forwarded-proto=http, x-request-id=<uuid>",
          'req-body 4 end=false: "one "', 'req-body 4 end=false: "two "', 'req-body 5 end=false: "three"', 'req-body 0 end=true: ""',
        ],
      },
    },
    {
      name: "a chunked body, buffered",
      request: { method: "POST", path: "/chunked-buffered", headers: doing("req-buffer"), chunks: ["one ", "two ", "three"], chunkDelayMs: 60 },
      expect: {
        status: 200, upstreamBody: "one two three",
        logs: ['req-body 4 end=false: "one "', 'req-body 8 end=false: "one two "', 'req-body 13 end=false: "one two three"', 'req-body 13 end=true: "one two three"'],
      },
    },
    {
      name: "a chunked body, buffered and replaced",
      request: { method: "POST", path: "/replaced", headers: doing("req-buffer", "req-replace:REPLACED"), chunks: ["one ", "two"], chunkDelayMs: 60 },
      expect: { status: 200, upstreamBody: "REPLACED", upstreamHeaders: { "transfer-encoding": "chunked" }, logs: ['req-body 7 end=true: "one two"', 'req-body now "REPLACED"'] },
    },
    {
      name: "a content-length body replaced, content-length removed",
      request: { method: "POST", path: "/cl-replaced", headers: doing("req-buffer", "req-remove:content-length", "req-replace:a longer replacement"), body: "short" },
      expect: { status: 200, upstreamBody: "a longer replacement", upstreamHeaders: { "content-length": null, "transfer-encoding": "chunked" } },
    },
    {
      name: "a body prepended and appended",
      request: { method: "POST", path: "/edges", headers: doing("req-buffer", "req-remove:content-length", "req-prepend:<", "req-append:>"), body: "middle" },
      expect: { status: 200, upstreamBody: "<middle>", logs: ['req-body now "<middle>"'] },
    },
    {
      name: "an empty content-length body",
      request: { method: "POST", path: "/empty", body: "" },
      expect: { status: 200, upstreamBody: "", upstreamHeaders: { "content-length": "0" }, logs: ["req-headers end=true: :authority=<proxy>, :path=/empty, :method=POST, :scheme=http, content-length=0"] },
    },
    {
      name: "an empty chunked body",
      request: { method: "POST", path: "/empty-chunked", chunks: [] },
      expect: {
        status: 200, upstreamBody: "", upstreamHeaders: { "transfer-encoding": "chunked", "content-length": null },
        logs: ["req-headers end=false: :authority=<proxy>, :path=/empty-chunked", 'req-body 0 end=true: ""'],
      },
    },
  ]),
  actionsScenario("http: response bodies", [
    {
      name: "a content-length body, streamed",
      request: { path: "/r" },
      expect: { status: 200, body: "upstream saw GET /r ", logs: ['resp-body 20 end=false: "upstream saw GET /r "', 'resp-body 0 end=true: ""'] },
    },
    {
      name: "a content-length body, buffered and replaced",
      request: { path: "/r-replaced", headers: doing("resp-buffer", "resp-remove:content-length", "resp-replace:REPLACED") },
      expect: {
        status: 200, body: "REPLACED", headers: { "content-length": null, "transfer-encoding": "chunked" },
        logs: ['resp-body 29 end=false: "upstream saw GET /r-replaced "', 'resp-body 29 end=true: "upstream saw GET /r-replaced "', 'resp-body now "REPLACED"'],
      },
    },
    {
      name: "a chunked body, streamed",
      request: { path: "/r-chunked", headers: [["x-echo-chunks", "3"], ["x-echo-chunk-delay-ms", "60"], ["x-echo-body", "aaaabbbbcccc"]] },
      expect: { status: 200, body: "aaaabbbbcccc", logs: ['resp-body 4 end=false: "aaaa"', 'resp-body 4 end=false: "bbbb"', 'resp-body 4 end=false: "cccc"', 'resp-body 0 end=true: ""'] },
    },
    {
      name: "a chunked body, buffered, prepended and appended",
      request: { path: "/r-edges", headers: [["x-echo-chunks", "3"], ["x-echo-chunk-delay-ms", "60"], ["x-echo-body", "aaaabbbbcccc"], ...doing("resp-buffer", "resp-prepend:<", "resp-append:>")] },
      expect: { status: 200, body: "<aaaabbbbcccc>", logs: ['resp-body 12 end=true: "aaaabbbbcccc"', 'resp-body now "<aaaabbbbcccc>"'] },
    },
    {
      name: "an empty response ends with its headers",
      request: { path: "/r-empty", headers: [["x-echo-body", ""]] },
      expect: { status: 200, body: "", headers: { "content-length": "0" }, logs: ["resp-headers end=true: :status=200, content-type=text/plain, x-upstream=yes, content-length=0"] },
    },
    {
      name: "a 204 loses its content-length",
      request: { path: "/r-204", headers: [["x-echo-status", "204"], ["x-echo-body", ""]] },
      expect: {
        status: 204, headers: { "content-length": null },
        logs: ["resp-headers end=true: :status=204, content-type=text/plain, x-upstream=yes, date=<date>, connection=keep-alive, x-envoy-upstream-service-time=<ms>"],
      },
    },
    {
      name: "HEAD",
      request: { method: "HEAD", path: "/r-head" },
      expect: { status: 200, body: "", headers: { "content-length": "26" }, logs: ["resp-headers end=true: :status=200, content-type=text/plain, x-upstream=yes, content-length=26"] },
    },
  ]),
];
