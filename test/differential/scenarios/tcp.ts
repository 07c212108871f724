// TCP scenarios: network plugins before Envoy's tcp_proxy (pwasm run --type network) — bytes both
// ways, a plugin that rewrites or closes, half-closes, the close callbacks and the order of
// on_done and on_log, two network plugins in a chain, and a trap under each failure policy.
// Facts: docs/envoy/lifecycle.md ("TCP"). A client's last write and its half-close are apart (the
// empty last chunk): bytes and a FIN that arrive together reach a plugin as one callback in Envoy
// or as two, depending on timing.
import type { EnvoyPlugin } from "../../../cli/envoy/bootstrap.js";
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import type { FailurePolicy } from "../../../host/vm/runtime.js";
import { lifecycle } from "./lifecycle.js";

const network = (rootId: string, config = "", more: Partial<EnvoyPlugin> = {}): EnvoyPlugin => lifecycle(rootId, config, { type: "network", ...more });

// A trap in on_downstream_data, then a later connection, under `policy`.
function trapUnder(policy: FailurePolicy): Scenario {
  return {
    name: `tcp: a trap in on_downstream_data under ${policy}`,
    proxies: [{ plugins: [network("lc", "", { failurePolicy: policy, reloadBackoffMs: 20 })] }],
    upstream: "tcp-echo",
    steps: [
      { kind: "tcp", name: "the connection during which the VM fails", send: ["before ", "trap", ""], delayMs: 50 },
      { kind: "tcp", name: "a later connection", send: ["", "later", ""], delayMs: 50, afterMs: 60 },
    ],
  };
}

export const TCP_SCENARIOS: Scenario[] = [
  {
    name: "tcp: bytes both ways through a network plugin; half-closes; on_done before on_log",
    proxies: [{ plugins: [network("lc")] }],
    upstream: "tcp-echo",
    steps: [
      { kind: "tcp", name: "two writes, then the client half-closes", send: ["hello", "world", ""], delayMs: 50 },
      { kind: "tcp", name: "the plugin rewrites the client's bytes", send: ["upper case", ""], delayMs: 50 },
    ],
    prometheus: [["lc_configures{} 3"]],
  },
  {
    name: "tcp: a plugin closes the connection from the downstream side",
    proxies: [{ plugins: [network("lc")] }],
    upstream: "tcp-echo",
    steps: [{ kind: "tcp", name: "data asking for the close", send: ["first ", "close-downstream", ""], delayMs: 50 }],
  },
  {
    name: "tcp: a plugin closes the connection from the upstream side",
    proxies: [{ plugins: [network("lc")] }],
    upstream: "tcp-echo",
    steps: [{ kind: "tcp", name: "data asking for the close", send: ["first ", "close-upstream", ""], delayMs: 50 }],
  },
  {
    name: "tcp: a client that keeps the connection open",
    proxies: [{ plugins: [network("lc")] }],
    upstream: "tcp-echo",
    steps: [
      { kind: "tcp", name: "data, no half-close", send: ["still here"], keepOpen: true, waitMs: 300 },
      { kind: "wait", name: "the client's socket is gone", ms: 200 },
    ],
  },
  {
    name: "tcp: two network plugins in a chain",
    proxies: [{ plugins: [network("a", "", { vmId: "va" }), network("b", "", { vmId: "vb" })] }],
    upstream: "tcp-echo",
    steps: [{ kind: "tcp", name: "bytes pass both plugins each way", send: ["upper ", "chain", ""], delayMs: 50 }],
  },
  {
    name: "tcp: a network plugin before Envoy's direct_response network filter",
    proxies: [{ plugins: [network("lc")] }],
    upstream: false,
    directResponse: { status: 200, body: "hi there" },
    steps: [{ kind: "tcp", name: "the client gets the body, then the close", send: ["", "hello", ""], delayMs: 50 }],
  },
  trapUnder("FAIL_CLOSED"),
  trapUnder("FAIL_OPEN"),
  trapUnder("FAIL_RELOAD"),
];
