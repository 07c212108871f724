// A configured plugin: its settings (Envoy's PluginConfig and VmConfig) and its root contexts in
// the VMs of its module, started the way Envoy starts them (docs/envoy/lifecycle.md): the base VM,
// a canary that checks the configuration, a main-thread VM and one VM per worker — VMs shared with
// every plugin of the same vm_id, VM configuration and code. It applies the failure policy when a
// VM traps (FAIL_RELOAD with Envoy's reload backoff, FAIL_CLOSED, FAIL_OPEN) and opens the streams
// and connections that run through it.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { LogLevel, type AbiVersion } from "../abi/constants.js";
import { HttpStream, type HttpStreamOptions, type HttpStreamSink } from "../streams/http_stream.js";
import { isStreamInfo, newStreamInfo, type StreamInfo, type StreamInfoInit } from "../values/stream_info.js";
import { TcpConnection, type TcpConnectionSink } from "../streams/tcp_connection.js";
import type { CodeMap, SourcePositionResolver } from "../vm/backtrace.js";
import { BaseVm, vmKey, type PluginHost, type VmThread } from "./base_vm.js";
import type { PluginRuntime, RootContextState } from "../vm/contexts.js";
import { PluginLoadError, VmFailedError, type VmFailure } from "../vm/errors.js";
import { onDelete, onDone, onForeignFunction, onQueueReady, onTick } from "../vm/guest.js";
import { DEFAULT_MEMORY_LIMIT_BYTES, type PluginVm } from "../vm/plugin_vm.js";
import type { FailurePolicy, ResolvedPluginConfig } from "../vm/runtime.js";
import { SourceMapError, WasmSourceMap } from "../vm/source_map.js";
import { compileModule } from "./validate.js";
import type { ModuleInfo } from "../wasm/binary.js";

/** Which VMs a plugin starts in (PluginOptions.lifecycle). */
export type PluginLifecycle = "envoy" | "workers";

/** A plugin's settings, named after Envoy's `PluginConfig` / `VmConfig` fields. */
export interface PluginOptions {
  /** Plugin name (Envoy `name`; `plugin_name`; log prefix). Default "". */
  name?: string;
  /** Root id (Envoy `root_id`; `plugin_root_id`). Default "". */
  rootId?: string;
  /** VM id (Envoy `vm_config.vm_id`); scopes shared data and queues. Default "". */
  vmId?: string;
  /** Plugin configuration delivered to proxy_on_configure (text is sent as UTF-8). */
  configuration?: string | Uint8Array;
  /** VM configuration delivered to proxy_on_vm_start. */
  vmConfiguration?: string | Uint8Array;
  /** WASI environment (Envoy `vm_config.environment_variables.key_values`). */
  environment?: Record<string, string>;
  /**
   * What a trap does to streams (Envoy `failure_policy`). FAIL_RELOAD (pwasm's default, a dev
   * host's choice; Envoy defaults to FAIL_CLOSED unless the runtime flag
   * `envoy.reloadable_features.wasm_failure_reload_by_default` is on, so `pwasm envoy-config`
   * always writes the policy out): the failing stream gets a 503 and a later stream gets a fresh
   * VM, at most once per reload backoff interval since the last load (streams in between get 503). FAIL_CLOSED: every stream gets a 503
   * until the plugin is reloaded. FAIL_OPEN: streams pass untouched.
   */
  failurePolicy?: FailurePolicy;
  /** Envoy `reload_config.backoff.base_interval` for FAIL_RELOAD, in ms (default 1000). */
  reloadBackoffMs?: number;
  /** Envoy `allow_on_headers_stop_iteration`: keep StopIteration from headers callbacks as is. */
  allowOnHeadersStopIteration?: boolean;
  /** Guest memory cap (default 1 GiB, like Envoy): memory.grow beyond it fails. */
  memoryLimitBytes?: number;
  /**
   * Wall-clock limit of one callback, in ms: a callback that runs longer fails its VM (the
   * failure policy applies), as a Wasmtime host's execution limits do; starting a VM gets at least
   * 10 s. 0: no limit. Default: the host's (HostOptions.callbackTimeLimitMs); none while a debugger
   * may pause the plugin (HostOptions.debugging). docs/deadlines.md.
   */
  callbackTimeLimitMs?: number;
  /** Number of worker VMs (Envoy: one per worker thread, `--concurrency`). Default 1. */
  concurrency?: number;
  /**
   * Which VMs the plugin starts in. "envoy" (the host's default in real mode, the dev proxy): as
   * Envoy — the module's base VM runs its initialization once, a canary VM starts and configures
   * the plugin and is thrown away, then a main-thread VM (timers tick there too, no streams) and
   * one VM per worker. "workers" (the default in manual mode, the test API): the worker VMs only.
   */
  lifecycle?: PluginLifecycle;
  /**
   * Maps code offsets to sources in backtraces. Default: the module's source map (its
   * sourceMappingURL, else `<wasm>.map`) when the plugin is loaded from a file; false: none.
   */
  sourceMap?: SourcePositionResolver | false;
}

