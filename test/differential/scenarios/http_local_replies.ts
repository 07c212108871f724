// HTTP scenarios: local replies before and after the body, from request and response callbacks
// (a reply raised while decoding passes through the plugin's response callbacks; one raised while
// encoding goes straight to the client; once response headers went out the stream resets), the
// connection closing after a reply sent before the request body was read, resets, and the route's
// direct response as a plugin sees it. Facts: docs/envoy/http-stream.md.
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { actionsScenario, doing } from "./http_fixture.js";

const KEEP_ALIVE: [string, string] = ["connection", "keep-alive"];

export const HTTP_LOCAL_REPLY_SCENARIOS: Scenario[] = [
  actionsScenario("http: local replies", [
    {
      name: "from request headers, no body",
      request: { path: "/lr1", headers: doing("reply:req-headers=403") },
      expect: {
        status: 403, body: "reply from actions at req-headers\n", reachedUpstream: false,
        headers: { "x-reply-by": "actions", "content-length": "34", "content-type": "text/plain" },
        headerOrder: ["x-reply-by", "content-length", "content-type", "date", "connection"],
        logs: [
          "resp-headers end=false: :status=403, x-reply-by=actions, content-length=34, content-type=text/plain",
          'resp-body 34 end=true: "reply from actions at req-headers\\n"',
          "response :status=403, x-reply-by=actions, content-length=34, content-type=text/plain, date=<date>",
        ],
      },
    },
    {
      name: "from request headers, before the body was read: the connection closes",
      request: { method: "POST", path: "/lr2", headers: [KEEP_ALIVE, ...doing("reply:req-headers=403")], chunks: ["one", "two"], chunkDelayMs: 100 },
      expect: { status: 403, reachedUpstream: false, headers: { connection: "close" } },
    },
    {
      name: "from the request body, after it was read: the connection stays",
      request: { method: "POST", path: "/lr3", headers: [KEEP_ALIVE, ...doing("req-buffer", "reply:req-body=401")], body: "the body" },
      expect: {
        status: 401, body: "reply from actions at req-body\n", reachedUpstream: false, headers: { connection: null },
        logs: ['req-body 8 end=true: "the body"', "resp-headers end=false: :status=401, x-reply-by=actions, content-length=31, content-type=text/plain"],
      },
    },
    {
      name: "from response headers: straight to the client",
      request: { path: "/lr4", headers: doing("reply:resp-headers=502") },
      expect: {
        status: 502, body: "reply from actions at resp-headers\n", reachedUpstream: true, headers: { "x-upstream": null },
        // The plugin's response callbacks saw only the upstream's response; on_log sees the reply.
        logs: ["resp-headers end=false: :status=200", "log: request", "response :status=502, x-reply-by=actions, content-length=35, content-type=text/plain"],
      },
    },
    {
      name: "from the response body, after the headers went out: a reset",
      request: { path: "/lr5", headers: doing("resp-buffer", "reply:resp-body=500") },
      expect: { status: 200, error: "reset after the response started", headers: { "content-length": "22" }, body: "" },
    },
    {
      name: "from the response body, after the body went out: a reset",
      request: { path: "/lr6", headers: [["x-echo-chunks", "3"], ["x-echo-chunk-delay-ms", "60"], ["x-echo-body", "aaaabbbbcccc"], ...doing("reply:resp-body=500")] },
      expect: { status: 200, error: "reset after the response started", body: "aaaabbbbcccc" },
    },
    {
      name: "close from request headers",
      request: { path: "/lr7", headers: doing("close:req-headers") },
      expect: { status: 0, error: "reset before the response", reachedUpstream: false },
    },
  ]),
  actionsScenario("http: the route's direct response", [
    {
      name: "direct response with a body",
      request: { path: "/d" },
      expect: {
        status: 200, body: "direct\n", headerOrder: ["content-length", "content-type", "date"],
        logs: ["resp-headers end=false: :status=200, content-length=7, content-type=text/plain", 'resp-body 7 end=true: "direct\\n"'],
      },
    },
    {
      name: "a local reply instead",
      request: { path: "/d2", headers: doing("reply:req-headers=418") },
      expect: { status: 418, body: "reply from actions at req-headers\n" },
    },
  ], { upstream: false, directResponse: { status: 200, body: "direct\n" } }),
  actionsScenario("http: a refused upstream", [
    {
      name: "the router's 503 runs through the plugin's response callbacks",
      request: { path: "/refused" },
      expect: {
        status: 503, body: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
        headerOrder: ["content-length", "content-type", "date"],
        logs: [
          "resp-headers end=false: :status=503, content-length=98, content-type=text/plain",
          'resp-body 98 end=true: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"',
          "x-envoy-expected-rq-timeout-ms=15000; response :status=503",
        ],
      },
    },
  ], { upstream: "refuse" }),
  actionsScenario("http: an empty direct response", [
    {
      name: "headers only: the codec adds content-length: 0",
      request: { path: "/e" },
      expect: { status: 200, body: "", headers: { "content-length": "0", "content-type": null }, logs: ["resp-headers end=true: :status=200", "response :status=200, date=<date>"] },
    },
  ], { upstream: false, directResponse: { status: 200 } }),
];
