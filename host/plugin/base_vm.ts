// Envoy's base VM and its clones (docs/envoy/lifecycle.md): one compiled module per VM key (vm_id,
// VM configuration, code), whose initialization runs once on its own; a canary VM per plugin
// that starts and configures it and is thrown away (the configuration check); and one VM per
// thread — Envoy's main thread and each worker — that every plugin with this key shares, each
// plugin with its own root context in it.
import { createHash } from "node:crypto";
import type { LogLevel } from "../abi/constants.js";
import type { HostServices } from "../services/host_services.js";
import type { ModuleInfo } from "../wasm/binary.js";
import type { CodeMap, SourcePositionResolver } from "../vm/backtrace.js";
import { linkImports } from "../imports/registry.js";
import { PluginVm, type VmRuntime } from "../vm/plugin_vm.js";
import { RootContextState, type PluginRuntime } from "../vm/contexts.js";
import { onConfigure, onContextCreate, onVmStart } from "../vm/guest.js";
import { PluginLoadError } from "../vm/errors.js";
import type { CompiledModule } from "./validate.js";

/** A host as plugins load into it: its services, and the modules its plugins run by VM key. */
export interface PluginHost extends HostServices {
  /**
   * The modules plugins run, by VM key (vm_id, VM configuration, code): plugins with the same key
   * share their VMs, as in Envoy.
   */
  readonly baseVms: Map<string, BaseVm>;
}

/** Where a VM runs: Envoy's main thread, or worker N. */
export type VmThread = "main" | number;

/** A VM's settings that make its key (and are therefore shared by every plugin in it). */
export interface VmSettings {
  vmId: string;
  vmConfiguration: Buffer;
  environment: ReadonlyArray<[string, string]>;
  memoryLimitBytes: number;
  /** Wall-clock limit of one call into the guest, ms; 0: none (docs/deadlines.md). */
  callbackTimeLimitMs: number;
  sourceMap: SourcePositionResolver | undefined;
}

/**
 * Envoy's VM key: a hash of vm_id, VM configuration and code (and, here, the memory cap and the
 * callback time limit, which Envoy sets for every VM alike).
 */
export function vmKey(code: Uint8Array, s: Pick<VmSettings, "vmId" | "vmConfiguration" | "memoryLimitBytes" | "callbackTimeLimitMs">): string {
  return createHash("sha256")
    .update(s.vmId).update("\0").update(s.vmConfiguration).update("\0").update(code).update("\0").update(String(s.memoryLimitBytes))
    .update("\0").update(String(s.callbackTimeLimitMs))
    .digest("hex");
}

/** One module's VMs: the base, canaries, and the per-thread VMs its plugins share. */
export class BaseVm implements VmRuntime {
  readonly module: WebAssembly.Module;
  readonly info: ModuleInfo;
  readonly abiVersion: CompiledModule["abiVersion"];
  readonly codeMap: CodeMap;
  readonly deadlines: boolean;
  readonly callbackTimeLimitMs: number;
  readonly vmId: string;
  readonly vmConfiguration: Buffer;
  readonly environment: ReadonlyArray<[string, string]>;
  readonly memoryLimitBytes: number;
  readonly sourceMap: SourcePositionResolver | undefined;
  /** Plugins using this module. */
  readonly plugins = new Set<PluginRuntime>();
  private readonly threadVms = new Map<VmThread, PluginVm>();
  private readonly canaries = new Set<string>();

  constructor(readonly key: string, readonly services: HostServices, compiled: CompiledModule, settings: VmSettings) {
    this.module = compiled.module;
    this.info = compiled.info;
    this.abiVersion = compiled.abiVersion;
    this.codeMap = compiled.codeMap;
    this.deadlines = compiled.deadlines;
    this.callbackTimeLimitMs = settings.callbackTimeLimitMs;
    this.vmId = settings.vmId;
    this.vmConfiguration = settings.vmConfiguration;
    this.environment = settings.environment;
    this.memoryLimitBytes = settings.memoryLimitBytes;
    this.sourceMap = settings.sourceMap;
  }

  log(level: LogLevel, message: string): void {
    this.services.logs.write({ level, message, plugin: "", rootId: "", vmId: "", time: Date.now() });
  }

  report(level: LogLevel, message: string): void {
    this.services.logs.write({ level, message, plugin: "", rootId: "", vmId: "", time: Date.now(), source: "host" });
  }

  linkImports(vm: PluginVm): WebAssembly.Imports {
    return linkImports(vm);
  }

  onVmFailed(vm: PluginVm): void {
    for (const root of vm.roots.values()) root.plugin.onVmFailed(vm, root);
    this.stopVm(vm);
  }

  /** A new VM of this module, not yet instantiated. */
  private newVm(): PluginVm {
    return new PluginVm(this, this.module, this.info, this.abiVersion);
  }

