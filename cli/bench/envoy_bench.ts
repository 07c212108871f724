// Plugins measured where they run: a real Envoy, as a local process, one per variant.
//   - CPU time per request: Envoy's process CPU time (every thread) over a fixed number of
//     requests, divided by that number. Every variant's Envoy runs at once at one concurrency, with
//     its load connections open; a round sends each variant its requests in short chunks, the
//     variants taking turns chunk by chunk (the order rotating), so load from other processes on a
//     shared machine hits them alike. Each figure is a median over rounds with its spread; ratios
//     are taken round by round (the variants of one round shared the machine's state).
//   - Instructions per request (optional): the same, counted by valgrind's callgrind (callgrind.ts)
//     — repeatable where CPU time is noisy.
//   - Resident memory (VmRSS) after a warm-up, at each chosen concurrency (Envoy's --concurrency:
//     worker threads, each with its own VM per plugin), in a fresh Envoy per variant and concurrency.
// Used by `pwasm bench --envoy` and the benchmark suite (bench/envoy_suite.ts).
import { mkdirSync } from "node:fs";
import type { EnvoyBootstrapOptions, EnvoyPlugin, Json, JsonMap } from "../envoy/bootstrap.js";
import type { RunningEnvoy } from "../envoy/instance.js";
import { startLocalEnvoy, type LocalEnvoy } from "../envoy/local_envoy.js";
import { UserError } from "../errors.js";
import { formatCount } from "../format.js";
import { callgrindLauncher, callgrindUnavailable } from "./callgrind.js";
import { openLoadClient, type LoadClient, type LoadResult } from "./load.js";
import { processCpuNanos, processRssBytes } from "./process_stats.js";

/** One way to configure Envoy's HTTP filters, measured against the others. */
export interface EnvoyBenchVariant {
  /** Its name in the report. */
  name: string;
  /** Wasm plugins, in filter order, before the router. */
  plugins: EnvoyPlugin[];
  /**
   * HTTP filters (bootstrap JSON) that replace the Wasm ones before the router: `[]` for no filter,
   * an Envoy Lua filter, … Unset: the plugins' Wasm filters.
   */
  httpFilters?: JsonMap[];
  /** Size of the module(s), for the report. */
  moduleBytes?: number;
  /** Checks the variant did its work on a response: a problem in one line, or undefined. */
  check?: (response: NonNullable<LoadResult["first"]>) => string | undefined;
  /** Request headers of this variant's requests (after the run's own). */
  headers?: Array<[string, string]>;
  /** Checks Envoy's admin API after the CPU rounds (e.g. a plugin's metrics): a problem, or undefined. */
  checkAdmin?: (adminUrl: string, requests: number) => Promise<string | undefined>;
}

/** How to measure. */
export interface EnvoyBenchOptions {
  envoy: LocalEnvoy;
  variants: EnvoyBenchVariant[];
  /** The proxy around the filters (node, listener direction, direct response or upstream); listener and admin are on loopback ports chosen by the system. */
  proxy?: Omit<EnvoyBootstrapOptions, "plugins" | "host" | "port" | "admin">;
  /** Requests per variant per round (default 20,000). */
  requests?: number;
  /** Rounds (default 7). */
  rounds?: number;
  /** Requests per turn within a round (default 2,000): variants alternate this often. */
  chunkRequests?: number;
  /** Requests before measuring, per Envoy (default 2,000). */
  warmupRequests?: number;
  /** Keep-alive connections the load uses (default 8; at least 2 per worker while warming up for memory). */
  connections?: number;
  /** Envoy --concurrency for the CPU figures (default 1). */
  cpuConcurrency?: number;
  /** Concurrencies at which resident memory is read (default 1, 2, 4, 8, 16); [] for none. */
  memoryConcurrencies?: number[];
  /** Fresh Envoys per variant and concurrency for memory (median; default 1). */
  memoryRounds?: number;
  /**
   * Also count instructions per request under callgrind: requests per count, counts per variant,
   * and a directory (new or empty) to keep each count's profile in.
   */
  instructions?: { requests?: number; rounds?: number; keepProfilesIn?: string };
  /** Request headers every request carries (e.g. a peer's metadata-exchange headers). */
  headers?: Array<[string, string]>;
  /** Progress lines. */
  onProgress?: (line: string) => void;
  /** Stops the run (Ctrl-C): running Envoys are stopped and the promise rejects. */
  signal?: AbortSignal;
}

