// `pwasm bench <plugin>`: request/response cycles through the embedded host, timed.
// `pwasm bench --envoy <plugins...>`: the plugins as a chain in a real Envoy, against no filter and
// any --compare module: CPU per request and resident memory per concurrency (cli/bench/envoy_*.ts).
import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { benchTarget, DEFAULT_EXCHANGE, loadBenchTarget, type BenchExchange } from "../bench/bench_plugin.js";
import { envoyBenchFromArgs } from "../bench/envoy_cli.js";
import { runEnvoyBench } from "../bench/envoy_bench.js";
import { cpuTable, memoryTable, methodNote } from "../bench/envoy_report.js";
import type { JsonMap } from "../envoy/bootstrap.js";
import { ENVOY_BIN_ENV } from "../envoy/local_envoy.js";
import { setExitStatus, UserError } from "../errors.js";
import { formatBytes, formatCount } from "../format.js";
import { httpUrl, positiveInt, repeatable, textOrFile } from "../options.js";
import { parseNodeMetadataJson, resolvePluginArg } from "../plugin_args.js";

function parseHeader(spec: string): [string, string] {
  const i = spec.indexOf(":", spec.startsWith(":") ? 1 : 0);
  if (i <= 0) throw new UserError(`--header expects name:value, got '${spec}'`);
  return [spec.slice(0, i).trim().toLowerCase(), spec.slice(i + 1).trim()];
}

/** Options of `pwasm bench`, as parsed. */
export interface BenchOptions {
  requests?: number;
  warmup?: number;
  rootId?: string[];
  config?: string[];
  header?: string[];
  body?: string;
  responseBody?: string;
  json?: boolean;
  envoy?: boolean;
  envoyBin?: string;
  compare?: string[];
  concurrency: string;
  rounds: number;
  connections: number;
  instructions?: boolean;
  callgrindOut?: string;
  name?: string[];
  vmId?: string[];
  nodeMetadata?: string;
  nodeId?: string;
  listenerDirection?: "inbound" | "outbound";
  upstream?: string;
}

// Options that only mean something in Envoy, and the embedded host's own.
const ENVOY_ONLY: Array<[keyof BenchOptions, string]> = [
  ["compare", "--compare"], ["instructions", "--instructions"], ["callgrindOut", "--callgrind-out"], ["name", "--name"], ["vmId", "--vm-id"], ["nodeMetadata", "--node-metadata"],
  ["nodeId", "--node-id"], ["listenerDirection", "--listener-direction"], ["upstream", "--upstream"], ["envoyBin", "--envoy-bin"],
];
const EMBEDDED_ONLY: Array<[keyof BenchOptions, string]> = [["body", "--body"], ["responseBody", "--response-body"]];

function refuseOptions(o: BenchOptions, which: Array<[keyof BenchOptions, string]>, why: string): void {
  for (const [key, flag] of which) if (o[key] !== undefined) throw new UserError(`${flag} ${why}`);
}

/** Declares `pwasm bench`: arguments, flags, help; the action runs benchCommand. */
export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("time request/response cycles of a plugin in the embedded host (median, p99, size, memory); with --envoy, Envoy's CPU per request and memory per concurrency for a plugin chain against no filter")
    .argument("<plugins...>", ".wasm files or project directories (built first); the embedded host takes one, --envoy a chain")
    .option("-n, --requests <n>", "timed requests (default: 10000; --envoy: per filter per round, 20000)", positiveInt)
    .option("--warmup <n>", "untimed requests first (default: 1000; --envoy: 2000 per Envoy)", positiveInt)
    .addOption(repeatable("--root-id <id>", "root id (Envoy root_id; per plugin)"))
    .addOption(repeatable("-c, --config <text|@file>", "plugin configuration (per plugin)", textOrFile))
    .addOption(repeatable("-H, --header <name:value>", "request header (default: a typical GET)"))
    .option("--body <text|@file>", "request body", textOrFile)
    .option("--response-body <text|@file>", "response body", textOrFile)
    .option("--json", "print the result as JSON")
    .option("--envoy", `measure in a real Envoy (a local binary: --envoy-bin, $${ENVOY_BIN_ENV}, or envoy on PATH): CPU time per request and resident memory, against no filter`)
    .option("--envoy-bin <path>", "the Envoy binary for --envoy")
    .addOption(repeatable("--compare <plugin>", "--envoy: also measure this module alone, with the first plugin's root id and configuration"))
    .addOption(new Option("--concurrency <list>", "--envoy: Envoy worker counts at which memory is read; CPU is measured at the first").default("1,2,4,8,16"))
    .option("--rounds <n>", "--envoy: rounds of CPU measurement (the filters take turns within each)", positiveInt, 7)
    .option("--connections <n>", "--envoy: keep-alive connections of the load", positiveInt, 8)
    .option("--instructions", "--envoy: also count instructions per request under valgrind's callgrind (slow; repeatable where CPU time is noisy)")
    .option("--callgrind-out <dir>", "--envoy --instructions: keep each count's callgrind profile in this new or empty directory (for callgrind_annotate)")
    .addOption(repeatable("--name <name>", "--envoy: plugin name (Envoy name; per plugin)"))
    .addOption(repeatable("--vm-id <id>", "--envoy: VM id (Envoy vm_config.vm_id; per plugin)"))
    .option("--node-metadata <json|@file>", "--envoy: the node's metadata Struct as a JSON object (Istio's NAME, LABELS, …)", textOrFile)
    .option("--node-id <id>", "--envoy: the node's id")
    .addOption(new Option("--listener-direction <direction>", "--envoy: listener_direction the plugins see").choices(["inbound", "outbound"]))
    .option("-u, --upstream <url>", "--envoy: forward requests to this http:// URL instead of Envoy's direct response")
    .action(async (args: string[], o: BenchOptions) => setExitStatus(await benchCommand(args, o)));
}

