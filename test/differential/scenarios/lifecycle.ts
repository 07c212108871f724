// Lifecycle scenarios: which VMs Envoy starts a plugin in (the canary, the main thread, each
// worker), what a plugin sees of them (on_vm_start / on_configure counts, root context ids, timers
// ticking on the main thread too), VMs shared by plugins with one vm_id (shared data, queues,
// context ids), the order of on_log and on_done in a chain, the clock's resolution, and a plugin
// that fails to start on a worker after its canary passed. Facts: docs/envoy/lifecycle.md.
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import type { EnvoyPlugin } from "../../../cli/envoy/bootstrap.js";
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { ROOT } from "../../helpers/paths.js";

/** The lifecycle fixture's project directory (built by buildScenarioFixtures). */
export const LIFECYCLE_PROJECT = join(ROOT, "test", "differential", "fixtures", "lifecycle");
const wasm = join(LIFECYCLE_PROJECT, "build", "release.wasm");

/** The lifecycle fixture as one plugin: root id `rootId`, configuration `config` (see the fixture). */
export function lifecycle(rootId: string, config = "", more: Partial<EnvoyPlugin> = {}): EnvoyPlugin {
  return { wasm, rootId, ...(config ? { configuration: config } : {}), ...more };
}

export const LIFECYCLE_SCENARIOS: Scenario[] = [
  {
    name: "lifecycle: one plugin starts in the canary, main-thread and worker VMs; timers tick in both that stay",
    proxies: [{ plugins: [lifecycle("lc", "tick=30 ticks=2")] }],
    steps: [
      { kind: "wait", name: "both VMs tick twice, then stop", ms: 300 },
      {
        name: "a request sees its worker VM: started and configured once, ticked twice, context 2",
        request: { path: "/first" },
        expect: { status: 200, headers: { "x-lc-lc": "vm_starts=1 vm_configures=1 streams=1 request=1 ctx=2 root_ctx=1 ticks=2", "x-clock": "sub_us=false sub_ms=true" } },
      },
      {
        name: "the next request is the VM's next context",
        request: { path: "/second", headers: { "x-echo-body": "ok" } },
        expect: { status: 200, body: "ok", headers: { "x-lc-lc": "vm_starts=1 vm_configures=1 streams=2 request=2 ctx=3 root_ctx=1 ticks=2" } },
      },
    ],
    // Three configures (canary, main thread, worker); two VMs tick twice each.
    prometheus: [["lc_configures{} 3", "lc_ticks{} 4"]],
  },
  {
    name: "lifecycle: two plugins with one vm_id and one module share each VM (globals, context ids, shared data, queues)",
    proxies: [{
      plugins: [
        lifecycle("a", "shared=hits queue=inbox", { vmId: "shared" }),
        lifecycle("b", "shared=hits enqueue=shared/inbox", { vmId: "shared" }),
      ],
    }],
    steps: [
      {
        name: "both roots live in one VM: its globals count both, contexts alternate, shared data is common",
        request: { path: "/x" },
        expect: {
          status: 200,
          headers: {
            "x-lc-a": "vm_starts=2 vm_configures=2 streams=2 request=1 ctx=3 root_ctx=1 ticks=0",
            "x-lc-b": "vm_starts=2 vm_configures=2 streams=2 request=2 ctx=4 root_ctx=2 ticks=0",
          },
          upstreamHeaders: { "x-shared-a": "1", "x-shared-b": "2", "x-enqueue-b": "ok" },
        },
      },
      {
        name: "the second request: the next contexts, the counter goes on",
        request: { path: "/y" },
        expect: { status: 200, upstreamHeaders: { "x-shared-a": "3", "x-shared-b": "4", "x-enqueue-b": "ok" } },
      },
    ],
    prometheus: [["a_configures{} 3", "b_configures{} 3"]],
  },
  {
    name: "lifecycle: two plugins with their own vm_ids have their own VMs and shared data; queues resolve across vm_ids",
    proxies: [{
      plugins: [
        lifecycle("a", "shared=hits queue=inbox", { vmId: "va" }),
        lifecycle("b", "shared=hits enqueue=va/inbox", { vmId: "vb" }),
      ],
    }],
    steps: [
      {
        name: "each VM counts its own plugin; shared data is per vm_id",
        request: { path: "/x" },
        expect: {
          status: 200,
          headers: {
            "x-lc-a": "vm_starts=1 vm_configures=1 streams=1 request=1 ctx=2 root_ctx=1 ticks=0",
            "x-lc-b": "vm_starts=1 vm_configures=1 streams=1 request=1 ctx=2 root_ctx=1 ticks=0",
          },
          upstreamHeaders: { "x-shared-a": "1", "x-shared-b": "1", "x-enqueue-b": "ok" },
        },
      },
    ],
  },
  {
    name: "lifecycle: Envoy's foreign functions (compress, uncompress) and an unknown one",
    proxies: [{ plugins: [lifecycle("lc", "quiet")] }],
    steps: [
      { name: "compress", request: { path: "/", headers: { "x-foreign": "compress", "x-foreign-arg": "hello hello hello hello" } } },
      {
        name: "uncompress zlib data",
        request: { path: "/", headers: { "x-foreign": "uncompress", "x-foreign-hex": deflateSync("round trip").toString("hex") } },
        expect: { headers: { "x-foreign-result": `status=0 hex=${Buffer.from("round trip").toString("hex")}` } },
      },
      { name: "uncompress bytes that are not zlib", request: { path: "/", headers: { "x-foreign": "uncompress", "x-foreign-hex": "00112233" } } },
      { name: "a function Envoy does not have", request: { path: "/", headers: { "x-foreign": "no_such_function" } }, expect: { headers: { "x-foreign-result": "status=1 hex=-" } } },
    ],
  },
  {
    name: "lifecycle: a plugin whose configure traps on the worker (after its canary passed) runs without its filter there",
    proxies: [{ plugins: [lifecycle("lc", "trap=on_configure trap_at=3", { failurePolicy: "FAIL_CLOSED" })] }],
    steps: [
      { name: "the request passes untouched", request: { path: "/" }, expect: { status: 200, headers: { "x-lc-lc": null }, reachedUpstream: true } },
    ],
  },
  {
    name: "lifecycle: a plugin whose on_vm_start traps on the main thread still serves on the worker",
    proxies: [{ plugins: [lifecycle("lc", "", { vmConfiguration: "trap=on_vm_start trap_at=2", failurePolicy: "FAIL_CLOSED" })] }],
    steps: [
      { name: "the worker VM serves", request: { path: "/" }, expect: { status: 200, headers: { "x-lc-lc": "vm_starts=1 vm_configures=1 streams=1 request=1 ctx=2 root_ctx=1 ticks=0" } } },
    ],
  },
];
