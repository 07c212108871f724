// The Envoy benchmark suite (`npm run bench:envoy`; not part of the tests): add-header written every
// way there is, and pwasm's Istio chain, in a real Envoy 1.40 side by side in one run —
//   no filter; an Envoy Lua filter doing the same work; the hand-written WAT floor; the pwasm SDK
//   (and the same source built the way pwasm built it before it exported only the callbacks a
//   plugin overrides); @gcoredev/proxy-wasm-sdk-as; @solo-io/proxy-runtime; the Go SDK and C, built
//   from source here; metadata-exchange + stats (inbound, peer known) as two modules in two VMs per
//   worker and as plugins/istio's one module in one VM.
// Figures (cli/bench/envoy_bench.ts): Envoy's CPU time per request in interleaved rounds,
// instructions per request under callgrind (repeatable where CPU time on a shared machine is not),
// and resident memory after warm-up at concurrency 1, 2, 4, 8 and 16.
//
//   npm run bench:envoy                 print the tables and the goals
//   npm run bench:envoy -- --write      also write bench/results/envoy.{json,md} and the README's table
//   options: --rounds N --requests N --concurrency 1,2,4,8,16 --memory-rounds N --no-instructions
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpuRatio, instructionRatio, luaVariant, noFilterVariant, runEnvoyBench, type EnvoyBenchResult, type EnvoyBenchVariant } from "../cli/bench/envoy_bench.js";
import { cpuTable, memoryTable, methodNote } from "../cli/bench/envoy_report.js";
import { httpGet } from "../cli/http_client.js";
import { findLocalEnvoy } from "../cli/envoy/local_envoy.js";
import { encodePeerMetadata } from "../host/istio/peer_metadata.js";
import {
  buildCAddHeader, buildFloorAddHeader, buildGcoreAddHeader, buildGoAddHeader, buildProject, buildProxyRuntimeAddHeader,
  buildPwasmAddHeader, ROOT, type BuiltModule,
} from "./builds.js";
import { replaceReadmeBlock } from "./readme.js";

