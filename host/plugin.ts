// A configured plugin: one compiled module, its settings (Envoy's PluginConfig and VmConfig), and
// its VMs — one per worker, as Envoy runs a clone per worker thread. It applies the failure policy
// when a VM traps (FAIL_RELOAD with Envoy's reload backoff, FAIL_CLOSED, FAIL_OPEN) and creates
// the streams that run through it.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { LogLevel, type AbiVersion } from "./abi/constants.js";
import type { HostServices } from "./services.js";
import { HttpStream, type HttpStreamOptions, type HttpStreamSink } from "./state/http_stream.js";
import { isStreamInfo, newStreamInfo, type StreamInfo, type StreamInfoInit } from "./state/stream_info.js";
import type { OffsetShift, SourcePositionResolver } from "./vm/backtrace.js";
import type { RootContextState } from "./vm/contexts.js";
import { PluginLoadError, VmFailedError, type VmFailure } from "./vm/errors.js";
import { DEFAULT_MEMORY_LIMIT_BYTES, PluginVm } from "./vm/plugin_vm.js";
import type { FailurePolicy, PluginRuntime, ResolvedPluginConfig } from "./vm/runtime.js";
import { SourceMapError, WasmSourceMap } from "./vm/source_map.js";
import { compileModule } from "./vm/validate.js";
import type { ModuleInfo } from "./wasm/binary.js";

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
  /** Number of VMs (Envoy: one per worker thread). Default 1. */
  concurrency?: number;
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

// One worker's VM and when it was last (re)loaded.
interface Worker {
  vm: PluginVm | undefined;
  lastLoadMs: number;
}

export class Plugin implements PluginRuntime {
  readonly config: ResolvedPluginConfig;
  readonly memoryLimitBytes: number;
  readonly sourceMap: SourcePositionResolver | undefined;
  /** Every VM failure, oldest first. */
  readonly failures: VmFailure[] = [];
  /** FAIL_RELOAD attempts. */
  readonly reloadStats: ReloadStats = { success: 0, failure: 0, backoff: 0 };
  private readonly workers: Worker[];
  private readonly reloadBackoffMs: number;
  private isShutDown = false;
  private nextWorker = 0;

  private constructor(
    readonly services: HostServices,
    readonly module: WebAssembly.Module,
    readonly info: ModuleInfo,
    readonly abiVersion: AbiVersion,
    readonly offsetShift: OffsetShift,
    options: PluginOptions,
    sourceMap: SourcePositionResolver | undefined,
  ) {
    this.config = {
      name: options.name ?? "",
      rootId: options.rootId ?? "",
      vmId: options.vmId ?? "",
      configuration: toBytes(options.configuration),
      vmConfiguration: toBytes(options.vmConfiguration),
      environment: Object.entries(options.environment ?? {}),
      failurePolicy: options.failurePolicy ?? "FAIL_RELOAD",
      allowOnHeadersStopIteration: options.allowOnHeadersStopIteration ?? false,
    };
    this.memoryLimitBytes = options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES;
    this.reloadBackoffMs = Math.max(1, options.reloadBackoffMs ?? 1000);
    this.sourceMap = sourceMap;
    const n = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.workers = Array.from({ length: n }, () => ({ vm: undefined, lastLoadMs: 0 }));
  }