  /**
   * Envoy's base VM: the module instantiated and initialized once, before any plugin starts (its
   * initialization code runs, then nothing else). Throws PluginLoadError / VmFailedError.
   */
  initialize(): void {
    const vm = this.newVm();
    try {
      vm.instantiate();
    } finally {
      this.discard(vm);
    }
  }

  /**
   * Envoy's canary: a fresh VM that starts and configures `plugin` and is then thrown away
   * without proxy_on_done — how Envoy checks a configuration before accepting it. Once per plugin
   * key. Throws PluginLoadError / VmFailedError when the plugin refuses to start.
   */
  canary(plugin: PluginRuntime): void {
    if (this.canaries.has(plugin.key)) return;
    const vm = this.newVm();
    try {
      vm.instantiate();
      startRoot(vm, plugin);
    } finally {
      this.discard(vm);
    }
    this.canaries.add(plugin.key);
  }

  /**
   * Starts `plugin` on `thread`: its root context in that thread's VM, which is created (a fresh
   * instance) when the thread has none or only a failed one. Throws as startRoot does.
   */
  startOn(thread: VmThread, plugin: PluginRuntime): { vm: PluginVm; root: RootContextState } {
    let vm = this.threadVms.get(thread);
    if (!vm || vm.failure) {
      vm = this.newVm();
      try {
        vm.instantiate();
      } catch (err) {
        this.discard(vm);
        throw err;
      }
      this.threadVms.set(thread, vm);
    }
    const known = vm.roots.get(plugin.key);
    try {
      return { vm, root: startRoot(vm, plugin) };
    } catch (err) {
      // A root that refused to start leaves the VM with nothing running for it.
      const root = vm.roots.get(plugin.key);
      if (root && root !== known) {
        if (root.tickPeriodMs > 0) this.services.timers.setTickPeriod(root, 0);
        for (const c of root.callouts.values()) c.cancel();
        root.callouts.clear();
        vm.roots.delete(plugin.key);
        vm.contexts.delete(root.id);
      }
      throw err;
    }
  }

  /** The current VM of a thread, if any. */
  vmOn(thread: VmThread): PluginVm | undefined {
    return this.threadVms.get(thread);
  }

  /**
   * Forgets a plugin; returns true when no plugin is left (new plugins then start from a new base).
   * The VMs stay as they are: a root that answered false to proxy_on_done may still finish.
   */
  release(plugin: PluginRuntime): boolean {
    this.plugins.delete(plugin);
    return this.plugins.size === 0;
  }

  // Stops what a VM's roots started: timers and callouts (Envoy cancels a destroyed root's calls).
  private stopVm(vm: PluginVm): void {
    this.services.timers.clear(vm);
    for (const root of vm.roots.values()) {
      for (const c of root.callouts.values()) c.cancel();
      root.callouts.clear();
    }
  }

  // A VM thrown away: with its contexts forgotten, no late tick, queue, DNS or callout answer
  // reaches it.
  private discard(vm: PluginVm): void {
    this.stopVm(vm);
    vm.contexts.clear();
  }
}

/**
 * Starts `plugin` in `vm` as Envoy's WasmBase::start and configure do: its root context (a new
 * one, or the one a plugin with the same key already has there) gets proxy_on_context_create,
 * proxy_on_vm_start and proxy_on_configure. Throws PluginLoadError when the plugin refuses to
 * start or its configuration, VmFailedError when it traps.
 */
function startRoot(vm: PluginVm, plugin: PluginRuntime): RootContextState {
  let root = vm.roots.get(plugin.key);
  if (!root) {
    root = new RootContextState(vm, vm.newContextId(), plugin);
    vm.roots.set(plugin.key, root);
    vm.contexts.set(root.id, root);
  }
  onContextCreate(root, 0);
  const vmConfig = vm.runtime.vmConfiguration;
  root.vmConfiguration = vmConfig;
  let started: boolean;
  try {
    started = onVmStart(root, vmConfig.length);
  } finally {
    root.vmConfiguration = undefined;
  }
  if (!started) throw new PluginLoadError("Wasm VM failed to start: proxy_on_vm_start returned false");
  if (!configureRoot(root, plugin.config.configuration)) {
    throw new PluginLoadError("Wasm VM failed to configure: proxy_on_configure returned false (configuration rejected)");
  }
  return root;
}

/** Delivers a (new) plugin configuration to a root (proxy_on_configure); false when the plugin rejects it. */
export function configureRoot(root: RootContextState, configuration: Buffer): boolean {
  root.pluginConfiguration = configuration;
  try {
    return onConfigure(root, configuration.length);
  } finally {
    root.pluginConfiguration = undefined;
  }
}