/** Counts of FAIL_RELOAD attempts (Envoy's wasm.<name>.vm_reload_* stats). */
export interface ReloadStats {
  success: number;
  failure: number;
  backoff: number;
}

const toBytes = (v: string | Uint8Array | undefined): Buffer =>
  v === undefined ? Buffer.alloc(0) : typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);

// The plugin on one thread: its VM and root there, and when it was last (re)loaded. No VM: the
// plugin never started on that thread (Envoy then adds no filter there).
interface Slot {
  vm: PluginVm | undefined;
  root: RootContextState | undefined;
  lastLoadMs: number;
}

// Which step of Envoy's thread-local start failed, in the words of its "Wasm VM failed" line: the
// callback that trapped, or the refusal (PluginVm.startRoot's messages).
function failedStep(err: unknown): string {
  const what = err instanceof VmFailedError ? err.failure.callback : err instanceof Error ? err.message : "";
  if (/configure/.test(what)) return "Failed to configure thread-local Wasm plugin";
  if (/proxy_on_|start/.test(what)) return "Failed to start thread-local Wasm";
  return "Failed to initialize Wasm code";
}

// Envoy's plugin key (root id, configuration, name; the listener's direction and metadata are
// the same for every plugin here): plugins with one key share a root context in Envoy.
const pluginKey = (o: PluginOptions): string => `${o.rootId ?? ""}||${toBytes(o.configuration).toString("latin1")}||${o.name ?? ""}`;

// A refusal while loading, as one PluginLoadError.
function loadError(err: unknown): unknown {
  if (err instanceof VmFailedError) return new PluginLoadError(`plugin failed to start: ${err.message}`);
  return err;
}

export class Plugin implements PluginRuntime {
  readonly config: ResolvedPluginConfig;
  /** Envoy's plugin key: root id, configuration and name. */
  readonly key: string;
  readonly lifecycle: PluginLifecycle;
  /** Every VM failure that hit this plugin, oldest first. */
  readonly failures: VmFailure[] = [];
  /** FAIL_RELOAD attempts. */
  readonly reloadStats: ReloadStats = { success: 0, failure: 0, backoff: 0 };
  private readonly workers: Slot[];
  private main: Slot | undefined;
  private readonly reloadBackoffMs: number;
  private isShutDown = false;
  private nextWorker = 0;

  private constructor(readonly services: PluginHost, readonly base: BaseVm, options: PluginOptions) {
    this.config = {
      name: options.name ?? "",
      rootId: options.rootId ?? "",
      vmId: base.vmId,
      configuration: toBytes(options.configuration),
      vmConfiguration: base.vmConfiguration,
      environment: [...base.environment],
      failurePolicy: options.failurePolicy ?? "FAIL_RELOAD",
      allowOnHeadersStopIteration: options.allowOnHeadersStopIteration ?? false,
    };
    this.key = pluginKey(options);
    this.lifecycle = options.lifecycle ?? "envoy";
    this.reloadBackoffMs = Math.max(1, options.reloadBackoffMs ?? 1000);
    const n = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.workers = Array.from({ length: n }, () => ({ vm: undefined, root: undefined, lastLoadMs: 0 }));
  }