const { values: args } = parseArgs({
  options: {
    write: { type: "boolean", default: false },
    rounds: { type: "string", default: "7" },
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "1,2,4,8,16" },
    "memory-rounds": { type: "string", default: "3" },
    "no-instructions": { type: "boolean", default: false },
  },
});
const positive = (name: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a positive integer, got '${v}'`);
  return n;
};

const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- the variants --------------------------------------------------------------------------------

const CONFIG = "x-hello: world";
const addsHeader = (r: { headers: Record<string, string> }) => (r.headers["x-hello"] === "world" ? undefined : `no x-hello: world in the response (${Object.keys(r.headers).join(", ")})`);
const addHeaderPlugin = (m: BuiltModule, extra: Record<string, string> = {}) => ({ wasm: m.path, rootId: "add_header", configuration: CONFIG, ...extra });

// The Lua filter does what add-header does, as far as Lua can: it has no metrics API, so the
// request count is a per-worker Lua global.
const LUA = `requests = 0
function envoy_on_request(handle)
  requests = requests + 1
end
function envoy_on_response(handle)
  handle:headers():add("x-hello", "world")
end
`;

// reviews-v1's sidecar receiving a request from productpage-v1's (Istio's Bookinfo), as
// test/differential/scenarios/istio.ts configures them: Istio 1.16's filter settings.
const REVIEWS = {
  NAME: "reviews-v1-545db77b95-qd2hq", NAMESPACE: "default", WORKLOAD_NAME: "reviews-v1", CLUSTER_ID: "Kubernetes",
  ISTIO_VERSION: "1.16.1", MESH_ID: "cluster.local",
  LABELS: { app: "reviews", version: "v1", "service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v1" },
};
const PRODUCTPAGE = {
  NAME: "productpage-v1-6b746f74dc-9stvs", NAMESPACE: "default", WORKLOAD_NAME: "productpage-v1", CLUSTER_ID: "Kubernetes",
  ISTIO_VERSION: "1.16.1", MESH_ID: "cluster.local",
  LABELS: { app: "productpage", version: "v1", "service.istio.io/canonical-name": "productpage", "service.istio.io/canonical-revision": "v1" },
};
const PEER_HEADERS: Array<[string, string]> = [
  ["x-envoy-peer-metadata", encodePeerMetadata(PRODUCTPAGE)],
  ["x-envoy-peer-metadata-id", "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local"],
];
const INBOUND_HTTP_STATS = '{"debug": "false", "stat_prefix": "istio", "disable_host_header_fallback": true}';

// Two modules in two VMs per worker (vm_ids as Istio's), or plugins/istio's one module for both
// filters: the same vm_id and code, so Envoy runs both in one VM per worker, each with its own root.
function istioChain(name: string, modules: { mx: BuiltModule; stats: BuiltModule } | { istio: BuiltModule }): EnvoyBenchVariant {
  const shared = "istio" in modules;
  const mx = shared ? modules.istio : modules.mx;
  const stats = shared ? modules.istio : modules.stats;
  return {
    name,
    moduleBytes: shared ? modules.istio.bytes : mx.bytes + stats.bytes,
    plugins: [
      { wasm: mx.path, name: "istio.metadata_exchange", vmId: shared ? "istio" : "metadata_exchange", ...(shared ? { rootId: "metadata_exchange" } : {}) },
      { wasm: stats.path, name: "istio.stats", rootId: "stats_inbound", vmId: shared ? "istio" : "stats_inbound", configuration: INBOUND_HTTP_STATS },
    ],
    headers: PEER_HEADERS,
    // Every request counted with the peer's labels: the measured path is the one with a known peer.
    async checkAdmin(adminUrl, requests) {
      const body = (await httpGet(`${adminUrl}/stats/prometheus`, 10_000)).body;
      const line = body.split("\n").find((l) => l.startsWith("istio_requests_total{") && l.includes('source_workload="productpage-v1"') && l.includes('destination_workload="reviews-v1"'));
      const count = line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
      return count >= requests ? undefined : `istio_requests_total with productpage-v1 → reviews-v1 counted ${count} of ${requests} requests`;
    },
  };
}

const CHAIN = "pwasm metadata-exchange + stats";
const CHAIN_ONE_VM = "pwasm metadata-exchange + stats, one VM (plugins/istio)";
/** The chain variants the chain goals are judged on (the best of them, named in the goal). */
const CHAINS = [CHAIN, CHAIN_ONE_VM];

async function buildVariants(): Promise<EnvoyBenchVariant[]> {
  log("building the variants (AssemblyScript, Go, C, WAT)…");
  const floor = await buildFloorAddHeader();
  const pwasm = await buildPwasmAddHeader();
  const pwasmAll = await buildPwasmAddHeader({ keepAllCallbacks: true }, "pwasm-add-header-all-callbacks");
  const gcore = await buildGcoreAddHeader();
  const proxyRuntime = buildProxyRuntimeAddHeader();
  const go = await buildGoAddHeader();
  const c = await buildCAddHeader();
  const mx = await buildProject("plugins/metadata-exchange", "metadata-exchange");
  const stats = await buildProject("plugins/stats", "stats");
  const mxAll = await buildProject("plugins/metadata-exchange", "metadata-exchange-all-callbacks", { keepAllCallbacks: true });
  const statsAll = await buildProject("plugins/stats", "stats-all-callbacks", { keepAllCallbacks: true });
  const istio = await buildProject("plugins/istio", "istio");
  const wasm = (name: string, m: BuiltModule): EnvoyBenchVariant => ({ name, moduleBytes: m.bytes, plugins: [addHeaderPlugin(m)], check: addsHeader });
  return [
    noFilterVariant("no filter"),
    luaVariant("Envoy Lua filter", LUA, addsHeader),
    wasm("hand-written WAT (floor)", floor),
    wasm("pwasm SDK", pwasm),
    wasm("pwasm SDK, every callback exported", pwasmAll),
    wasm("@gcoredev/proxy-wasm-sdk-as", gcore),
    wasm("@solo-io/proxy-runtime", proxyRuntime),
    wasm("Go SDK (tetratelabs v0.24.0, Go wasip1)", go),
    wasm("C (raw ABI, wasi-libc)", c),
    istioChain(CHAIN, { mx, stats }),
    istioChain("pwasm metadata-exchange + stats, every callback exported", { mx: mxAll, stats: statsAll }),
    istioChain(CHAIN_ONE_VM, { istio }),
  ];
}

// ---- goals ---------------------------------------------------------------------------------------

interface Goal {
  figure: string;
  measured: string;
  goal: string;
  met: boolean;
}

function goals(r: EnvoyBenchResult): Goal[] {
  const byName = (n: string) => r.variants.find((v) => v.name === n)!;
  const cpuAndInstr = (a: string, b: string, max: number, figure = `${a} ÷ ${b}, per request`): Goal => {
    const cpu = cpuRatio(r, a, b);
    const instr = instructionRatio(r, a, b);
    return {
      figure,
      measured: `CPU ${cpu.median.toFixed(2)} (${cpu.min.toFixed(2)}–${cpu.max.toFixed(2)})${instr !== undefined ? `; instructions ${instr.toFixed(2)}` : ""}`,
      goal: `≤ ${max}`,
      met: cpu.median <= max && (instr === undefined || instr <= max),
    };
  };
  const out = [
    cpuAndInstr("pwasm SDK", "hand-written WAT (floor)", 1.15),
    cpuAndInstr("pwasm SDK", "@gcoredev/proxy-wasm-sdk-as", 0.8),
    chainCpuGoal(r, (a) => cpuAndInstr(a, "pwasm SDK", 2.5, `metadata-exchange + stats ÷ pwasm SDK, per request (best chain: ${a})`)),
  ];
  if (r.memoryConcurrencies.length > 0) {
    const pwasm = byName("pwasm SDK");
    const floor = byName("hand-written WAT (floor)");
    const worst = pwasm.rss.map((m, i) => m.aboveBaselineBytes / floor.rss[i]!.aboveBaselineBytes);
    out.push({
      figure: "RSS above no filter, pwasm SDK ÷ WAT floor, each concurrency",
      measured: pwasm.rss.map((m, i) => `${m.concurrency}: ${worst[i]!.toFixed(2)}`).join(", "),
      goal: "≤ 1.1",
      met: worst.every((x) => x <= 1.1),
    });
    const best = CHAINS.map((n) => ({ n, m: byName(n).rss.find((m) => m.concurrency === 16) }))
      .filter((c) => c.m !== undefined)
      .sort((a, b) => a.m!.aboveBaselineBytes - b.m!.aboveBaselineBytes)[0];
    const chain = best?.m;
    if (chain) {
      out.push({
        figure: `RSS above no filter, metadata-exchange + stats, concurrency 16 (best chain: ${best.n})`,
        measured: `${(chain.aboveBaselineBytes / 2 ** 20).toFixed(1)} MiB`,
        goal: "≤ 40 MiB",
        met: chain.aboveBaselineBytes <= 40 * 2 ** 20,
      });
    }
  }
  return out;
}

// The chain whose cost per request is lowest: by instructions when counted (repeatable), else by
// CPU time; its goal row names it.
function chainCpuGoal(r: EnvoyBenchResult, goal: (chain: string) => Goal): Goal {
  const cost = (n: string) => instructionRatio(r, n, "pwasm SDK") ?? cpuRatio(r, n, "pwasm SDK").median;
  return goal([...CHAINS].sort((a, b) => cost(a) - cost(b))[0]!);
}

// ---- before and after: every callback exported (as pwasm built them before); two VMs against one -

// Rows comparing two variants of this run: module bytes, instructions and CPU per request, and RSS
// at the highest concurrency measured.
function beforeAfterRows(r: EnvoyBenchResult, what: string, beforeName: string, afterName: string): string[] {
  const byName = (n: string) => r.variants.find((v) => v.name === n)!;
  const rows: string[] = [];
  const before = byName(beforeName);
  const after = byName(afterName);
  const cpu = cpuRatio(r, afterName, beforeName);
  rows.push(`| ${what}: module bytes | ${before.moduleBytes!.toLocaleString("en-US")} | ${after.moduleBytes!.toLocaleString("en-US")} | ${(after.moduleBytes! / before.moduleBytes!).toFixed(2)} |`);
  if (before.instructions && after.instructions) {
    const base = r.variants[0]!.instructions!.median;
    rows.push(`| ${what}: instructions/request (above ${r.baseline}) | ${Math.round(before.instructions.median).toLocaleString("en-US")} (+${((before.instructions.median - base) / 1000).toFixed(1)}k) | ${Math.round(after.instructions.median).toLocaleString("en-US")} (+${((after.instructions.median - base) / 1000).toFixed(1)}k) | ${(after.instructions.median / before.instructions.median).toFixed(3)} (${((after.instructions.median - base) / (before.instructions.median - base)).toFixed(2)}) |`);
  }
  rows.push(`| ${what}: CPU µs/request | ${before.cpu.median.toFixed(1)} | ${after.cpu.median.toFixed(1)} | ${cpu.median.toFixed(2)} (${cpu.min.toFixed(2)}–${cpu.max.toFixed(2)}) |`);
  const last = r.memoryConcurrencies.length - 1;
  if (last >= 0) {
    const c = r.memoryConcurrencies[last]!;
    rows.push(`| ${what}: RSS above ${r.baseline}, concurrency ${c}, MiB | ${(before.rss[last]!.aboveBaselineBytes / 2 ** 20).toFixed(1)} | ${(after.rss[last]!.aboveBaselineBytes / 2 ** 20).toFixed(1)} | — |`);
  }
  return rows;
}

function changesTable(r: EnvoyBenchResult): string {
  return [
    "Exporting only the callbacks a plugin overrides (`cli/build/export_callbacks.ts`; Envoy then calls 4 callbacks per request for add-header instead of 6, see `docs/envoy/callbacks.md`), this run:",
    "",
    "| figure | every callback exported (before) | only those overridden (after) | after ÷ before |",
    "|---|---:|---:|---:|",
    ...beforeAfterRows(r, "add-header", "pwasm SDK, every callback exported", "pwasm SDK"),
    ...beforeAfterRows(r, "metadata-exchange + stats", "pwasm metadata-exchange + stats, every callback exported", CHAIN),
    "",
    "Both Istio filters in one VM per worker (`plugins/istio`: one module with both roots, both filters with the same `vm_id`), this run:",
    "",
    "| figure | two modules, two VMs (before) | one module, one VM (after) | after ÷ before |",
    "|---|---:|---:|---:|",
    ...beforeAfterRows(r, "metadata-exchange + stats", CHAIN, CHAIN_ONE_VM),
  ].join("\n");
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const probe = await findLocalEnvoy();
  if (!probe.ok) throw new Error(`the Envoy suite needs a local Envoy: ${probe.reason}`);
  const variants = await buildVariants();
  const concurrencies = args.concurrency.split(",").map((c) => positive("concurrency", c.trim()));
  const result = await runEnvoyBench({
    envoy: probe.envoy,
    variants,
    proxy: { node: { id: "sidecar~10.244.0.20~reviews-v1-545db77b95-qd2hq.default~default.svc.cluster.local", cluster: "reviews.default", metadata: REVIEWS }, listenerDirection: "inbound" },
    requests: positive("requests", args.requests),
    rounds: positive("rounds", args.rounds),
    memoryConcurrencies: concurrencies,
    memoryRounds: positive("memory-rounds", args["memory-rounds"]),
    instructions: args["no-instructions"] ? undefined : { requests: 2_000, rounds: 3 },
    onProgress: log,
  });
  const goalRows = goals(result);
  const command = `npm run bench:envoy${process.argv.slice(2).filter((a) => a !== "--write").map((a) => ` ${a}`).join("")}`;
  const md = [
    cpuTable(result), "", memoryTable(result), "",
    "| goal | measured | target | met |", "|---|---|---|---|",
    ...goalRows.map((g) => `| ${g.figure} | ${g.measured} | ${g.goal} | ${g.met ? "yes" : "no"} |`),
    "", methodNote(result), "",
  ].join("\n");
  process.stdout.write(`${md}\n${changesTable(result)}\n`);
  if (!args.write) {
    log("not written (add --write to update bench/results/envoy.json, envoy.md and the README)");
    return;
  }
  const out = join(ROOT, "bench", "results");
  writeFileSync(join(out, "envoy.json"), `${JSON.stringify({ command, ...result, goals: goalRows }, null, 2)}\n`);
  const changes = changesTable(result);
  writeFileSync(join(out, "envoy.md"), `Made by \`${command}\` on ${result.date.slice(0, 10)}.\n\n${md}\n${changes}\n`);
  const readme = join(ROOT, "README.md");
  let text = replaceReadmeBlock(readFileSync(readme, "utf8"), "envoy", `Made by \`${command}\` (${result.date.slice(0, 10)}, a shared 2-core machine):\n\n${md}`);
  text = replaceReadmeBlock(text, "changes", changes);
  writeFileSync(readme, text);
  log("wrote bench/results/envoy.json, bench/results/envoy.md and the README's Envoy table");
}

await main();
