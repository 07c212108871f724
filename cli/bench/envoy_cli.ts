// From `pwasm bench --envoy` arguments to an Envoy benchmark run (envoy_bench.ts): the plugins form
// one chain; no filter is always measured first; each --compare module is measured alone with the
// first plugin's settings (root id, configuration).
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { EnvoyPlugin, JsonMap } from "../envoy/bootstrap.js";
import { findLocalEnvoy } from "../envoy/local_envoy.js";
import { UserError } from "../errors.js";
import { noFilterVariant, type EnvoyBenchOptions, type EnvoyBenchVariant } from "./envoy_bench.js";
import { hasProcStats } from "./process_stats.js";

/** `pwasm bench --envoy` options, as parsed. */
export interface EnvoyBenchArgs {
  requests?: number;
  warmup?: number;
  rounds: number;
  connections: number;
  /** Comma-separated concurrencies for memory; the first is also where CPU is measured. */
  concurrency: string;
  rootId?: string[];
  config?: string[];
  name?: string[];
  vmId?: string[];
  header?: Array<[string, string]>;
  /** The node's metadata Struct, as JSON. */
  nodeMetadata?: JsonMap;
  nodeId?: string;
  listenerDirection?: "inbound" | "outbound";
  upstream?: string;
  instructions?: boolean;
  /** Keep callgrind's profiles in this directory (new or empty); needs `instructions`. */
  callgrindOut?: string;
  envoyBin?: string;
}

/** Parses "1,4,16" into distinct positive integers, in the order given. */
export function parseConcurrencies(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(",")) {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UserError(`--concurrency expects positive integers separated by commas, got '${spec}'`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** A module's name in the report: its file name, or its project's for a project build (<project>/build/<target>.wasm). */
export function moduleLabel(path: string): string {
  const dir = dirname(path);
  return basename(dir) === "build" && basename(dirname(dir)) ? basename(dirname(dir)) : basename(path);
}

function perPlugin(values: string[] | undefined, count: number, flag: string): Array<string | undefined> {
  if ((values?.length ?? 0) > count) throw new UserError(`${flag} was given ${values!.length} times for ${count} plugin(s)`);
  return Array.from({ length: count }, (_, i) => values?.[i]);
}

// --callgrind-out: a directory that is new or empty, so no earlier profile is overwritten or
// mistaken for one of this run's. Checked before anything starts; created once the run is set.
function checkProfileDirectory(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UserError(`--callgrind-out ${dir} is not a directory`);
  if (readdirSync(dir).length > 0) throw new UserError(`--callgrind-out ${dir} is not empty (give a new or empty directory)`);
}

/**
 * The run `pwasm bench --envoy <plugins...>` asks for: `wasm` are the chain's modules, `compare` the
 * modules measured alone against it (paths; projects already built).
 */
export async function envoyBenchFromArgs(wasm: string[], compare: string[], o: EnvoyBenchArgs): Promise<EnvoyBenchOptions> {
  if (wasm.length === 0) throw new UserError("no plugin to measure");
  if (o.callgrindOut !== undefined) {
    if (!o.instructions) throw new UserError("--callgrind-out keeps the profiles of --instructions; give both");
    checkProfileDirectory(o.callgrindOut);
  }
  const concurrencies = parseConcurrencies(o.concurrency);
  const n = wasm.length;
  const configs = perPlugin(o.config, n, "--config");
  const rootIds = perPlugin(o.rootId, n, "--root-id");
  const names = perPlugin(o.name, n, "--name");
  const vmIds = perPlugin(o.vmId, n, "--vm-id");
  if (!hasProcStats()) throw new UserError("pwasm bench --envoy reads Envoy's CPU time and memory from /proc, which this system does not have (Linux only)");
  const probe = await findLocalEnvoy(o.envoyBin);
  if (!probe.ok) throw new UserError(`pwasm bench --envoy needs a local Envoy binary (its CPU time and memory are read from /proc): ${probe.reason}`);
  const plugins: EnvoyPlugin[] = [];
  for (let i = 0; i < n; i++) {
    plugins.push({
      wasm: wasm[i]!,
      ...(configs[i] !== undefined ? { configuration: configs[i] } : {}),
      ...(rootIds[i] !== undefined ? { rootId: rootIds[i] } : {}),
      ...(names[i] !== undefined ? { name: names[i] } : {}),
      ...(vmIds[i] !== undefined ? { vmId: vmIds[i] } : {}),
    });
  }
  const label = (p: EnvoyPlugin) => moduleLabel(String(p.wasm));
  const variants: EnvoyBenchVariant[] = [
    noFilterVariant(),
    { name: plugins.map(label).join(" + "), plugins },
  ];
  for (const path of compare) {
    const { name: _name, vmId: _vmId, ...settings } = plugins[0]!;
    variants.push({ name: `${moduleLabel(path)} (--compare)`, plugins: [{ ...settings, wasm: path }] });
  }
  // Two variants with one name would be indistinguishable in the report.
  const seen = new Map<string, number>();
  for (const v of variants) {
    const k = (seen.get(v.name) ?? 0) + 1;
    seen.set(v.name, k);
    if (k > 1) v.name = `${v.name} #${k}`;
  }
  const metadata = o.nodeMetadata;
  return {
    envoy: probe.envoy,
    variants,
    proxy: {
      ...(o.upstream ? { upstream: o.upstream } : {}),
      ...(metadata || o.nodeId ? { node: { ...(o.nodeId ? { id: o.nodeId } : {}), ...(metadata ? { metadata } : {}) } } : {}),
      ...(o.listenerDirection ? { listenerDirection: o.listenerDirection } : {}),
    },
    requests: o.requests ?? 20_000,
    warmupRequests: o.warmup ?? 2_000,
    rounds: o.rounds,
    connections: o.connections,
    cpuConcurrency: concurrencies[0]!,
    memoryConcurrencies: concurrencies,
    headers: o.header,
    ...(o.instructions ? { instructions: o.callgrindOut ? { keepProfilesIn: o.callgrindOut } : {} } : {}),
  };
}