/** A median with the spread it came from. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** One variant's figures. */
export interface EnvoyBenchVariantResult {
  name: string;
  moduleBytes?: number;
  /** Envoy CPU time per request, µs: one value per round, in round order. */
  cpuUsPerRequest: number[];
  cpu: Spread;
  /** Per round: this variant's CPU per request ÷ the baseline's (the first variant). */
  cpuRatioToBaseline: Spread;
  /** Per round: this variant's CPU per request minus the baseline's, µs. */
  cpuAboveBaselineUs: Spread;
  /** Instructions per request under callgrind, one value per count (when counted). */
  instructionsPerRequest?: number[];
  instructions?: Spread;
  /** Resident memory after warm-up, per concurrency. */
  rss: Array<{ concurrency: number; bytes: number[]; medianBytes: number; aboveBaselineBytes: number }>;
}

/** What a run measured, and how. */
export interface EnvoyBenchResult {
  date: string;
  envoy: { version: string; path: string };
  /** How CPU was measured. */
  cpuMeasure: string;
  memoryMeasure: string;
  requests: number;
  rounds: number;
  chunkRequests: number;
  warmupRequests: number;
  connections: number;
  cpuConcurrency: number;
  /** Instruction counts: requests per count and counts per variant (absent: not counted). */
  instructions?: { requests: number; rounds: number; measure: string };
  memoryConcurrencies: number[];
  memoryRounds: number;
  /** The variant every ratio and difference is taken against. */
  baseline: string;
  variants: EnvoyBenchVariantResult[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Median, minimum and maximum of `xs`. */
export function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** Per-round ratios a[i] ÷ b[i] of two variants' figures, as a median with its spread. */
export function pairedRatio(a: number[], b: number[]): Spread {
  return spread(a.map((x, i) => x / b[i]!));
}

/** The no-filter variant: the router alone. */
export function noFilterVariant(name = "no filter"): EnvoyBenchVariant {
  return { name, plugins: [], httpFilters: [] };
}

/** An Envoy Lua filter variant running `code` (inline, `envoy_on_request` / `envoy_on_response`). */
export function luaVariant(name: string, code: string, check?: EnvoyBenchVariant["check"]): EnvoyBenchVariant {
  return {
    name, plugins: [], check,
    httpFilters: [{
      name: "envoy.filters.http.lua",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
        default_source_code: { inline_string: code },
      },
    }],
  };
}

// The bootstrap builder wants a plugin; a variant without Wasm gets a placeholder that its
// httpFilters replace before Envoy reads the file (Envoy never opens it).
const PLACEHOLDER: EnvoyPlugin = { wasm: "/nonexistent/placeholder.wasm" };

function replaceHttpFilters(config: JsonMap, filters: JsonMap[]): JsonMap {
  const listeners = (config.static_resources as JsonMap).listeners as JsonMap[];
  for (const l of listeners) {
    for (const chain of l.filter_chains as JsonMap[]) {
      for (const f of chain.filters as JsonMap[]) {
        const tc = f.typed_config as JsonMap | undefined;
        const http = tc?.http_filters as JsonMap[] | undefined;
        if (!http) continue;
        const router = http[http.length - 1]!;
        tc!.http_filters = [...filters, router] as Json[];
      }
    }
  }
  return config;
}

type Started = RunningEnvoy & { pid: number };

/** Starts one variant's Envoy at `concurrency` (the given Envoy command); resolves once it is ready. */
async function startVariant(v: EnvoyBenchVariant, o: EnvoyBenchOptions, concurrency: number, envoy: LocalEnvoy = o.envoy): Promise<Started> {
  let running: RunningEnvoy;
  try {
    running = await startLocalEnvoy({
      envoy,
      proxy: { ...o.proxy, plugins: v.plugins.length > 0 ? v.plugins : [PLACEHOLDER], host: "127.0.0.1", port: 0, admin: { host: "127.0.0.1", port: 0 } },
      concurrency,
      logLevel: "warn",
      editConfig: v.httpFilters ? (c) => replaceHttpFilters(c, v.httpFilters!) : undefined,
      signal: o.signal,
      readyTimeoutMs: 180_000,
    });
  } catch (err) {
    throw new UserError(`${v.name}: Envoy did not start at concurrency ${concurrency}: ${(err as Error).message}`);
  }
  if (running.pid === undefined) {
    await running.stop();
    throw new Error(`${v.name}: Envoy's process id is unknown`);
  }
  return running as Started;
}

// A load failure names the variant and Envoy's last complaint.
function failure(v: EnvoyBenchVariant, envoy: RunningEnvoy, err: unknown): UserError {
  const complaint = envoy.output.filter((l) => /\]\[(error|critical|warning)\]/.test(l)).at(-1);
  return new UserError(`${v.name}: ${(err as Error).message}${complaint ? `; Envoy said: ${complaint}` : ""}`);
}

