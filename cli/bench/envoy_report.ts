// Tables of an Envoy benchmark run (envoy_bench.ts), as Markdown: readable in a terminal and
// pasted as is into a README.
import { formatCount } from "../format.js";
import type { EnvoyBenchResult, Spread } from "./envoy_bench.js";

const MiB = 2 ** 20;
const int = (n: number) => formatCount(Math.round(n));
const fixed = (n: number, digits: number) => n.toFixed(digits);
const signed = (n: number, digits: number) => `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(digits)}`;
const range = (s: Spread, digits: number) => `${fixed(s.median, digits)} (${fixed(s.min, digits)}–${fixed(s.max, digits)})`;

/** CPU (and instructions, when counted) per request, one row per variant. */
export function cpuTable(r: EnvoyBenchResult): string {
  const counted = r.instructions !== undefined;
  const base = r.variants[0]!;
  const head = [
    "filter", "module (bytes)", "CPU µs/request, median (min–max)", `÷ ${r.baseline}`, `CPU above ${r.baseline}, µs`,
    ...(counted ? ["instructions/request", `instructions above ${r.baseline}`] : []),
  ];
  const rows = r.variants.map((v) => [
    v.name,
    v.moduleBytes !== undefined ? int(v.moduleBytes) : "—",
    range(v.cpu, 1),
    fixed(v.cpuRatioToBaseline.median, 2),
    v === base ? "—" : signed(v.cpuAboveBaselineUs.median, 1),
    ...(counted ? [int(v.instructions!.median), v === base ? "—" : signed((v.instructions!.median - base.instructions!.median) / 1000, 1) + "k"] : []),
  ]);
  return table(head, rows, [false, true, true, true, true, true, true]);
}

/** Resident memory per concurrency, with the difference to the baseline. */
export function memoryTable(r: EnvoyBenchResult): string {
  if (r.memoryConcurrencies.length === 0) return "";
  const head = ["filter", ...r.memoryConcurrencies.map((c) => `RSS MiB, concurrency ${c} (above ${r.baseline})`)];
  const rows = r.variants.map((v, i) => [
    v.name,
    ...v.rss.map((m) => (i === 0 ? fixed(m.medianBytes / MiB, 1) : `${fixed(m.medianBytes / MiB, 1)} (${signed(m.aboveBaselineBytes / MiB, 1)})`)),
  ]);
  return table(head, rows, [false, ...r.memoryConcurrencies.map(() => true)]);
}

/** One paragraph saying how the figures were made. */
export function methodNote(r: EnvoyBenchResult): string {
  const parts = [
    `Envoy ${r.envoy.version}; CPU: ${r.cpuMeasure}, ${int(r.requests)} requests per filter per round over ${r.connections} keep-alive connections at concurrency ${r.cpuConcurrency}, ${r.rounds} rounds, the filters taking turns every ${int(r.chunkRequests)} requests; "÷" and "above" are taken round by round, then the median`,
  ];
  if (r.instructions) parts.push(`instructions: ${r.instructions.measure}, ${int(r.instructions.requests)} requests per count, median of ${r.instructions.rounds}`);
  if (r.memoryConcurrencies.length > 0) parts.push(`memory: ${r.memoryMeasure} of a fresh Envoy after ${int(r.warmupRequests)} warm-up requests (at least 200 per worker)${r.memoryRounds > 1 ? `, median of ${r.memoryRounds}` : ""}`);
  return `${parts.join("; ")}.`;
}

function table(head: string[], rows: string[][], right: boolean[]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (right[i] ? "---:" : "---")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}