  /**
   * Validates and compiles a module (or reuses the module of a plugin with the same vm_id, VM
   * configuration and code), then starts the plugin in its VMs — so a plugin that refuses its
   * configuration is refused here, as Envoy refuses the config. `wasm` is bytes or a file path.
   */
  static async load(services: PluginHost, wasm: Uint8Array | string, options: PluginOptions = {}): Promise<Plugin> {
    let bytes: Uint8Array;
    try {
      bytes = typeof wasm === "string" ? await readFile(wasm) : wasm;
    } catch (err) {
      throw new PluginLoadError(`cannot read ${String(wasm)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const settings = {
      vmId: options.vmId ?? "",
      vmConfiguration: toBytes(options.vmConfiguration),
      environment: Object.entries(options.environment ?? {}),
      memoryLimitBytes: options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES,
      callbackTimeLimitMs: callbackTimeLimit(services, options),
    };
    const key = vmKey(bytes, settings);
    let base = services.baseVms.get(key);
    // A plugin with the same key still running (a watch-mode swap) keeps its VMs: the new one
    // gets its own, so requests in flight finish on the old ones.
    const fresh = !base || [...base.plugins].some((p) => p.key === pluginKey(options));
    if (!base || fresh) {
      const compiled = await compileModule(bytes, {
        memoryLimitBytes: settings.memoryLimitBytes,
        deadlines: settings.callbackTimeLimitMs > 0,
        warn: (message) => services.logs.write({ level: LogLevel.Warn, message, plugin: options.name ?? "", rootId: "", vmId: "", time: Date.now(), source: "host" }),
      });
      const sourceMap = options.sourceMap === false ? undefined : options.sourceMap ?? findSourceMap(services, wasm, compiled.info);
      base = new BaseVm(key, services, compiled, { ...settings, sourceMap });
    }
    const plugin = new Plugin(services, base, options);
    try {
      if (plugin.lifecycle === "envoy") {
        if (fresh) base.initialize();
        base.canary(plugin);
      }
      base.plugins.add(plugin);
      if (plugin.lifecycle === "envoy") plugin.main = plugin.startSlot("main");
      for (let i = 0; i < plugin.workers.length; i++) plugin.workers[i] = plugin.startSlot(i);
    } catch (err) {
      plugin.abandon();
      throw loadError(err);
    }
    if (fresh) services.baseVms.set(key, base);
    return plugin;
  }

  /** The compiled module. */
  get module(): WebAssembly.Module {
    return this.base.module;
  }

  get info(): ModuleInfo {
    return this.base.info;
  }

  get abiVersion(): AbiVersion {
    return this.base.abiVersion;
  }

  /** How the host's rewrites moved the module's code (backtraces map V8's offsets back). */
  get codeMap(): CodeMap {
    return this.base.codeMap;
  }

  /** Wall-clock limit of one callback, ms (0: none). */
  get callbackTimeLimitMs(): number {
    return this.base.callbackTimeLimitMs;
  }

  get memoryLimitBytes(): number {
    return this.base.memoryLimitBytes;
  }

  get sourceMap(): SourcePositionResolver | undefined {
    return this.base.sourceMap;
  }

  /** Number of worker VMs. */
  get concurrency(): number {
    return this.workers.length;
  }

  // Starts the plugin on a thread. Under Envoy's lifecycle a refusal there (after the canary
  // accepted the configuration) is logged as Envoy logs it and leaves the thread without the
  // plugin; with worker VMs only, it refuses the plugin.
  private startSlot(thread: VmThread): Slot {
    const now = this.services.timers.nowMs();
    try {
      const { vm, root } = this.base.startOn(thread, this);
      return { vm, root, lastLoadMs: now };
    } catch (err) {
      if (this.lifecycle === "workers" || !(err instanceof PluginLoadError || err instanceof VmFailedError)) throw err;
      this.base.report(LogLevel.Error, `Wasm VM failed ${failedStep(err)}`);
      return { vm: undefined, root: undefined, lastLoadMs: now };
    }
  }

  /**
   * The plugin's slot on `worker` for a new stream, as Envoy's PluginConfig::createContext
   * decides: a healthy VM; under FAIL_RELOAD a fresh one replacing a failed one once the backoff
   * interval since the last load has passed (jittered as Envoy's JitteredLowerBoundBackOffStrategy);
   * under FAIL_CLOSED (or while backing off) the failed one, whose streams fail; under FAIL_OPEN
   * none.
   */
  private slotFor(worker: number): Slot | undefined {
    const w = this.workers[worker % this.workers.length]!;
    const vm = w.vm;
    // Never started on this thread: Envoy has no plugin handle there and adds no filter.
    if (!vm) return undefined;
    if (!vm.failure) return w;
    switch (this.config.failurePolicy) {
      case "FAIL_OPEN":
        return undefined;
      case "FAIL_CLOSED":
        return w;
      case "FAIL_RELOAD": {
        const now = this.services.timers.nowMs();
        const interval = this.reloadBackoffMs + Math.floor(Math.random() * (this.reloadBackoffMs / 2));
        if (now - w.lastLoadMs < interval) {
          this.reloadStats.backoff++;
          return w;
        }
        w.lastLoadMs = now;
        try {
          const fresh = this.base.startOn(worker % this.workers.length, this);
          w.vm = fresh.vm;
          w.root = fresh.root;
          this.reloadStats.success++;
        } catch (err) {
          if (!(err instanceof PluginLoadError || err instanceof VmFailedError)) throw err;
          this.reloadStats.failure++;
          this.base.report(LogLevel.Error, `Wasm VM failed ${failedStep(err)}`);
        }
        return w;
      }
    }
  }

  /**
   * The VM a new stream on `worker` uses (see slotFor): undefined when the stream runs without
   * the plugin.
   */
  vmFor(worker = 0): PluginVm | undefined {
    return this.slotFor(worker)?.vm;
  }

  /** The worker VMs (streams run there). */
  currentVms(): PluginVm[] {
    return this.workers.map((w) => w.vm).filter((v): v is PluginVm => v !== undefined);
  }

  /** The main-thread VM (Envoy's lifecycle only): timers tick there, no stream does. */
  mainThreadVm(): PluginVm | undefined {
    return this.main?.vm;
  }

  // The slot a new stream or connection gets: on `worker`, else the next worker round-robin.
  private slotOn(worker: number | undefined): Slot | undefined {
    return this.slotFor((worker ?? this.nextWorker++) % this.workers.length);
  }

  /**
   * Opens an HTTP stream through this plugin. Events go in through the stream's decode and encode
   * methods; what the plugin lets through comes out of `sink`. Call `complete()` when it ends.
   * Streams are spread over the workers round-robin unless `worker` is given.
   */
  newHttpStream(sink: HttpStreamSink, info?: StreamInfoInit | StreamInfo, options?: HttpStreamOptions & { worker?: number }): HttpStream {
    const slot = this.slotOn(options?.worker);
    const vm = slot?.vm;
    // A complete StreamInfo is shared as is (plugins of one filter chain see the same stream).
    const streamInfo = isStreamInfo(info) ? info : newStreamInfo(info);
    // Without a slot the stream runs without the plugin: failed open, or never started there.
    const stream = new HttpStream(vm, vm && !vm.failure ? vm.newContextId() : 0, streamInfo, sink, slot ? this.config.failurePolicy : "FAIL_OPEN", options);
    stream.rootContext = slot?.root;
    return stream;
  }

  /**
   * Opens a TCP connection through this plugin (a network filter): call `open()`, then feed it
   * the bytes of both sides. Connections are spread over the workers round-robin unless
   * `worker` is given.
   */
  newTcpConnection(sink: TcpConnectionSink, info?: StreamInfoInit | StreamInfo, options: { worker?: number } = {}): TcpConnection {
    const slot = this.slotOn(options.worker);
    const vm = slot?.vm;
    const streamInfo = isStreamInfo(info) ? info : newStreamInfo(info);
    const connection = new TcpConnection(vm, vm && !vm.failure ? vm.newContextId() : 0, streamInfo, sink, slot ? this.config.failurePolicy : "FAIL_OPEN");
    connection.rootContext = slot?.root;
    return connection;
  }

  /**
   * Writes a log line with this plugin's prefix: Envoy's root context leaves the plugin name out
   * (`wasm log <root_id> <vm_id>: …`), a stream's includes it (docs/envoy/lifecycle.md).
   */
  log(level: LogLevel, message: string, fromRoot = false): void {
    this.services.logs.write({
      level, message, plugin: fromRoot ? "" : this.config.name, rootId: this.config.rootId, vmId: this.config.vmId, time: Date.now(),
    });
  }

  onVmFailed(vm: PluginVm): void {
    this.failures.push(vm.failure!);
  }

  deliverTick(vm: PluginVm, root: RootContextState): void {
    this.deliver(vm, root, onTick);
  }

  deliverQueueReady(vm: PluginVm, root: RootContextState, queueId: number): void {
    this.deliver(vm, root, (r) => onQueueReady(r, queueId));
  }

  /**
   * Delivers proxy_on_foreign_function(functionId) to the plugin's root in its first healthy
   * worker VM, with `args` readable as buffer FOREIGN_FUNCTION_ARGUMENTS — as an embedder's own
   * foreign-function bridge would. ABI 0.1.0 has no such callback: Envoy never calls it there.
   */
  deliverForeignFunction(functionId: number, args: Buffer): void {
    for (const w of this.workers) {
      const { vm, root } = w;
      if (!vm || !root || vm.failure || vm.abiVersion === "0.1.0") continue;
      root.foreignCallArgs = args;
      try {
        this.deliver(vm, root, (r) => onForeignFunction(r, functionId, args.length));
      } finally {
        root.foreignCallArgs = undefined;
      }
      return;
    }
  }

  deleteRoot(vm: PluginVm, root: RootContextState): void {
    this.deliver(vm, root, onDelete);
    this.stopRoot(vm, root);
    vm.contexts.delete(root.id);
    if (vm.roots.get(this.key) === root) vm.roots.delete(this.key);
  }

  // Stops what a root started: its timer and its callouts (Envoy cancels a destroyed root's calls).
  private stopRoot(vm: PluginVm, root: RootContextState): void {
    if (root.tickPeriodMs > 0) this.services.timers.setTickPeriod(root, 0);
    for (const c of root.callouts.values()) c.cancel();
    root.callouts.clear();
  }

  // A root-level callback: a trap fails the VM (already logged); nothing to throw to.
  private deliver(vm: PluginVm, root: RootContextState, callback: (root: RootContextState) => void): void {
    if (vm.failure || !vm.contexts.has(root.id)) return;
    try {
      callback(root);
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
    }
  }

  // A plugin refused while loading leaves nothing behind: its roots leave the VMs they were added
  // to, without proxy_on_done (Envoy never accepted it).
  private abandon(): void {
    this.isShutDown = true;
    for (const { vm, root } of [...(this.main ? [this.main] : []), ...this.workers]) {
      if (!vm || !root) continue;
      this.stopRoot(vm, root);
      vm.contexts.delete(root.id);
      if (vm.roots.get(this.key) === root) vm.roots.delete(this.key);
    }
    this.base.release(this);
  }

  /**
   * Shuts the plugin down as Envoy does on removal: proxy_on_done for its root in each VM; roots
   * that answer true are deleted at once, the others when they call proxy_done.
   */
  shutdown(): void {
    if (this.isShutDown) return;
    this.isShutDown = true;
    for (const slot of [...(this.main ? [this.main] : []), ...this.workers]) {
      const { vm, root } = slot;
      if (!vm || !root || vm.failure || !vm.contexts.has(root.id)) continue;
      if (root.tickPeriodMs > 0) this.services.timers.setTickPeriod(root, 0);
      try {
        if (onDone(root)) this.deleteRoot(vm, root);
        else root.pendingDone = true;
      } catch (err) {
        if (!(err instanceof VmFailedError)) throw err;
      }
    }
    if (this.base.release(this) && this.services.baseVms.get(this.base.key) === this.base) this.services.baseVms.delete(this.base.key);
  }
}

// The plugin's callback time limit: its own, else the host's; none while a debugger may pause it.
function callbackTimeLimit(services: PluginHost, options: PluginOptions): number {
  const ms = options.callbackTimeLimitMs ?? services.callbackTimeLimitMs ?? 0;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new PluginLoadError(`callbackTimeLimitMs must be a number of milliseconds, 0 or more (0: no limit), not ${String(ms)}`);
  }
  return services.debugging ? 0 : Math.ceil(ms);
}

/**
 * The source map of a module loaded from a file: the file its sourceMappingURL names (relative to
 * the module, and only beside it: WasmSourceMap.loadBeside), else `<wasm>.map`. An unreadable or
 * refused map is reported once and ignored.
 */
function findSourceMap(services: PluginHost, wasm: Uint8Array | string, info: ModuleInfo): SourcePositionResolver | undefined {
  if (typeof wasm !== "string") return undefined;
  const url = info.sourceMappingURL;
  const candidates = url && !/^[a-z]+:/i.test(url) ? [url, `${basename(wasm)}.map`] : [`${basename(wasm)}.map`];
  for (const path of candidates) {
    try {
      const map = WasmSourceMap.loadBeside(wasm, path);
      if (map) return map;
    } catch (err) {
      if (!(err instanceof SourceMapError)) throw err;
      services.logs.write({ level: LogLevel.Warn, message: `ignoring source map ${path}: ${err.message}`, plugin: "", rootId: "", vmId: "", time: Date.now() });
      return undefined;
    }
  }
  return undefined;
}
