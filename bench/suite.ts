// The benchmark suite (`npm run bench`; not part of the tests). Everything is measured side by side
// in one run and reported as ratios:
//   1. add-header built five ways — the pwasm SDK (and the same source built as pwasm built it before
//      it exported only the callbacks a plugin overrides), @gcoredev/proxy-wasm-sdk-as,
//      @solo-io/proxy-runtime and a hand-written WAT floor — module size and per-request time in the
//      embedded host, the targets taking turns in short rounds so machine noise hits them alike;
//   2. the stats plugin's per-request cost as a ratio to add-header (bench/stats.ts);
//   3. the dev proxy's requests per second with a no-op plugin against no plugin (wrk when installed,
//      else autocannon; the proxy in a child process; loopback only; bounded in time);
//   4. the callback time limit's cost: per request with and without it, and the Go fixture's load
//      time (bench/deadlines.ts).
// Prints the tables; with --write also writes bench/results/latest.json, latest.md, chart.svg and
// the README's table (a plain run leaves the work tree as it was). The same in Envoy:
// bench/envoy_suite.ts.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import {
  DEFAULT_EXCHANGE, loadBenchTarget, prepareExchange, runExchange, Samples, type BenchTarget,
} from "../cli/bench/bench_plugin.js";
import { HeaderMap } from "../host/values/header_map.js";
import { buildFloorAddHeader, buildGcoreAddHeader, buildProject, buildProxyRuntimeAddHeader, buildPwasmAddHeader, ROOT } from "./builds.js";
import { renderChart } from "./chart.js";
import { replaceReadmeBlock } from "./readme.js";
import { runStatsBench, type StatsBenchRow } from "./stats.js";
import { deadlineTable, runDeadlineBench } from "./deadlines.js";

const OUT = join(ROOT, "bench", "results");
const WRITE = process.argv.includes("--write");
const CONFIG = "x-hello: world";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 2000);
const RPS_SECONDS = Number(process.env.BENCH_RPS_SECONDS ?? 4);
const RPS_PAIRS = Number(process.env.BENCH_RPS_PAIRS ?? 5);

/** One add-header build and its measurements. */
interface Variant {
  name: string;
  what: string;
  wasm: Buffer;
  target?: BenchTarget;
  samples: Samples;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- the add-header variants ----------------------------------------------------------------------

async function buildVariants(): Promise<Variant[]> {
  const variant = (name: string, what: string, path: string): Variant => ({ name, what, wasm: readFileSync(path), samples: new Samples() });
  return [
    variant("pwasm", "pwasm SDK (AssemblyScript 0.28)", (await buildPwasmAddHeader()).path),
    variant("gcore", "@gcoredev/proxy-wasm-sdk-as 1.2.3 (AssemblyScript 0.28)", (await buildGcoreAddHeader()).path),
    variant("proxy-runtime", "@solo-io/proxy-runtime 0.1.8 (AssemblyScript 0.14)", buildProxyRuntimeAddHeader().path),
    variant("floor", "hand-written WAT", (await buildFloorAddHeader()).path),
    variant("pwasm-all", "pwasm SDK, every callback exported (as built before)", (await buildPwasmAddHeader({ keepAllCallbacks: true }, "pwasm-add-header-all-callbacks")).path),
  ];
}

const headerMap = (h: Array<[string, string]>) => new HeaderMap(h.reduce<string[]>((o, [k, v]) => (o.push(k, v), o), []));

// Every variant must do the same work: add x-hello: world to the response, without failing.
function checkBehaviour(v: Variant): void {
  let added: string | undefined;
  const s = v.target!.plugin.newHttpStream({ responseHeaders: (h) => { added = h.get("x-hello"); } });
  s.decodeHeaders(headerMap(DEFAULT_EXCHANGE.requestHeaders), true);
  s.encodeHeaders(headerMap(DEFAULT_EXCHANGE.responseHeaders), true);
  s.complete();
  if (added !== "world") throw new Error(`${v.name}: expected the response header x-hello: world, got ${added ?? "none"}`);
}

function measureVariants(variants: Variant[]): void {
  const x = prepareExchange(DEFAULT_EXCHANGE);
  const sink = {};
  for (const v of variants) for (let i = 0; i < 5000; i++) runExchange(v.target!, x, sink);
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate who goes first, so no variant always follows the same one.
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(r + k) % variants.length]!;
      for (let i = 0; i < PER_ROUND; i++) v.samples.add(runExchange(v.target!, x, sink));
    }
  }
  for (const v of variants) {
    if (v.target!.plugin.failures.length > 0) throw new Error(`${v.name}: VM failed during the run: ${v.target!.plugin.failures[0]!.message}`);
  }
}

