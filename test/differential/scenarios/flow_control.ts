// Flow-control scenarios: Envoy's stream idle timeout (stream_idle_timeout, here 1 s) ends a stream
// a plugin never resumes — the actions fixture waits for a callout to a target that never answers,
// its callout timeout longer than the idle timeout — and the plugin sees the reply in its response
// callbacks: 504 `stream timeout` for a complete request, 408 (and the connection closes) for one
// whose body has not ended. Facts: docs/envoy/flow-control.md. Slow readers and buffer limits are
// not visible to a plugin: test/proxy/flow_control.test.ts runs those against both proxies.
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { actions, actionsScenario, doing } from "./http_fixture.js";

const held = doing("call:hang", "call-timeout:60000");

export const FLOW_CONTROL_SCENARIOS: Scenario[] = [
  actionsScenario("flow control: a stream a plugin never resumes ends at the stream idle timeout", [
    {
      name: "a GET: 504 stream timeout, through the plugin's response callbacks",
      request: { path: "/idle", headers: held },
      expect: {
        status: 504, body: "stream timeout", reachedUpstream: false,
        headers: { "content-type": "text/plain", "content-length": "14" },
        logs: ["resp-headers end=false: :status=504, content-length=14, content-type=text/plain", 'resp-body 14 end=true: "stream timeout"'],
      },
    },
    {
      name: "a POST whose body has not ended: 408 stream timeout, the connection closes",
      request: { method: "POST", path: "/idle-body", headers: held, chunks: ["part", "never sent"], chunkDelayMs: 4000 },
      expect: { status: 408, body: "stream timeout", reachedUpstream: false, headers: { connection: "close" } },
    },
  ], {
    clusters: { hang: "hang" },
    proxies: [{ plugins: [actions()], settings: { streamIdleTimeoutMs: 1000 } }],
  }),
];
