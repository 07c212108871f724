// What the request inspector costs the dev proxy: requests per second through add-header (direct
// response, loopback, wrk when installed else autocannon), in interleaved runs of
//   - baseline: a dev proxy without the inspector hooks (`--baseline <dist>`: another build's
//     dist/host/proxy/dev_proxy.js, e.g. of the commit before them); without it, the same build
//     with the inspector routes off;
//   - idle: the inspector on, no page open (what every `pwasm run` pays; the target is ≥ 0.97×);
//   - recording: the inspector on with a page's live feed open (what watching costs).
// Each round runs every variant once, in an order that rotates per round, each in a fresh proxy
// process; the ratios are per round, reported as median and spread. Results go to
// bench/results/inspector.json and .md with --write.
//
//   npm run build && node dist/bench/inspector.js [--rounds 7] [--seconds 5] [--baseline <dist dir>] [--write]
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { PACKAGE_ROOT } from "../cli/package_root.js";

const ROOT = PACKAGE_ROOT;
const PLUGIN = join(ROOT, "examples", "add-header", "build", "release.wasm");
type Variant = "baseline" | "idle" | "recording";

// ---- the proxy process ------------------------------------------------------------------------

// `--serve <dev_proxy.js> <on|off>`: a dev proxy with add-header, printing its URLs.
async function serve(devProxyModule: string, inspector: string): Promise<void> {
  const { startDevProxy } = (await import(pathToFileURL(devProxyModule).href)) as typeof import("../host/proxy/dev_proxy.js");
  const proxy = await startDevProxy({
    plugins: [{ wasm: PLUGIN, rootId: "add_header", configuration: "x-hello: world" }],
    port: 0, admin: { port: 0 }, directResponse: { status: 200, body: "ok" }, logLevel: "warn",
    ...(inspector === "off" ? { inspector: false } : {}),
  });
  process.stdout.write(`listening ${proxy.url} admin ${proxy.adminUrl}\n`);
  process.once("SIGINT", () => void proxy.close().then(() => process.exit(0)));
}

interface ProxyChild {
  url: string;
  adminUrl: string;
  child: ChildProcess;
}

function startProxy(devProxyModule: string, inspector: "on" | "off"): Promise<ProxyChild> {
  const child = spawn(process.execPath, [process.argv[1]!, "--serve", devProxyModule, inspector], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+) admin (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, adminUrl: m[2]!, child });
    });
    child.on("exit", (code) => reject(new Error(`proxy exited (${code}) before listening`)));
  });
}

