// Drives request/response cycles through a plugin in the embedded host and measures them: time per
// request (median, p99), module size, and guest memory growth. Used by `pwasm bench` and the
// benchmark suite in bench/.
import { readFile } from "node:fs/promises";
import { ProxyWasmHost } from "../../host/host.js";
import type { Plugin, PluginOptions } from "../../host/plugin/plugin.js";
import { HeaderMap } from "../../host/values/header_map.js";
import type { HttpStreamSink } from "../../host/streams/http_stream.js";
import { formatEnvoyLog } from "../../host/services/logs.js";

/** One request/response exchange to repeat. */
export interface BenchExchange {
  requestHeaders: Array<[string, string]>;
  requestBody?: Buffer;
  responseHeaders: Array<[string, string]>;
  responseBody?: Buffer;
}

/** The exchange `pwasm bench` uses unless told otherwise: a GET and a small 200 response. */
export const DEFAULT_EXCHANGE: BenchExchange = {
  requestHeaders: [
    [":method", "GET"], [":path", "/api/items?page=1"], [":authority", "example.com"], [":scheme", "http"],
    ["user-agent", "pwasm-bench/1"], ["accept", "application/json"], ["x-request-id", "4f9b1c1e-8d0a-4a7e-9d6e-0b2b0d6c9f00"],
  ],
  responseHeaders: [[":status", "200"], ["content-type", "application/json"], ["content-length", "17"], ["server", "upstream"]],
  responseBody: Buffer.from('{"items":[1,2,3]}'),
};

/** A plugin loaded for benchmarking. */
export interface BenchTarget {
  plugin: Plugin;
  /** Module size in bytes. */
  bytes: number;
  /**
   * Warnings and errors the plugin logged while it started, as Envoy prints them: e.g. the pwasm
   * SDK's "unknown root id, passing through", after which the figures time a pass-through.
   */
  startWarnings: string[];
}

/** Loads a plugin into a quiet host for benchmarking. */
export async function loadBenchTarget(wasm: string | Uint8Array, options: PluginOptions = {}): Promise<BenchTarget> {
  const bytes = typeof wasm === "string" ? await readFile(wasm) : wasm;
  const startWarnings: string[] = [];
  let starting = true;
  const host = new ProxyWasmHost({
    mode: "manual", keepLogs: false, logLevel: "warn",
    onLog: (e) => { if (starting) startWarnings.push(formatEnvoyLog(e)); },
  });
  const plugin = await host.loadPlugin(bytes, options);
  starting = false;
  return { plugin, bytes: bytes.length, startWarnings };
}

// A sink that only checks the stream got through (a local reply or failure would show here).
function countingSink(): HttpStreamSink & { responses: number } {
  const sink = {
    responses: 0,
    responseHeaders: () => { sink.responses++; },
  };
  return sink;
}

/** An exchange with its header lists flattened once, so the harness costs little per request. */
export interface PreparedExchange {
  requestPairs: string[];
  requestBody: Buffer | undefined;
  responsePairs: string[];
  responseBody: Buffer | undefined;
}

/** Flattens an exchange's headers (Array.prototype.flat costs about a microsecond a call). */
export function prepareExchange(x: BenchExchange): PreparedExchange {
  const flat = (h: Array<[string, string]>) => h.reduce<string[]>((out, [k, v]) => (out.push(k, v), out), []);
  return { requestPairs: flat(x.requestHeaders), requestBody: x.requestBody, responsePairs: flat(x.responseHeaders), responseBody: x.responseBody };
}

/** Runs one exchange through the plugin; returns nanoseconds taken. */
export function runExchange(target: BenchTarget, x: PreparedExchange, sink: HttpStreamSink): bigint {
  const start = process.hrtime.bigint();
  const s = target.plugin.newHttpStream(sink);
  // Fresh maps each time: the plugin may change them.
  s.decodeHeaders(new HeaderMap(x.requestPairs.slice()), !x.requestBody);
  if (x.requestBody) s.decodeData(x.requestBody, true);
  s.encodeHeaders(new HeaderMap(x.responsePairs.slice()), !x.responseBody);
  if (x.responseBody) s.encodeData(x.responseBody, true);
  s.complete();
  return process.hrtime.bigint() - start;
}

/** Per-request timings of a run, in nanoseconds. */
export class Samples {
  readonly ns: number[] = [];

  add(ns: bigint): void {
    this.ns.push(Number(ns));
  }

  /** The q-quantile (0..1). */
  quantile(q: number): number {
    const sorted = [...this.ns].sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }
}

/** What `pwasm bench` reports. */
export interface BenchResult {
  requests: number;
  /** Median and 99th percentile time per request, microseconds. */
  medianUs: number;
  p99Us: number;
  /** Requests per second of wall time over the measured run. */
  requestsPerSecond: number;
  moduleBytes: number;
  /** Guest memory after warm-up and at the end, bytes. */
  memoryAfterWarmup: number;
  memoryAtEnd: number;
  /** VM failures during the run (should be 0). */
  failures: number;
}

/** Options of a benchmark run. */
export interface BenchOptions {
  requests?: number;
  warmup?: number;
  exchange?: BenchExchange;
}

/** Benchmarks one plugin: warm-up, then `requests` timed exchanges. */
export function benchTarget(target: BenchTarget, options: BenchOptions = {}): BenchResult {
  const x = prepareExchange(options.exchange ?? DEFAULT_EXCHANGE);
  const sink = countingSink();
  for (let i = 0; i < (options.warmup ?? 1000); i++) runExchange(target, x, sink);
  const memory = () => target.plugin.currentVms().reduce((n, vm) => n + vm.mem.size, 0);
  const memoryAfterWarmup = memory();
  const samples = new Samples();
  const n = options.requests ?? 10_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) samples.add(runExchange(target, x, sink));
  const wallNs = Number(process.hrtime.bigint() - started);
  return {
    requests: n,
    medianUs: samples.quantile(0.5) / 1000,
    p99Us: samples.quantile(0.99) / 1000,
    requestsPerSecond: Math.round(n / (wallNs / 1e9)),
    moduleBytes: target.bytes,
    memoryAfterWarmup,
    memoryAtEnd: memory(),
    failures: target.plugin.failures.length,
  };
}
