// `pwasm bench <plugin>`: request/response cycles through the embedded host, timed.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { benchTarget, DEFAULT_EXCHANGE, loadBenchTarget, type BenchExchange } from "../bench/bench_plugin.js";
import { UserError } from "../errors.js";
import { positiveInt, repeatable, textOrFile } from "../options.js";
import { resolvePluginArg } from "./run.js";

function parseHeader(spec: string): [string, string] {
  const i = spec.indexOf(":", spec.startsWith(":") ? 1 : 0);
  if (i <= 0) throw new UserError(`--header expects name:value, got '${spec}'`);
  return [spec.slice(0, i).trim().toLowerCase(), spec.slice(i + 1).trim()];
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("time request/response cycles of a plugin in the embedded host (median, p99, size, memory)")
    .argument("<plugin>", ".wasm file or project directory (built first)")
    .option("-n, --requests <n>", "timed requests", positiveInt, 10_000)
    .option("--warmup <n>", "untimed requests first", positiveInt, 1_000)
    .option("--root-id <id>", "root id (Envoy root_id)")
    .option("-c, --config <text|@file>", "plugin configuration", textOrFile)
    .addOption(repeatable("-H, --header <name:value>", "request header (default: a typical GET)"))
    .option("--body <text|@file>", "request body", textOrFile)
    .option("--response-body <text|@file>", "response body", textOrFile)
    .option("--json", "print the result as JSON")
    .action(async (arg: string, o: { requests: number; warmup: number; rootId?: string; config?: string; header?: string[]; body?: string; responseBody?: string; json?: boolean }) => {
      const wasm = await resolvePluginArg(arg);
      const target = await loadBenchTarget(readFileSync(wasm), { rootId: o.rootId, configuration: o.config });
      const exchange: BenchExchange = {
        ...DEFAULT_EXCHANGE,
        requestHeaders: o.header?.length ? o.header.map(parseHeader) : DEFAULT_EXCHANGE.requestHeaders,
        requestBody: o.body !== undefined ? Buffer.from(o.body) : undefined,
        responseBody: o.responseBody !== undefined ? Buffer.from(o.responseBody) : DEFAULT_EXCHANGE.responseBody,
      };
      // A plugin that says it did not start as asked (an unknown root id, a refused setting) would
      // be timed doing something else than the user meant: say so before the figures.
      for (const w of target.startWarnings) process.stderr.write(`pwasm: warning: the plugin logged while starting: ${w}\n`);
      if (!o.json) process.stderr.write(`pwasm: ${o.warmup} warm-up + ${o.requests} timed requests through ${arg}…\n`);
      const r = benchTarget(target, { requests: o.requests, warmup: o.warmup, exchange });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      } else {
        process.stdout.write(
          `requests        ${r.requests}\n` +
          `median          ${r.medianUs.toFixed(2)} µs/request\n` +
          `p99             ${r.p99Us.toFixed(2)} µs/request\n` +
          `throughput      ${r.requestsPerSecond.toLocaleString("en-US")} requests/s (one VM, one core)\n` +
          `module size     ${r.moduleBytes.toLocaleString("en-US")} bytes\n` +
          `guest memory    ${r.memoryAfterWarmup.toLocaleString("en-US")} → ${r.memoryAtEnd.toLocaleString("en-US")} bytes (after warm-up → end)\n` +
          `VM failures     ${r.failures}\n`,
        );
      }
      if (r.failures > 0) process.exitCode = 1;
    });
}