// An open inspector page's live feed, read and thrown away.
function openFeed(adminUrl: string): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${adminUrl}/inspector/events`, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`inspector feed answered ${res.statusCode}`));
      res.on("data", () => undefined);
      resolve(req);
    });
    req.on("error", reject);
  });
}

// ---- load -------------------------------------------------------------------------------------

function hasWrk(): boolean {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (err) {
    return (err as { status?: number }).status === 1; // wrk --version exits 1 after printing it
  }
}

async function load(url: string, seconds: number, tool: "wrk" | "autocannon"): Promise<number> {
  if (tool === "wrk") {
    execFileSync("wrk", ["-t1", "-c16", "-d1s", url], { stdio: "ignore" }); // warm-up
    const out = execFileSync("wrk", ["-t1", "-c16", `-d${seconds}s`, url], { encoding: "utf8" });
    if (/Non-2xx|Socket errors/.test(out)) throw new Error(`load run had errors:\n${out}`);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  }
  await autocannon({ url, connections: 8, duration: 1 });
  const r = await autocannon({ url, connections: 16, duration: seconds });
  if (r.errors + r.timeouts + r.non2xx > 0) throw new Error(`load run had ${r.errors + r.timeouts} errors and ${r.non2xx} non-2xx answers`);
  return r.requests.average;
}

async function run(variant: Variant, modules: { baseline: string; current: string; baselineIsOtherBuild: boolean }, seconds: number, tool: "wrk" | "autocannon"): Promise<number> {
  const proxy = variant === "baseline"
    ? await startProxy(modules.baseline, modules.baselineIsOtherBuild ? "on" : "off")
    : await startProxy(modules.current, "on");
  let feed: http.ClientRequest | undefined;
  try {
    if (variant === "recording") feed = await openFeed(proxy.adminUrl);
    return await load(proxy.url, seconds, tool);
  } finally {
    feed?.destroy();
    proxy.child.kill("SIGINT");
    await new Promise((r) => proxy.child.once("exit", r));
  }
}

// ---- report -----------------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const rounds = Number(arg("--rounds", "7"));
  const seconds = Number(arg("--seconds", "5"));
  const baselineDist = process.argv.includes("--baseline") ? resolve(arg("--baseline", "")) : undefined;
  const current = join(ROOT, "dist", "host", "proxy", "dev_proxy.js");
  const modules = { current, baseline: baselineDist ? join(baselineDist, "host", "proxy", "dev_proxy.js") : current, baselineIsOtherBuild: !!baselineDist };
  const tool = hasWrk() ? "wrk" : "autocannon";
  const variants: Variant[] = ["baseline", "idle", "recording"];
  const rps: Record<Variant, number[]> = { baseline: [], idle: [], recording: [] };
  process.stderr.write(`inspector cost: ${rounds} rounds × ${variants.length} variants × ${seconds} s (${tool}, 16 connections); baseline: ${baselineDist ? `the dev proxy of ${baselineDist}` : "inspector routes off"}\n`);
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no variant always runs first (a machine warming or cooling).
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const v of order) rps[v].push(await run(v, modules, seconds, tool));
    process.stderr.write(`round ${round + 1}: ${variants.map((v) => `${v} ${Math.round(rps[v][round]!)}`).join(", ")}\n`);
  }
  const ratio = (v: Variant) => rps[v].map((x, i) => x / rps.baseline[i]!);
  const summary = (v: Variant) => {
    const r = ratio(v);
    return { rps: Math.round(median(rps[v])), ratio: median(r), min: Math.min(...r), max: Math.max(...r) };
  };
  const idle = summary("idle");
  const recording = summary("recording");
  const result = {
    date: new Date().toISOString(), node: process.version, tool, rounds, seconds,
    baseline: baselineDist ? `dev proxy without the inspector hooks (${baselineDist})` : "same build, inspector routes off",
    rps, baselineRps: Math.round(median(rps.baseline)), idle, recording,
    target: { idleRatioAtLeast: 0.97, met: idle.ratio >= 0.97 },
  };
  const f = (n: number) => n.toFixed(3);
  const md = [
    `| dev proxy, add-header, direct response (${tool}, 16 connections, ${rounds} interleaved rounds of ${seconds} s) | requests/s (median) | ÷ baseline (median) | spread over rounds |`,
    "|---|---:|---:|---:|",
    `| baseline: ${result.baseline} | ${result.baselineRps.toLocaleString("en-US")} | 1.000 | |`,
    `| inspector on, no page open | ${idle.rps.toLocaleString("en-US")} | ${f(idle.ratio)} | ${f(idle.min)} – ${f(idle.max)} |`,
    `| inspector on, a page open (recording every request) | ${recording.rps.toLocaleString("en-US")} | ${f(recording.ratio)} | ${f(recording.min)} – ${f(recording.max)} |`,
    "",
    `Target: inspector on with no page open ≥ 0.97× the baseline: ${result.target.met ? "met" : "NOT met"} (${f(idle.ratio)}×).`,
    "",
  ].join("\n");
  process.stdout.write(md);
  // The work tree stays clean unless asked.
  if (!process.argv.includes("--write")) {
    process.stderr.write("not written (add --write to update bench/results/inspector.json and .md)\n");
    return;
  }
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "inspector.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, "inspector.md"), md);
}

if (process.argv[2] === "--serve") await serve(process.argv[3]!, process.argv[4]!);
else await main();
