// HTTP scenarios: HTTP/1.1 trailers. Envoy's HTTP/1 codec has trailers off by default: it drops
// the client's request trailers and the upstream's response trailers (the `trailer` header stays),
// so no trailer callback runs and the body callback ends the stream instead; trailers a plugin adds
// in its last body callback exist for it (on_log reads them) but are not sent.
// Facts: docs/envoy/http-stream.md.
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { actionsScenario, doing } from "./http_fixture.js";

export const HTTP_TRAILER_SCENARIOS: Scenario[] = [
  actionsScenario("http: HTTP/1.1 trailers", [
    {
      name: "request trailers from a chunked client are dropped",
      request: { method: "POST", path: "/rt", chunks: ["body"], trailers: { "x-req-trailer": "t1" } },
      expect: {
        status: 200, upstreamBody: "body", upstreamHeaders: { trailer: "x-req-trailer" }, upstreamTrailers: { "x-req-trailer": null },
        logs: ['req-body 4 end=false: "body"', 'req-body 0 end=true: ""', "resp-headers"],
      },
    },
    {
      name: "response trailers from the upstream are dropped",
      request: { path: "/st", headers: [["x-echo-trailers", "x-resp-trailer=t2"]] },
      expect: {
        status: 200, body: "upstream saw GET /st ", headers: { trailer: "x-resp-trailer" }, trailers: { "x-resp-trailer": null },
        logs: ['resp-body 21 end=false: "upstream saw GET /st "', 'resp-body 0 end=true: ""', "log: request"],
      },
    },
    {
      name: "request trailers a plugin adds are not sent",
      request: { method: "POST", path: "/add-rt", headers: doing("req-trailer:x-added=yes"), chunks: ["body"] },
      expect: { status: 200, upstreamBody: "body", upstreamTrailers: { "x-added": null } },
    },
    {
      name: "response trailers a plugin adds are not sent, but on_log reads them",
      request: { path: "/add-st", headers: doing("resp-trailer:x-added=yes") },
      expect: { status: 200, body: "upstream saw GET /add-st ", trailers: { "x-added": null }, logs: ['resp-body 0 end=true: ""', "; trailers x-added=yes"] },
    },
  ]),
];