async function openClient(v: EnvoyBenchVariant, envoy: RunningEnvoy, o: EnvoyBenchOptions, connections: number): Promise<LoadClient> {
  try {
    return await openLoadClient({ url: `${envoy.url}/`, connections, headers: [...(o.headers ?? []), ...(v.headers ?? [])] });
  } catch (err) {
    throw failure(v, envoy, err);
  }
}

async function runLoad(v: EnvoyBenchVariant, envoy: RunningEnvoy, client: LoadClient, requests: number): Promise<LoadResult> {
  try {
    return await client.run(requests);
  } catch (err) {
    throw failure(v, envoy, err);
  }
}

// Sends one request and applies the variant's check to the response.
async function checkVariant(v: EnvoyBenchVariant, envoy: RunningEnvoy, client: LoadClient): Promise<void> {
  const first = (await runLoad(v, envoy, client, 1)).first!;
  const problem = v.check?.(first);
  if (problem) throw new UserError(`${v.name} does not do the work it is measured for: ${problem}`);
}

// A kept profile's file name: the variant's position and name, in characters any file system takes.
function profileLabel(name: string, index: number): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
  return `${String(index + 1).padStart(2, "0")}-${slug || "variant"}`;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new UserError("interrupted");
}

/** Measures every variant: CPU per request in interleaved rounds, instructions (optional), then memory per concurrency. */
export async function runEnvoyBench(o: EnvoyBenchOptions): Promise<EnvoyBenchResult> {
  const requests = o.requests ?? 20_000;
  const rounds = o.rounds ?? 7;
  const chunk = Math.min(o.chunkRequests ?? 2_000, requests);
  const warmup = o.warmupRequests ?? 2_000;
  const connections = o.connections ?? 8;
  const cpuConcurrency = o.cpuConcurrency ?? 1;
  const memoryConcurrencies = o.memoryConcurrencies ?? [1, 2, 4, 8, 16];
  const memoryRounds = o.memoryRounds ?? 1;
  const progress = o.onProgress ?? (() => {});
  if (o.variants.length === 0) throw new UserError("nothing to measure");
  if (o.instructions) {
    const why = await callgrindUnavailable();
    if (why) throw new UserError(`cannot count instructions: ${why}`);
  }
  const n = o.variants.length;
  const cpu: number[][] = o.variants.map(() => []);

  // ---- CPU: every variant's Envoy running at once, taking turns chunk by chunk.
  progress(`starting ${n} Envoys at concurrency ${cpuConcurrency}…`);
  const running: Array<{ envoy: Started; client?: LoadClient }> = [];
  try {
    for (const v of o.variants) {
      checkAborted(o.signal);
      const envoy = await startVariant(v, o, cpuConcurrency);
      const r: { envoy: Started; client?: LoadClient } = { envoy };
      running.push(r);
      r.client = await openClient(v, envoy, o, connections);
      await checkVariant(v, envoy, r.client);
      await runLoad(v, envoy, r.client, warmup);
    }
    for (let round = 0; round < rounds; round++) {
      const ns = new Array<number>(n).fill(0);
      const done = new Array<number>(n).fill(0);
      for (let c = 0; done.some((d) => d < requests); c++) {
        for (let k = 0; k < n; k++) {
          checkAborted(o.signal);
          const i = (round + c + k) % n;
          const size = Math.min(chunk, requests - done[i]!);
          if (size <= 0) continue;
          const v = o.variants[i]!;
          const { envoy, client } = running[i]!;
          const before = processCpuNanos(envoy.pid);
          const r = await runLoad(v, envoy, client!, size);
          // The last streams finish (on_log, on_done, on_delete) just after their responses left.
          await sleep(5);
          ns[i]! += processCpuNanos(envoy.pid) - before;
          done[i]! += r.completed;
        }
      }
      for (let i = 0; i < n; i++) cpu[i]!.push(ns[i]! / done[i]! / 1000);
      progress(`round ${round + 1}/${rounds} (µs/request): ${o.variants.map((v, i) => `${v.name} ${cpu[i]!.at(-1)!.toFixed(1)}`).join(", ")}`);
    }
    for (let i = 0; i < n; i++) {
      const problem = await o.variants[i]!.checkAdmin?.(running[i]!.envoy.adminUrl, warmup + 1 + rounds * requests);
      if (problem) throw new UserError(`${o.variants[i]!.name}: ${problem}`);
    }
  } finally {
    for (const r of running) r.client?.close();
    await Promise.all(running.map((r) => r.envoy.stop()));
  }

  // ---- Instructions: one variant at a time under callgrind (counts do not depend on the machine's load).
  const instructions: number[][] = o.variants.map(() => []);
  const iRequests = o.instructions?.requests ?? 2_000;
  const iRounds = o.instructions?.rounds ?? 3;
  if (o.instructions) {
    if (o.instructions.keepProfilesIn) mkdirSync(o.instructions.keepProfilesIn, { recursive: true });
    const launcher = callgrindLauncher(o.envoy, o.instructions.keepProfilesIn);
    try {
      for (let i = 0; i < n; i++) {
        checkAborted(o.signal);
        const v = o.variants[i]!;
        progress(`counting instructions: ${v.name} under callgrind…`);
        const envoy = await startVariant(v, o, cpuConcurrency, launcher.envoy);
        const client = await openClient(v, envoy, o, connections).catch(async (err: unknown) => { await envoy.stop(); throw err; });
        try {
          const counter = launcher.counter(envoy.pid, profileLabel(v.name, i));
          await checkVariant(v, envoy, client);
          // Warm up at native speed (V8 tiers the Wasm code up), then a little under instrumentation.
          await runLoad(v, envoy, client, warmup);
          await counter.instrument();
          await runLoad(v, envoy, client, Math.min(200, iRequests));
          for (let r = 0; r < iRounds; r++) {
            await sleep(200);
            await counter.zero();
            const res = await runLoad(v, envoy, client, iRequests);
            await sleep(300);
            instructions[i]!.push((await counter.count()) / res.completed);
          }
        } finally {
          client.close();
          await envoy.stop();
        }
        progress(`  ${v.name}: ${formatCount(Math.round(spread(instructions[i]!).median))} instructions/request`);
      }
    } finally {
      launcher.cleanup();
    }
  }

  // ---- Memory: a fresh Envoy per variant and concurrency, warmed up over enough connections
  // that every worker serves some of them.
  const rss: number[][][] = o.variants.map(() => memoryConcurrencies.map(() => []));
  for (let ci = 0; ci < memoryConcurrencies.length; ci++) {
    const c = memoryConcurrencies[ci]!;
    for (let m = 0; m < memoryRounds; m++) {
      for (let k = 0; k < n; k++) {
        checkAborted(o.signal);
        const i = (m + k) % n;
        const v = o.variants[i]!;
        const envoy = await startVariant(v, o, c);
        try {
          const client = await openClient(v, envoy, o, Math.max(connections, 2 * c));
          try {
            await runLoad(v, envoy, client, Math.max(warmup, 200 * c));
          } finally {
            client.close();
          }
          await sleep(300);
          rss[i]![ci]!.push(processRssBytes(envoy.pid));
        } finally {
          await envoy.stop();
        }
      }
      progress(`memory at concurrency ${c}${memoryRounds > 1 ? ` (${m + 1}/${memoryRounds})` : ""} (MiB): ${o.variants.map((v, i) => `${v.name} ${(rss[i]![ci]!.at(-1)! / 2 ** 20).toFixed(1)}`).join(", ")}`);
    }
  }

  const base = cpu[0]!;
  const baseRss = rss[0]!.map((xs) => spread(xs).median);
  return {
    date: new Date().toISOString(),
    envoy: { version: o.envoy.version, path: o.envoy.path },
    cpuMeasure: "Envoy process CPU time (user + system, every thread: /proc/<pid>/task/*/schedstat)",
    memoryMeasure: "VmRSS from /proc/<pid>/status",
    requests, rounds, chunkRequests: chunk, warmupRequests: warmup, connections, cpuConcurrency,
    ...(o.instructions ? { instructions: { requests: iRequests, rounds: iRounds, measure: "instructions executed by the Envoy process (valgrind --tool=callgrind, every thread)" } } : {}),
    memoryConcurrencies, memoryRounds,
    baseline: o.variants[0]!.name,
    variants: o.variants.map((v, i) => ({
      name: v.name,
      ...(v.moduleBytes !== undefined ? { moduleBytes: v.moduleBytes } : {}),
      cpuUsPerRequest: cpu[i]!,
      cpu: spread(cpu[i]!),
      cpuRatioToBaseline: pairedRatio(cpu[i]!, base),
      cpuAboveBaselineUs: spread(cpu[i]!.map((x, r) => x - base[r]!)),
      ...(o.instructions ? { instructionsPerRequest: instructions[i]!, instructions: spread(instructions[i]!) } : {}),
      rss: memoryConcurrencies.map((c, ci) => {
        const medianBytes = spread(rss[i]![ci]!).median;
        return { concurrency: c, bytes: rss[i]![ci]!, medianBytes, aboveBaselineBytes: medianBytes - baseRss[ci]! };
      }),
    })),
  };
}

/** CPU per request of variant `a` ÷ variant `b`, round by round (median and spread). */
export function cpuRatio(result: EnvoyBenchResult, a: string, b: string): Spread {
  const va = result.variants.find((v) => v.name === a);
  const vb = result.variants.find((v) => v.name === b);
  if (!va || !vb) throw new Error(`no variant named ${!va ? a : b}`);
  return pairedRatio(va.cpuUsPerRequest, vb.cpuUsPerRequest);
}

/** Instructions per request of variant `a` ÷ variant `b` (medians), when counted. */
export function instructionRatio(result: EnvoyBenchResult, a: string, b: string): number | undefined {
  const va = result.variants.find((v) => v.name === a);
  const vb = result.variants.find((v) => v.name === b);
  if (!va || !vb) throw new Error(`no variant named ${!va ? a : b}`);
  return va.instructions && vb.instructions ? va.instructions.median / vb.instructions.median : undefined;
}
