// A configured plugin: one compiled module, its settings (Envoy's PluginConfig and VmConfig), and
// its VMs — one per worker, as Envoy runs a clone per worker thread. It applies the failure policy
// when a VM traps, and creates the streams that run through it.
import { readFile } from "node:fs/promises";
import { LogLevel, type AbiVersion } from "./abi/constants.js";
import type { HostServices } from "./services.js";
import { HttpStream, type HttpStreamOptions, type HttpStreamSink } from "./state/http_stream.js";
import { newStreamInfo, type StreamInfo } from "./state/stream_info.js";
import type { SourcePositionResolver } from "./vm/backtrace.js";
import type { RootContextState } from "./vm/contexts.js";
import { PluginLoadError, VmFailedError, type VmFailure } from "./vm/errors.js";
import { DEFAULT_MEMORY_LIMIT_BYTES, PluginVm } from "./vm/plugin_vm.js";
import type { FailurePolicy, PluginRuntime, ResolvedPluginConfig } from "./vm/runtime.js";
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
   * What a trap does to streams. FAIL_RELOAD (default; Envoy's default today): the failing stream
   * gets a 503 and later streams a fresh VM. FAIL_CLOSED: every stream gets a 503 until the plugin
   * is reloaded. FAIL_OPEN: streams pass untouched.
   */
  failurePolicy?: FailurePolicy;
  /** Envoy `allow_on_headers_stop_iteration`: keep StopIteration from headers callbacks as is. */
  allowOnHeadersStopIteration?: boolean;
  /** Guest memory cap (default 1 GiB, like Envoy). */
  memoryLimitBytes?: number;
  /** Number of VMs (Envoy: one per worker thread). Default 1. */
  concurrency?: number;
  /** Maps code offsets to sources in backtraces (debug builds). */
  sourceMap?: SourcePositionResolver;
}

const toBytes = (v: string | Uint8Array | undefined): Buffer =>
  v === undefined ? Buffer.alloc(0) : typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);

export class Plugin implements PluginRuntime {
  readonly config: ResolvedPluginConfig;
  readonly memoryLimitBytes: number;
  readonly sourceMap: SourcePositionResolver | undefined;
  /** Every VM failure, oldest first. */
  readonly failures: VmFailure[] = [];
  private readonly vms: Array<PluginVm | undefined>;
  private isShutDown = false;
  private nextWorker = 0;

  private constructor(
    readonly services: HostServices,
    readonly module: WebAssembly.Module,
    readonly info: ModuleInfo,
    readonly abiVersion: AbiVersion,
    options: PluginOptions,
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
    this.sourceMap = options.sourceMap;
    this.vms = new Array(Math.max(1, options.concurrency ?? 1)).fill(undefined);
  }

  /**
   * Validates and compiles a module, then starts its first VM (so a plugin that refuses its
   * configuration is refused here, as Envoy refuses the config). `wasm` is bytes or a file path.
   */
  static async load(services: HostServices, wasm: Uint8Array | string, options: PluginOptions = {}): Promise<Plugin> {
    const bytes = typeof wasm === "string" ? await readFile(wasm) : wasm;
    const { module, info, abiVersion } = await compileModule(bytes);
    const plugin = new Plugin(services, module, info, abiVersion, options);
    for (let w = 0; w < plugin.vms.length; w++) {
      try {
        plugin.vms[w] = plugin.startVm();
      } catch (err) {
        if (err instanceof VmFailedError) throw new PluginLoadError(`plugin failed to start: ${err.message}`);
        throw err;
      }
    }
    return plugin;
  }

  /** Number of VMs (workers). */
  get concurrency(): number {
    return this.vms.length;
  }

  private startVm(): PluginVm {
    const vm = new PluginVm(this, this.module, this.info, this.abiVersion);
    vm.start();
    return vm;
  }

  /**
   * The VM a new stream on `worker` should use, per the failure policy: a healthy VM; under
   * FAIL_RELOAD a fresh one replacing a failed one; under FAIL_CLOSED the failed one (its streams
   * fail); under FAIL_OPEN none (streams bypass the plugin).
   */
  vmFor(worker = 0): PluginVm | undefined {
    const vm = this.vms[worker];
    if (vm && !vm.failure) return vm;
    switch (this.config.failurePolicy) {
      case "FAIL_OPEN":
        return undefined;
      case "FAIL_CLOSED":
        return vm;
      case "FAIL_RELOAD":
        try {
          const fresh = this.startVm();
          this.vms[worker] = fresh;
          this.log(LogLevel.Info, "reloaded the Wasm VM after a failure");
          return fresh;
        } catch (err) {
          this.log(LogLevel.Error, `failed to reload the Wasm VM: ${(err as Error).message}`);
          return vm;
        }
    }
  }

  /** All current VMs (for inspection). */
  currentVms(): PluginVm[] {
    return this.vms.filter((v): v is PluginVm => v !== undefined);
  }

  /**
   * Opens an HTTP stream through this plugin. Events go in through the stream's decode and encode
   * methods; what the plugin lets through comes out of `sink`. Call `complete()` when it ends.
   */
  newHttpStream(sink: HttpStreamSink, info?: Partial<StreamInfo> | StreamInfo, options?: HttpStreamOptions & { worker?: number }): HttpStream {
    const worker = (options?.worker ?? this.nextWorker++) % this.vms.length;
    const vm = this.vmFor(worker);
    const id = vm && !vm.failure ? vm.newContextId() : 0;
    // A complete StreamInfo is shared as is (plugins of one filter chain see the same stream).
    const streamInfo = info && info.extra instanceof Map ? (info as StreamInfo) : newStreamInfo(info);
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
    this.services.timers.clear(vm);
    for (const ctx of vm.contexts.values()) {
      if (ctx.kind !== "root") continue;
      for (const c of (ctx as RootContextState).callouts.values()) c.cancel();
    }
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
