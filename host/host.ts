// A Proxy-Wasm host: the services every plugin it runs shares (logs, metrics, shared data and
// queues, clock, timers, callouts, foreign functions, node-wide properties), and plugin loading.
import inspector from "node:inspector";
import { performance } from "node:perf_hooks";
import { LogLevel, type LogLevelName } from "./abi/constants.js";
import { debuggablePluginModule } from "./inspect/debuggable.js";
import { DEFAULT_MEMORY_LIMIT_BYTES } from "./vm/plugin_vm.js";
import { DEFAULT_CALLBACK_TIME_LIMIT_MS } from "./vm/callback_deadline.js";
import { NO_CLUSTERS, NO_GRPC, type CalloutTransport, type DnsResolver, type GrpcTransport } from "./services/transports.js";
import { Plugin, type PluginOptions } from "./plugin/plugin.js";
import type { Clock, ForeignFunction, HostServices, LocalInfo, TimerService } from "./services/host_services.js";
import type { MetadataInit, NodeInfo } from "./values/envoy_messages.js";
import { envoyForeignFunctions } from "./services/foreign_functions.js";
import { LogSink, type LogEntry } from "./services/logs.js";
import { MetricStore } from "./services/metrics.js";
import { renderPrometheus, type TagExtractor } from "./services/prometheus.js";
import { SharedDataStore, SharedQueueStore } from "./services/shared.js";
import type { PropertyLiteral } from "./values/property_values.js";
import { ManualTimers, RealTimers } from "./services/timers.js";
import type { BaseVm } from "./plugin/base_vm.js";

/** Options of a host. */
export interface HostOptions {
  /** Plugin log level (proxy_get_log_level answers it); default info. */
  logLevel?: LogLevel | LogLevelName;
  /** Keep log lines in memory for inspection (tests); default true. */
  keepLogs?: boolean;
  /** Called for every log line that passes the level. */
  onLog?: (entry: LogEntry) => void;
  /** "manual": timers and posted tasks wait for the caller (tests); "real": Node's clock (proxy). */
  mode?: "manual" | "real";
  /** Where HTTP callouts go; default: every cluster unknown. */
  callouts?: CalloutTransport;
  /** Where gRPC callouts go; default: every cluster unknown. */
  grpc?: GrpcTransport;
  /** The proxy's node (`node`, `xds.node`): id, cluster, metadata (Istio's workload labels), locality. */
  node?: NodeInfo;
  /** Listener direction: "inbound" (1), "outbound" (2), or Envoy's number; default unspecified (0). */
  listenerDirection?: "inbound" | "outbound" | "unspecified" | number;
  /** Listener metadata by filter namespace. */
  listenerMetadata?: MetadataInit;
  /** Property values pinned by dotted path (e.g. `{ "request.id": "abc" }`); they win over computed ones. */
  properties?: Record<string, PropertyLiteral>;
  /** Resolver for envoy_resolve_dns; default none (lookups fail). */
  dns?: DnsResolver;
  /** Clock override (tests). */
  clock?: Clock;
  /** Tag extraction for Prometheus output (Istio's stat-name convention). */
  tagExtractor?: TagExtractor;
  /**
   * A debugger may pause plugin code (`pwasm run --inspect`, tests under `--inspect`): modules are
   * loaded with their source map where DevTools finds it (host/inspect/debuggable.ts), and limits
   * that measure a callback's time must not count a paused one. Default: whether Node's inspector
   * is open in this process.
   */
  debugging?: boolean;
  /**
   * Default wall-clock limit of one plugin callback, ms (PluginOptions.callbackTimeLimitMs; 0: none):
   * 1000 in real mode (the dev proxy, whose every connection waits while a callback runs), 2000 in
   * manual mode (tests: a runaway callback fails the test instead of hanging it). docs/deadlines.md.
   */
  callbackTimeLimitMs?: number;
}

// Envoy's clocks tick in microseconds (docs/envoy/lifecycle.md): the nanosecond values it hands
// out end in 000, and a plugin sees sub-millisecond digits.
// performance.timeOrigin + now() drifts from the system clock (NTP slews it, a suspended machine
// jumps it), so the wall clock keeps now()'s microseconds but is pulled back onto Date.now()
// whenever it leaves that millisecond.
let wallOffsetMs = Date.now() - performance.now();
function realtimeMs(): number {
  const mono = performance.now();
  const wall = Date.now();
  let t = wallOffsetMs + mono;
  if (t < wall || t >= wall + 1) {
    wallOffsetMs = wall + 0.5 - mono;
    t = wall + 0.5;
  }
  return t;
}
const systemClock: Clock = {
  realtimeNanos: () => BigInt(Math.round(realtimeMs() * 1000)) * 1000n,
  monotonicNanos: () => BigInt(Math.round(performance.now() * 1000)) * 1000n,
};