// ---- the dev proxy with and without a plugin ---------------------------------------------------------

interface ProxyChild {
  url: string;
  child: ChildProcess;
}

function startProxy(plugin: string | undefined): Promise<ProxyChild> {
  const child = spawn(process.execPath, [join(ROOT, "dist", "bench", "proxy_server.js"), ...(plugin ? [plugin] : [])], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.on("exit", (code) => reject(new Error(`proxy exited (${code}) before listening`)));
  });
}

// wrk (Debian) drives more load per core than autocannon (npm); use it when installed.
function hasWrk(): boolean {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return (err as { status?: number }).status === 1;
  }
}

async function requestsPerSecond(plugin: string | undefined, tool: "wrk" | "autocannon"): Promise<number> {
  const proxy = await startProxy(plugin);
  try {
    if (tool === "wrk") {
      execFileSync("wrk", ["-t1", "-c16", "-d1s", proxy.url], { stdio: "ignore" }); // warm-up
      const out = execFileSync("wrk", ["-t1", "-c16", `-d${RPS_SECONDS}s`, proxy.url], { encoding: "utf8" });
      if (/Non-2xx|Socket errors/.test(out)) throw new Error(`load run had errors:\n${out}`);
      return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
    }
    await autocannon({ url: proxy.url, connections: 8, duration: 1 });
    const r = await autocannon({ url: proxy.url, connections: 16, duration: RPS_SECONDS });
    if (r.errors + r.timeouts + r.non2xx > 0) throw new Error(`load run had ${r.errors + r.timeouts} errors and ${r.non2xx} non-2xx answers`);
    return r.requests.average;
  } finally {
    proxy.child.kill("SIGINT");
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measureProxyOverhead(noop: string): Promise<{ tool: string; none: number; noop: number; overhead: number; pairs: number }> {
  const tool = hasWrk() ? "wrk" : "autocannon";
  // Pairs of runs, no plugin then the no-op plugin, back to back: each pair shares the machine's
  // state of the moment; the overhead is the median over pairs.
  const none: number[] = [];
  const withPlugin: number[] = [];
  const overheads: number[] = [];
  for (let pair = 0; pair < RPS_PAIRS; pair++) {
    const a = await requestsPerSecond(undefined, tool);
    const b = await requestsPerSecond(noop, tool);
    none.push(a);
    withPlugin.push(b);
    overheads.push(1 - b / a);
  }
  return { tool, none: Math.round(median(none)), noop: Math.round(median(withPlugin)), overhead: median(overheads), pairs: RPS_PAIRS };
}

// ---- report ------------------------------------------------------------------------------------------

const fmt = (n: number, digits = 2) => n.toFixed(digits);

async function main(): Promise<void> {
  log("building the add-header variants…");
  const variants = await buildVariants();
  for (const v of variants) {
    v.target = await loadBenchTarget(v.wasm, { rootId: "add_header", configuration: CONFIG });
    checkBehaviour(v);
  }
  log(`measuring ${ROUNDS} interleaved rounds × ${PER_ROUND} requests per variant…`);
  measureVariants(variants);
  log("measuring plugins/stats against add-header…");
  const stats: StatsBenchRow[] = await runStatsBench(2000, 15);
  log(`measuring the dev proxy with and without a no-op plugin (${RPS_PAIRS} pairs of ${RPS_SECONDS} s runs)…`);
  const noop = await buildProject("bench/peers/noop", "noop");
  const proxy = await measureProxyOverhead(noop.path);
  log("measuring the callback time limit: plugins with and without it, interleaved…");
  const deadlines = await runDeadlineBench(PER_ROUND, ROUNDS);

  const ours = variants[0]!;
  const oursMedian = ours.samples.quantile(0.5);
  const rows = variants.map((v) => ({
    name: v.name, what: v.what, bytes: v.wasm.length,
    medianUs: v.samples.quantile(0.5) / 1000, p99Us: v.samples.quantile(0.99) / 1000,
    // pwasm relative to this variant: < 1 means pwasm is smaller / faster.
    sizeRatio: ours.wasm.length / v.wasm.length, timeRatio: oursMedian / v.samples.quantile(0.5),
  }));
  const results = {
    date: new Date().toISOString(), node: process.version, rounds: ROUNDS, perRound: PER_ROUND,
    addHeader: rows, stats, proxy, deadlines,
    targets: {
      addHeaderBytes: { value: ours.wasm.length, target: "≤ 8192", met: ours.wasm.length <= 8192 },
      timeVsGcore: { value: rows[1]!.timeRatio, target: "≤ 0.5", met: rows[1]!.timeRatio <= 0.5 },
      timeVsFloor: { value: rows[3]!.timeRatio, target: "≤ 2 (pwasm ÷ floor)", met: rows[3]!.timeRatio <= 2 },
      proxyOverhead: { value: proxy.overhead, target: "≤ 0.15", met: proxy.overhead <= 0.15 },
    },
  };

  const table = [
    "| add-header built with | size (bytes) | pwasm size ÷ this | median µs/request | p99 µs/request | pwasm time ÷ this |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.what} | ${r.bytes.toLocaleString("en-US")} | ${fmt(r.sizeRatio)} | ${fmt(r.medianUs)} | ${fmt(r.p99Us)} | ${fmt(r.timeRatio)} |`),
    "",
    "| plugin chain (inbound request, Istio attributes) | median µs/request | ÷ add-header | size (KiB) |",
    "|---|---:|---:|---:|",
    ...stats.map((s) => `| ${s.name} | ${fmt(s.medianUs)} | ${fmt(s.ratioToAddHeader)} | ${fmt(s.bytes / 1024, 1)} |`),
    "",
    `| dev proxy (direct response, 16 connections, ${proxy.tool}, median of ${proxy.pairs} pairs) | requests/s |`,
    "|---|---:|",
    `| no plugin | ${proxy.none.toLocaleString("en-US")} |`,
    `| no-op plugin (pwasm SDK) | ${proxy.noop.toLocaleString("en-US")} |`,
    `| overhead | ${fmt(proxy.overhead * 100, 1)} % |`,
    "",
    deadlineTable(deadlines),
    "",
    "| target | measured | goal | met |",
    "|---|---:|---|---|",
    `| add-header release size | ${ours.wasm.length.toLocaleString("en-US")} bytes | ≤ 8 KiB | ${results.targets.addHeaderBytes.met ? "yes" : "no"} |`,
    `| per-request time vs @gcoredev/proxy-wasm-sdk-as | ${fmt(results.targets.timeVsGcore.value)}× | ≤ 0.5× | ${results.targets.timeVsGcore.met ? "yes" : "no"} |`,
    `| per-request time vs the WAT floor | ${fmt(results.targets.timeVsFloor.value)}× | ≤ 2× | ${results.targets.timeVsFloor.met ? "yes" : "no"} |`,
    `| dev proxy overhead of a no-op plugin | ${fmt(proxy.overhead * 100, 1)} % | ≤ 15 % | ${results.targets.proxyOverhead.met ? "yes" : "no"} |`,
  ].join("\n");

  process.stdout.write(`${table}\n`);
  if (!WRITE) {
    log("not written (add --write to update bench/results/latest.json, latest.md, chart.svg and the README)");
    return;
  }
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(OUT, "latest.md"), `${table}\n`);
  writeFileSync(join(OUT, "chart.svg"), renderChart(rows.map((r) => ({ label: r.name, bytes: r.bytes, medianUs: r.medianUs }))));
  const readme = join(ROOT, "README.md");
  writeFileSync(readme, replaceReadmeBlock(readFileSync(readme, "utf8"), "embedded", `${table}\n`));
  log(`wrote bench/results/latest.json, latest.md, chart.svg and the README's table (${results.date}, Node ${process.version})`);
}

await main();
