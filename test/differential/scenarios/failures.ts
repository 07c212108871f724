// Failure scenarios: a trap in each callback under FAIL_OPEN, FAIL_CLOSED and FAIL_RELOAD — what
// the request during which the VM fails gets, what later requests get, the reload (a fresh VM
// starting: its module initialization, on_vm_start and on_configure appear in that request's log
// lines), its backoff, and Envoy's own log line about the failed VM. Facts:
// docs/envoy/lifecycle.md.
import type { FailurePolicy } from "../../../host/vm/runtime.js";
import type { Scenario, ScenarioRequest, ScenarioStep } from "../../../cli/envoy/differential/scenario.js";
import { lifecycle } from "./lifecycle.js";

/** A callback the fixture traps in, and the request that reaches it. */
interface TrapSite {
  callback: string;
  /** The request that makes the plugin trap there. */
  request: ScenarioRequest;
  /** Plugin configuration the site needs (timers, queues, context-create traps). */
  config?: string;
  /** The request never gets a response (a stream paused for a callout whose VM failed): wait this long. */
  timeoutMs?: number;
}

const trapping = (callback: string, more: ScenarioRequest = {}): ScenarioRequest => ({
  path: `/${callback}`, ...more, headers: [["x-trap", callback], ...(Array.isArray(more.headers) ? more.headers : Object.entries(more.headers ?? {}))],
});

/** Every callback a request (or a root timer) reaches, with what makes the fixture trap there. */
const SITES: TrapSite[] = [
  { callback: "on_context_create", request: { path: "/on_context_create" }, config: "trap=on_context_create" },
  { callback: "on_request_headers", request: trapping("on_request_headers") },
  { callback: "on_request_body", request: trapping("on_request_body", { method: "POST", body: "request body" }) },
  { callback: "on_request_trailers", request: trapping("on_request_trailers", { method: "POST", chunks: ["chunked ", "body"], trailers: { "x-request-trailer": "1" } }) },
  { callback: "on_response_headers", request: trapping("on_response_headers") },
  { callback: "on_response_body", request: trapping("on_response_body") },
  { callback: "on_response_trailers", request: trapping("on_response_trailers", { headers: { "x-echo-trailers": "x-response-trailer=1" } }) },
  { callback: "on_log", request: trapping("on_log") },
  { callback: "on_done", request: trapping("on_done") },
  // The stream waits for the callout; its VM fails in the answer and nothing resumes it.
  { callback: "on_http_call_response", request: trapping("on_http_call_response", { headers: { "x-callout": "auth" } }), timeoutMs: 1000 },
  { callback: "on_tick", request: { path: "/on_tick" }, config: "trap=on_tick tick=40" },
];

type HttpStep = Extract<ScenarioStep, { request: ScenarioRequest }>;

const later = (name: string): HttpStep => ({ name, request: { path: "/later", headers: { "x-echo-body": "later" } } });

// One site under FAIL_OPEN or FAIL_CLOSED: the failing request, then a later one (the failed VM
// stays failed under both policies).
function oneSite(policy: Exclude<FailurePolicy, "FAIL_RELOAD">, site: TrapSite): Scenario {
  const steps: ScenarioStep[] = site.callback === "on_tick"
    ? [{ kind: "wait", name: "the timer fires and the VMs fail", ms: 300 }, later("a request after the failure")]
    : [{ name: `the request during which ${site.callback} traps`, request: site.request, timeoutMs: site.timeoutMs }, later("a later request")];
  return {
    name: `failures: a trap in ${site.callback} under ${policy}`,
    proxies: [{ plugins: [lifecycle("lc", site.config ?? "", { failurePolicy: policy })] }],
    clusters: { auth: "echo" },
    steps,
  };
}

// Every site under FAIL_RELOAD: each request after the first finds the VM failed, gets a fresh
// one (the backoff is short), and fails it again at the next callback.
const RELOAD_SITES = SITES.filter((s) => s.callback !== "on_tick" && s.callback !== "on_context_create");

export const FAILURE_SCENARIOS: Scenario[] = [
  ...(["FAIL_CLOSED", "FAIL_OPEN"] as const).flatMap((policy) => SITES.map((site) => oneSite(policy, site))),
  {
    name: "failures: FAIL_RELOAD reloads the VM for the next request after each trap",
    proxies: [{ plugins: [lifecycle("lc", "", { failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 20 })] }],
    clusters: { auth: "echo" },
    steps: [
      ...RELOAD_SITES.map((site): ScenarioStep => ({ name: `${site.callback} traps (a fresh VM when one failed before)`, request: site.request, afterMs: 60, timeoutMs: site.timeoutMs })),
      { ...later("a request on the last fresh VM"), afterMs: 60 },
    ],
  },
  {
    name: "failures: FAIL_RELOAD waits for the backoff before reloading",
    proxies: [{ plugins: [lifecycle("lc", "", { failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 2000 })] }],
    steps: [
      { name: "the request during which the VM fails", request: trapping("on_request_headers") },
      later("a request within the backoff"),
      { kind: "wait", name: "the backoff passes (2 s, jittered up to 3 s)", ms: 3200 },
      later("a request after the backoff gets a fresh VM"),
    ],
  },
  {
    name: "failures: FAIL_RELOAD with a timer that traps: each fresh VM fails again when it ticks",
    proxies: [{ plugins: [lifecycle("lc", "trap=on_tick tick=40", { failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 20 })] }],
    steps: [
      { kind: "wait", name: "the timers fire and both VMs fail", ms: 300 },
      later("a request gets a fresh VM"),
      { kind: "wait", name: "its timer fires and it fails", ms: 300 },
      later("the next request gets another fresh VM"),
    ],
  },
  {
    name: "failures: FAIL_RELOAD with a context that traps on the first stream of each VM",
    proxies: [{ plugins: [lifecycle("lc", "trap=on_context_create", { failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 20 })] }],
    steps: [
      { name: "the first stream fails the VM", request: { path: "/one" } },
      { ...later("a fresh VM, whose first stream fails it again"), afterMs: 60 },
    ],
  },
  {
    name: "failures: a queue callback that traps fails the VM that registered the queue",
    proxies: [{ plugins: [lifecycle("lc", "queue=q enqueue=/q trap=on_queue_ready", { failurePolicy: "FAIL_CLOSED" })] }],
    steps: [
      { name: "the request enqueues; the root's on_queue_ready traps after it", request: { path: "/enqueue" } },
      later("a later request"),
    ],
  },
];