export class ProxyWasmHost implements HostServices {
  readonly logs: LogSink;
  readonly metrics = new MetricStore();
  readonly sharedData = new SharedDataStore();
  readonly sharedQueues = new SharedQueueStore();
  readonly clock: Clock;
  readonly timers: TimerService;
  callouts: CalloutTransport;
  grpc: GrpcTransport;
  /** Foreign functions by name: Envoy's built-ins, plus any an embedder or test registers. */
  readonly foreignFunctions: Map<string, ForeignFunction> = envoyForeignFunctions();
  readonly properties: Map<string, PropertyLiteral>;
  readonly localInfo: LocalInfo;
  dns: DnsResolver | undefined;
  readonly mode: "manual" | "real";
  tagExtractor: TagExtractor | undefined;
  private readonly pending: Array<() => void> = [];
  readonly plugins: Plugin[] = [];
  readonly baseVms = new Map<string, BaseVm>();
  readonly debugging: boolean;
  readonly callbackTimeLimitMs: number;

  constructor(options: HostOptions = {}) {
    this.debugging = options.debugging ?? inspector.url() !== undefined;
    this.logs = new LogSink({ level: options.logLevel ?? "info", keep: options.keepLogs ?? true, onLog: options.onLog });
    this.mode = options.mode ?? "manual";
    this.callbackTimeLimitMs = options.callbackTimeLimitMs ?? DEFAULT_CALLBACK_TIME_LIMIT_MS[this.mode];
    this.timers = this.mode === "manual" ? new ManualTimers() : new RealTimers();
    this.callouts = options.callouts ?? NO_CLUSTERS;
    this.grpc = options.grpc ?? NO_GRPC;
    this.clock = options.clock ?? systemClock;
    this.properties = new Map(Object.entries(options.properties ?? {}));
    this.localInfo = {
      node: options.node ?? {},
      listenerDirection: listenerDirectionNumber(options.listenerDirection),
      listenerMetadata: options.listenerMetadata ?? {},
    };
    this.tagExtractor = options.tagExtractor;
    this.dns = options.dns;
  }

  /**
   * Loads (validates, compiles, starts) a plugin. Throws PluginLoadError with the reason. In real
   * mode the plugin starts in Envoy's set of VMs, in manual mode (tests) in its worker VMs only,
   * unless `options.lifecycle` says otherwise.
   */
  async loadPlugin(wasm: Uint8Array | string, options: PluginOptions = {}): Promise<Plugin> {
    const debuggable = this.debugging && options.sourceMap === undefined
      ? debuggablePluginModule(wasm, options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES, (message) => this.logs.write({ level: LogLevel.Warn, message, plugin: "", rootId: "", vmId: "", time: Date.now(), source: "host" }))
      : undefined;
    if (debuggable) {
      wasm = debuggable.bytes;
      options = { ...options, sourceMap: debuggable.sourceMap };
    }
    const plugin = await Plugin.load(this, wasm, { lifecycle: this.mode === "real" ? "envoy" : "workers", ...options });
    this.plugins.push(plugin);
    return plugin;
  }

  /** Shuts a plugin down and forgets it (a replaced plugin in watch mode). */
  unloadPlugin(plugin: Plugin): void {
    plugin.shutdown();
    const i = this.plugins.indexOf(plugin);
    if (i >= 0) this.plugins.splice(i, 1);
  }

  post(task: () => void): void {
    if (this.mode === "real") setImmediate(task);
    else this.pending.push(task);
  }

  /** Runs tasks posted so far (manual mode): queue notifications. Returns how many ran. */
  runPending(): number {
    let n = 0;
    while (this.pending.length > 0) {
      this.pending.shift()!();
      n++;
    }
    return n;
  }

  /** Plugin metrics in Prometheus text format. */
  prometheus(): string {
    return renderPrometheus(this.metrics, this.tagExtractor);
  }

  /** Shuts every plugin down and stops real timers. */
  shutdown(): void {
    for (const p of this.plugins) p.shutdown();
    if (this.timers instanceof RealTimers) this.timers.stopAll();
  }
}

/** Envoy's TrafficDirection number for a direction name. */
export function listenerDirectionNumber(d: HostOptions["listenerDirection"]): number {
  if (d === undefined || d === "unspecified") return 0;
  if (d === "inbound") return 1;
  if (d === "outbound") return 2;
  return d;
}