/**
 * `pwasm bench`'s work: times the plugin in the embedded host, or with --envoy the chain in Envoy,
 * and prints the figures. Returns 1 when a VM failed during the embedded run, else 0.
 */
export async function benchCommand(args: string[], o: BenchOptions): Promise<number> {
  return o.envoy ? benchInEnvoy(args, o) : benchEmbedded(args, o);
}

async function benchEmbedded(args: string[], o: BenchOptions): Promise<number> {
  refuseOptions(o, ENVOY_ONLY, "is for --envoy");
  if (args.length > 1) throw new UserError(`the embedded host measures one plugin, got ${args.length} (--envoy measures a chain)`);
  if ((o.rootId?.length ?? 0) > 1 || (o.config?.length ?? 0) > 1) throw new UserError("--root-id and --config are given once for one plugin");
  const arg = args[0]!;
  const requests = o.requests ?? 10_000;
  const warmup = o.warmup ?? 1_000;
  const wasm = await resolvePluginArg(arg);
  const target = await loadBenchTarget(readFileSync(wasm), { rootId: o.rootId?.[0], configuration: o.config?.[0] });
  const exchange: BenchExchange = {
    ...DEFAULT_EXCHANGE,
    requestHeaders: o.header?.length ? o.header.map(parseHeader) : DEFAULT_EXCHANGE.requestHeaders,
    requestBody: o.body !== undefined ? Buffer.from(o.body) : undefined,
    responseBody: o.responseBody !== undefined ? Buffer.from(o.responseBody) : DEFAULT_EXCHANGE.responseBody,
  };
  // A plugin that says it did not start as asked (an unknown root id, a refused setting) would
  // be timed doing something else than the user meant: say so before the figures.
  for (const w of target.startWarnings) process.stderr.write(`pwasm: warning: the plugin logged while starting: ${w}\n`);
  if (!o.json) process.stderr.write(`pwasm: ${warmup} warm-up + ${requests} timed requests through ${arg}…\n`);
  const r = benchTarget(target, { requests, warmup, exchange });
  if (o.json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  } else {
    process.stdout.write(
      `requests        ${r.requests}\n` +
      `median          ${r.medianUs.toFixed(2)} µs/request\n` +
      `p99             ${r.p99Us.toFixed(2)} µs/request\n` +
      `throughput      ${formatCount(r.requestsPerSecond)} requests/s (one VM, one core)\n` +
      `module size     ${formatBytes(r.moduleBytes)}\n` +
      `guest memory    ${formatCount(r.memoryAfterWarmup)} → ${formatBytes(r.memoryAtEnd)} (after warm-up → end)\n` +
      `VM failures     ${r.failures}\n`,
    );
  }
  return r.failures > 0 ? 1 : 0;
}

async function benchInEnvoy(args: string[], o: BenchOptions): Promise<number> {
  refuseOptions(o, EMBEDDED_ONLY, "is for the embedded host (Envoy answers with its direct response, or --upstream's)");
  if (o.upstream !== undefined && httpUrl(o.upstream, "--upstream").protocol !== "http:") throw new UserError("--upstream must be an http:// URL for pwasm bench --envoy");
  const nodeMetadata = o.nodeMetadata !== undefined ? (parseNodeMetadataJson(o.nodeMetadata) as JsonMap) : undefined;
  const wasm: string[] = [];
  for (const a of args) wasm.push(await resolvePluginArg(a));
  const compare: string[] = [];
  for (const c of o.compare ?? []) compare.push(await resolvePluginArg(c));
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  try {
    const run = await envoyBenchFromArgs(wasm, compare, {
      ...o, nodeMetadata, header: o.header?.map(parseHeader),
    });
    const result = await runEnvoyBench({
      ...run,
      signal: controller.signal,
      onProgress: (line) => process.stderr.write(`pwasm: ${line}\n`),
    });
    if (o.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`${cpuTable(result)}\n\n${memoryTable(result)}${result.memoryConcurrencies.length ? "\n\n" : ""}${methodNote(result)}\n`);
    }
    if (o.callgrindOut) process.stderr.write(`pwasm: callgrind profiles in ${o.callgrindOut} (callgrind_annotate <file>)\n`);
  } finally {
    process.removeListener("SIGINT", interrupt);
  }
  return 0;
}