  /**
   * Validates and compiles a module, then starts one VM per worker (so a plugin that refuses its
   * configuration is refused here, as Envoy refuses the config). `wasm` is bytes or a file path.
   */
  static async load(services: HostServices, wasm: Uint8Array | string, options: PluginOptions = {}): Promise<Plugin> {
    let bytes: Uint8Array;
    try {
      bytes = typeof wasm === "string" ? await readFile(wasm) : wasm;
    } catch (err) {
      throw new PluginLoadError(`cannot read ${String(wasm)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const memoryLimitBytes = options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES;
    const { module, info, abiVersion, offsetShift } = await compileModule(bytes, memoryLimitBytes);
    const sourceMap = options.sourceMap === false ? undefined : options.sourceMap ?? findSourceMap(services, wasm, info);
    const plugin = new Plugin(services, module, info, abiVersion, offsetShift, options, sourceMap);
    for (const w of plugin.workers) {
      try {
        w.vm = plugin.startVm();
        w.lastLoadMs = services.timers.nowMs();
      } catch (err) {
        plugin.stopVms();
        if (err instanceof VmFailedError) throw new PluginLoadError(`plugin failed to start: ${err.message}`);
        throw err;
      }
    }
    return plugin;
  }

  /** Number of VMs (workers). */
  get concurrency(): number {
    return this.workers.length;
  }

  private startVm(): PluginVm {
    const vm = new PluginVm(this, this.module, this.info, this.abiVersion);
    try {
      vm.start();
    } catch (err) {
      this.discard(vm);
      throw err;
    }
    return vm;
  }

  // Stops what a VM's roots started: timers and callouts (Envoy cancels a destroyed root's calls).
  private stopVm(vm: PluginVm): void {
    this.services.timers.clear(vm);
    for (const ctx of vm.contexts.values()) {
      if (ctx.kind === "root") for (const c of (ctx as RootContextState).callouts.values()) c.cancel();
    }
  }

  // A VM thrown away before it served (it refused to start, or another worker did): with its
  // contexts forgotten, no late tick, queue, DNS or callout answer reaches it.
  private discard(vm: PluginVm): void {
    this.stopVm(vm);
    vm.contexts.clear();
  }

  /**
   * The VM a new stream on `worker` should use, as Envoy's PluginConfig::createContext decides: a
   * healthy VM; under FAIL_RELOAD a fresh one replacing a failed one once the backoff interval
   * since the last load has passed (jittered as Envoy's JitteredLowerBoundBackOffStrategy); under
   * FAIL_CLOSED (or while backing off) the failed one, whose streams fail; under FAIL_OPEN none.
   */
  vmFor(worker = 0): PluginVm | undefined {
    const w = this.workers[worker % this.workers.length]!;
    const vm = w.vm;
    if (vm && !vm.failure) return vm;
    switch (this.config.failurePolicy) {
      case "FAIL_OPEN":
        return undefined;
      case "FAIL_CLOSED":
        return vm;
      case "FAIL_RELOAD": {
        const now = this.services.timers.nowMs();
        const interval = this.reloadBackoffMs + Math.floor(Math.random() * (this.reloadBackoffMs / 2));
        if (now - w.lastLoadMs < interval) {
          this.reloadStats.backoff++;
          return vm;
        }
        w.lastLoadMs = now;
        try {
          const fresh = this.startVm();
          w.vm = fresh;
          this.reloadStats.success++;
          this.log(LogLevel.Info, "reloaded the Wasm VM after a failure");
          return fresh;
        } catch (err) {
          this.reloadStats.failure++;
          this.log(LogLevel.Error, `failed to reload the Wasm VM: ${(err as Error).message}`);
          return vm;
        }
      }
    }
  }

  /** All current VMs (for inspection). */
  currentVms(): PluginVm[] {
    return this.workers.map((w) => w.vm).filter((v): v is PluginVm => v !== undefined);
  }

  /**
   * Opens an HTTP stream through this plugin. Events go in through the stream's decode and encode
   * methods; what the plugin lets through comes out of `sink`. Call `complete()` when it ends.
   * Streams are spread over the workers round-robin unless `worker` is given.
   */
  newHttpStream(sink: HttpStreamSink, info?: StreamInfoInit | StreamInfo, options?: HttpStreamOptions & { worker?: number }): HttpStream {
    const worker = (options?.worker ?? this.nextWorker++) % this.workers.length;
    const vm = this.vmFor(worker);
    const id = vm && !vm.failure ? vm.newContextId() : 0;
    // A complete StreamInfo is shared as is (plugins of one filter chain see the same stream).
    const streamInfo = isStreamInfo(info) ? info : newStreamInfo(info);
    return new HttpStream(vm, id, streamInfo, sink, this.config.failurePolicy, options);
  }

  /** Writes a log line with this plugin's prefix. */
  log(level: LogLevel, message: string): void {
    this.services.logs.write({
      level, message, plugin: this.config.name, rootId: this.config.rootId, vmId: this.config.vmId, time: Date.now(),
    });
  }

  onVmFailed(vm: PluginVm): void {
    this.failures.push(vm.failure!);
    this.stopVm(vm);
  }

  deliverTick(vm: PluginVm, root: RootContextState): void {
    this.deliver(vm, root, "proxy_on_tick", root.id);
  }

  deliverQueueReady(vm: PluginVm, root: RootContextState, queueId: number): void {
    this.deliver(vm, root, "proxy_on_queue_ready", root.id, queueId);
  }

  deleteRoot(vm: PluginVm, root: RootContextState): void {
    this.deliver(vm, root, "proxy_on_delete", root.id);
    vm.contexts.delete(root.id);
    this.services.timers.clear(vm);
    for (const c of root.callouts.values()) c.cancel();
    root.callouts.clear();
  }

  // A root-level callback: a trap fails the VM (already logged); nothing to throw to.
  private deliver(vm: PluginVm, root: RootContextState, name: string, a: number, b?: number): void {
    if (vm.failure || !vm.contexts.has(root.id)) return;
    try {
      vm.call(name, root, a, b);
    } catch (err) {
      if (!(err instanceof VmFailedError)) throw err;
    }
  }

  private stopVms(): void {
    for (const vm of this.currentVms()) this.discard(vm);
  }

  /**
   * Shuts the plugin down as Envoy does on removal: proxy_on_done for each root; roots that answer
   * true are deleted at once, the others when they call proxy_done.
   */
  shutdown(): void {
    if (this.isShutDown) return;
    this.isShutDown = true;
    for (const vm of this.currentVms()) {
      this.services.timers.clear(vm);
      if (vm.failure) continue;
      const root = vm.root;
      try {
        const done = vm.call("proxy_on_done", root, root.id, 0, 0, 0, 0, 1);
        if (done !== 0) this.deleteRoot(vm, root);
        else root.pendingDone = true;
      } catch (err) {
        if (!(err instanceof VmFailedError)) throw err;
      }
    }
  }
}

/**
 * The source map of a module loaded from a file: the file its sourceMappingURL names (relative to
 * the module, and only beside it: WasmSourceMap.loadBeside), else `<wasm>.map`. An unreadable or
 * refused map is reported once and ignored.
 */
function findSourceMap(services: HostServices, wasm: Uint8Array | string, info: ModuleInfo): SourcePositionResolver | undefined {
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
