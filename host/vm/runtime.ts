// What a VM needs from the module it runs (the VM-level settings every plugin in it shares) and
// from each plugin whose root context lives in it. Envoy runs every plugin with the same vm_id,
// VM configuration and code in one VM per thread (docs/envoy/lifecycle.md), so a VM has one
// module-level owner and one or more plugins.
import type { LogLevel } from "../abi/constants.js";
import type { HostServices } from "../services.js";
import type { CodeMap, SourcePositionResolver } from "./backtrace.js";
import type { RootContextState } from "./contexts.js";
import type { PluginVm } from "./plugin_vm.js";

/** How a failed VM affects streams: Envoy's failure_policy. */
export type FailurePolicy = "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";

/** A plugin's settings, resolved to bytes and defaults. */
export interface ResolvedPluginConfig {
  /** Envoy `name` (log prefix, `plugin_name`). */
  name: string;
  /** Envoy `root_id` (`plugin_root_id`). */
  rootId: string;
  /** Envoy `vm_config.vm_id` (`plugin_vm_id`; scopes shared data and queues). */
  vmId: string;
  /** Plugin configuration bytes (proxy_on_configure). */
  configuration: Buffer;
  /** VM configuration bytes (proxy_on_vm_start). */
  vmConfiguration: Buffer;
  /** WASI environment, as `vm_config.environment_variables`. */
  environment: Array<[string, string]>;
  failurePolicy: FailurePolicy;
  /** Envoy's `allow_on_headers_stop_iteration`. */
  allowOnHeadersStopIteration: boolean;
}

/** The module side of a VM: what every plugin sharing it shares. */
export interface VmRuntime {
  readonly services: HostServices;
  readonly memoryLimitBytes: number;
  readonly sourceMap: SourcePositionResolver | undefined;
  /** How the host's rewrites moved the module's code (trap offsets are mapped back). */
  readonly codeMap: CodeMap;
  /** The module's loops are instrumented: its calls stop after callbackTimeLimitMs (callback_deadline.ts). */
  readonly deadlines: boolean;
  /** Wall-clock limit of one call into the guest, ms (0: none). */
  readonly callbackTimeLimitMs: number;
  /** `vm_config.vm_id`: scopes shared data and queues. */
  readonly vmId: string;
  /** `vm_config.configuration`, delivered to proxy_on_vm_start. */
  readonly vmConfiguration: Buffer;
  /** WASI environment of the VM. */
  readonly environment: ReadonlyArray<[string, string]>;
  /**
   * Writes a line from the VM's own context (module initialization, before any root context
   * exists): Envoy prints it with no plugin prefix.
   */
  log(level: LogLevel, message: string): void;
  /** Writes one of the host's own messages about this VM (Envoy's `[wasm]` lines, no `wasm log`). */
  report(level: LogLevel, message: string): void;
  /** Called once when the VM fails. */
  onVmFailed(vm: PluginVm): void;
}

/** The plugin side of a root context. */
export interface PluginRuntime {
  readonly config: ResolvedPluginConfig;
  readonly services: HostServices;
  /**
   * Envoy's plugin key (root_id, configuration, name): plugins with the same key in one VM share
   * one root context.
   */
  readonly key: string;
  /**
   * Writes a plugin log line with Envoy's prefix: name, root id and vm id from a stream or
   * connection; root id and vm id only from the root context (`fromRoot`).
   */
  log(level: LogLevel, message: string, fromRoot?: boolean): void;
  /** Called once when a VM holding this plugin's root fails. */
  onVmFailed(vm: PluginVm, root: RootContextState): void;
  /** Delivers proxy_on_tick to a root (a failure is handled by the failure policy, not thrown). */
  deliverTick(vm: PluginVm, root: RootContextState): void;
  /** Delivers proxy_on_queue_ready to a root. */
  deliverQueueReady(vm: PluginVm, root: RootContextState, queueId: number): void;
  /** Deletes a root context (proxy_on_delete) once it finished (proxy_done). */
  deleteRoot(vm: PluginVm, root: RootContextState): void;
}
