// Footprint of plugins built with the pwasm SDK: the size of every example's release build
// (AssemblyScript 0.28 and 0.27), and guest memory after 1,000 and after 100,000 request/response
// cycles through the host, for every runtime variant the SDK supports (minimal, incremental).
//   npm run footprint          (builds the CLI and host first)
//   node dist/bench/footprint.js [cycles]
// Exits non-zero when examples/add-header is not under 8 KiB or memory grows past the bound.
import { mkdtempSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compileProject } from "../cli/build/compile.js";
import { createTestHost, type TestHost } from "../host/index.js";

const ROOT = join(import.meta.dirname, "..", "..");
const AS_027 = join(ROOT, "node_modules", "assemblyscript-0.27");

/** examples/add-header's release build must stay under this many bytes. */
export const SIZE_BUDGET = 8 * 1024;
/** Guest memory after the long run may exceed the size after the warm-up run by at most this. */
export const MEMORY_BOUND_BYTES = 64 * 1024;

/** A compiler and runtime to build with. */
export interface Build {
  name: string;
  compilerDir?: string;
  runtime: "minimal" | "incremental";
}

export const BUILDS: Build[] = [
  { name: "AS 0.28 minimal", runtime: "minimal" },
  { name: "AS 0.27 minimal", runtime: "minimal", compilerDir: AS_027 },
  { name: "AS 0.28 incremental", runtime: "incremental" },
  { name: "AS 0.27 incremental", runtime: "incremental", compilerDir: AS_027 },
];

const outDir = mkdtempSync(join(tmpdir(), "pwasm-footprint-"));
let outCounter = 0;

/** Builds an example (release) with a compiler and runtime into a temporary file; its path and size. */
export async function buildExample(example: string, build: Build): Promise<{ wasm: string; bytes: number }> {
  const r = await compileProject({
    dir: join(ROOT, "examples", example), target: "release", outFile: join(outDir, `${outCounter++}.wasm`),
    compilerDir: build.compilerDir, extraArgs: ["--runtime", build.runtime],
  });
  return { wasm: r.outFile, bytes: r.bytes };
}

/** One request/response cycle of a plugin through the test host. */
export type Cycle = (t: TestHost) => void;

const REQUEST = { ":method": "GET", ":path": "/footprint", ":authority": "example.com", "user-agent": "footprint" };

// One request held for an HTTP callout that the test answers with 200.
function calloutCycle(t: TestHost): void {
  const s = t.httpStream();
  s.callOnRequestHeaders(REQUEST, true);
  t.respondToHttpCall({ status: 200, body: "ok" });
  s.callOnResponseHeaders({ ":status": "200" }, true);
  s.complete();
}

/** How each measured example is loaded and driven. */
export const WORKLOADS: Array<{ example: string; rootId: string; configuration?: string; cycle: Cycle }> = [
  {
    example: "add-header", rootId: "add_header", configuration: "x-hello: world",
    cycle: (t) => {
      const s = t.httpStream();
      s.callOnRequestHeaders(REQUEST, true);
      s.callOnResponseHeaders({ ":status": "200" }, true);
      s.complete();
    },
  },
  {
    // A callout per request: the SDK's callout routing and the compat layer's callback map.
    example: "compat-auth-callout", rootId: "auth", configuration: "auth", cycle: calloutCycle,
  },
  { example: "auth-callout", rootId: "auth", configuration: "auth", cycle: calloutCycle },
];

/** Guest memory in bytes of the plugin's (first) VM. */
export function guestMemoryBytes(t: TestHost): number {
  return t.plugin.currentVms()[0]!.mem.size;
}

/** Memory after `warmup` cycles and after `total` cycles (same VM). */
export async function measureMemory(
  wasm: string, w: (typeof WORKLOADS)[number], warmup: number, total: number,
): Promise<{ afterWarmup: number; afterTotal: number; usPerCycle: number }> {
  const t = await createTestHost({ wasm, rootId: w.rootId, configuration: w.configuration, logLevel: "info", clusters: "*" });
  for (let i = 0; i < warmup; i++) w.cycle(t);
  const afterWarmup = guestMemoryBytes(t);
  const t0 = process.hrtime.bigint();
  for (let i = warmup; i < total; i++) w.cycle(t);
  const usPerCycle = Number(process.hrtime.bigint() - t0) / 1000 / Math.max(1, total - warmup);
  if (t.failures.length > 0) throw new Error(`${w.example}: the VM failed: ${t.failures[0]!.message}`);
  return { afterWarmup, afterTotal: guestMemoryBytes(t), usPerCycle };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  const cycles = Number(process.argv[2] ?? 100_000);
  let failed = false;

  console.log("Release build sizes (bytes)");
  console.log(`  ${"example".padEnd(24)} ${"AS 0.28".padStart(8)} ${"AS 0.27".padStart(8)}`);
  const examples = readdirSync(join(ROOT, "examples")).filter((d) => existsSync(join(ROOT, "examples", d, "asconfig.json"))).sort();
  for (const example of examples) {
    const a = await buildExample(example, BUILDS[0]!);
    const b = await buildExample(example, BUILDS[1]!);
    console.log(`  ${example.padEnd(24)} ${a.bytes.toLocaleString("en-US").padStart(8)} ${b.bytes.toLocaleString("en-US").padStart(8)}`);
    if (example === "add-header") {
      for (const [name, bytes] of [["AS 0.28", a.bytes], ["AS 0.27", b.bytes]] as const) {
        const ok = bytes < SIZE_BUDGET;
        failed ||= !ok;
        console.log(`    add-header ${name}: ${bytes} < ${SIZE_BUDGET} bytes: ${ok ? "yes" : "NO"} (margin ${SIZE_BUDGET - bytes} bytes)`);
      }
    }
  }

  console.log("");
  console.log(`Guest memory after 1,000 and after ${cycles.toLocaleString("en-US")} request/response cycles (bound: +${kb(MEMORY_BOUND_BYTES)};`);
  console.log(`a leak of one byte per cycle would add ${kb(cycles - 1_000)}; times are through the test API)`);
  for (const w of WORKLOADS) {
    for (const build of BUILDS) {
      const { wasm } = await buildExample(w.example, build);
      const m = await measureMemory(wasm, w, 1_000, cycles);
      const growth = m.afterTotal - m.afterWarmup;
      const ok = growth <= MEMORY_BOUND_BYTES;
      failed ||= !ok;
      console.log(
        `  ${w.example.padEnd(20)} ${build.name.padEnd(20)} ${kb(m.afterWarmup).padStart(10)} → ${kb(m.afterTotal).padStart(10)}` +
        `  growth ${growth} bytes ${ok ? "ok" : "OVER BOUND"}  (${m.usPerCycle.toFixed(1)} µs/cycle)`,
      );
    }
  }
  if (failed) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
