// What the callback time limit costs (docs/deadlines.md): the same plugins with the limit (their
// loops instrumented, host/wasm/deadline.ts) and without (callbackTimeLimitMs: 0), taking turns in
// short rounds so machine noise hits both alike — per request in the embedded host, and the load
// time of the Go fixture (2.7 MB: the instrumentation pass plus compiling a larger module).
//   node dist/bench/deadlines.js [<requests per round> <rounds>]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_EXCHANGE, loadBenchTarget, prepareExchange, runExchange, Samples, type BenchTarget } from "../cli/bench/bench_plugin.js";
import { ProxyWasmHost } from "../host/host.js";
import { instrumentDeadlines } from "../host/wasm/deadline.js";
import { capModuleMemory } from "../host/wasm/memory_limit.js";
import { buildGoFixture } from "../test/fixtures/build.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** One plugin's per-request time with and without the limit. */
export interface DeadlineRequestRow {
  name: string;
  bytes: number;
  /** Median µs per request. */
  withLimitUs: number;
  withoutLimitUs: number;
  /** (with − without) ÷ without. */
  overhead: number;
}

/** Loading a module with and without the limit (median ms over the rounds). */
export interface DeadlineLoadRow {
  name: string;
  bytes: number;
  withLimitMs: number;
  withoutLimitMs: number;
  /** The instrumentation pass alone, ms. */
  instrumentMs: number;
  loops: number;
}

export interface DeadlineBench {
  requests: DeadlineRequestRow[];
  load: DeadlineLoadRow[];
  /** Why a row is missing (no Go toolchain, …). */
  skipped: string[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Pair {
  name: string;
  wasm: Uint8Array;
  options: { rootId?: string; configuration?: string };
  with?: BenchTarget;
  without?: BenchTarget;
  withSamples: Samples;
  withoutSamples: Samples;
}

// The Go fixture, built from source (cached in .cache/fixtures); undefined without a Go toolchain.
async function goFixture(skipped: string[]): Promise<Uint8Array | undefined> {
  try {
    return readFileSync((await buildGoFixture("xlang")).path);
  } catch (err) {
    skipped.push(`the Go fixture: ${(err as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

/** Runs the measurements: `perRound` requests per target per round, `rounds` rounds. */
export async function runDeadlineBench(perRound = 2000, rounds = 20, loadRounds = 7): Promise<DeadlineBench> {
  const skipped: string[] = [];
  const pairs: Pair[] = [{
    name: "add-header (pwasm SDK)", wasm: readFileSync(join(ROOT, "examples", "add-header", "build", "release.wasm")),
    options: { rootId: "add_header", configuration: "x-hello: world" }, withSamples: new Samples(), withoutSamples: new Samples(),
  }];
  const go = await goFixture(skipped);
  if (go) pairs.push({ name: "xlang (Go SDK, Go wasip1)", wasm: go, options: {}, withSamples: new Samples(), withoutSamples: new Samples() });

  for (const p of pairs) {
    p.with = await loadBenchTarget(p.wasm, { ...p.options, callbackTimeLimitMs: 2000 });
    p.without = await loadBenchTarget(p.wasm, { ...p.options, callbackTimeLimitMs: 0 });
    if (!p.with.plugin.base.deadlines) throw new Error(`${p.name}: the module was not instrumented`);
  }
  const x = prepareExchange(DEFAULT_EXCHANGE);
  const sink = {};
  for (const p of pairs) for (let i = 0; i < 2000; i++) (runExchange(p.with!, x, sink), runExchange(p.without!, x, sink));
  for (let r = 0; r < rounds; r++) {
    for (const p of pairs) {
      // Alternate who goes first.
      const order = r % 2 === 0 ? [[p.with!, p.withSamples], [p.without!, p.withoutSamples]] as const : [[p.without!, p.withoutSamples], [p.with!, p.withSamples]] as const;
      for (const [target, samples] of order) for (let i = 0; i < perRound; i++) samples.add(runExchange(target, x, sink));
    }
  }
  const requests = pairs.map((p) => {
    for (const t of [p.with!, p.without!]) {
      if (t.plugin.failures.length > 0) throw new Error(`${p.name}: VM failed during the run: ${t.plugin.failures[0]!.message}`);
    }
    const w = p.withSamples.quantile(0.5) / 1000;
    const wo = p.withoutSamples.quantile(0.5) / 1000;
    return { name: p.name, bytes: p.wasm.length, withLimitUs: w, withoutLimitUs: wo, overhead: w / wo - 1 };
  });

  // Load: validate, compile, instantiate and start in Envoy's set of VMs (real mode), each time in a
  // fresh host so nothing is reused.
  const load: DeadlineLoadRow[] = [];
  for (const p of pairs.filter((q) => q.wasm.length > 1 << 20)) {
    const withMs: number[] = [];
    const withoutMs: number[] = [];
    const instrumentMs: number[] = [];
    let loops = 0;
    for (let r = 0; r < loadRounds; r++) {
      for (const limit of r % 2 === 0 ? [2000, 0] : [0, 2000]) {
        const host = new ProxyWasmHost({ mode: "real", keepLogs: false, logLevel: "error" });
        const t0 = performance.now();
        await host.loadPlugin(p.wasm, { ...p.options, callbackTimeLimitMs: limit });
        (limit ? withMs : withoutMs).push(performance.now() - t0);
        host.shutdown();
      }
      const t0 = performance.now();
      loops = instrumentDeadlines(capModuleMemory(p.wasm, 1 << 30).bytes).loops;
      instrumentMs.push(performance.now() - t0);
    }
    load.push({ name: p.name, bytes: p.wasm.length, withLimitMs: median(withMs), withoutLimitMs: median(withoutMs), instrumentMs: median(instrumentMs), loops });
  }
  return { requests, load, skipped };
}

/** The results as Markdown tables. */
export function deadlineTable(b: DeadlineBench): string {
  const f = (n: number, d = 2) => n.toFixed(d);
  return [
    "| callback time limit, per request (embedded host, interleaved) | size (bytes) | median µs with | median µs without | cost |",
    "|---|---:|---:|---:|---:|",
    ...b.requests.map((r) => `| ${r.name} | ${r.bytes.toLocaleString("en-US")} | ${f(r.withLimitUs)} | ${f(r.withoutLimitUs)} | ${r.overhead >= 0 ? "+" : ""}${f(r.overhead * 100, 1)} % |`),
    "",
    "| callback time limit, load (validate, instrument, compile, start) | size (bytes) | loops | median ms with | median ms without | instrumenting alone |",
    "|---|---:|---:|---:|---:|---:|",
    ...b.load.map((r) => `| ${r.name} | ${r.bytes.toLocaleString("en-US")} | ${r.loops.toLocaleString("en-US")} | ${f(r.withLimitMs, 1)} | ${f(r.withoutLimitMs, 1)} | ${f(r.instrumentMs, 1)} ms |`),
    ...b.skipped.map((s) => `\n(skipped: ${s})`),
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [perRound, rounds] = process.argv.slice(2).map(Number);
  const b = await runDeadlineBench(perRound || undefined, rounds || undefined);
  process.stdout.write(`${deadlineTable(b)}\n`);
}
