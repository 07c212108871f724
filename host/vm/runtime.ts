// What a VM needs from the plugin that owns it and the host around it.
import type { LogLevel } from "../abi/constants.js";
import type { HostServices } from "../services.js";
import type { OffsetShift, SourcePositionResolver } from "./backtrace.js";
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

/** The plugin side of a VM. */
export interface PluginRuntime {
  readonly config: ResolvedPluginConfig;
  readonly services: HostServices;
  readonly memoryLimitBytes: number;
  readonly sourceMap: SourcePositionResolver | undefined;
  /** How the host's rewrite moved the module's bytes (trap offsets are mapped back). */
  readonly offsetShift: OffsetShift;
  /** Writes a plugin log line (with the plugin's prefix). */
  log(level: LogLevel, message: string): void;
  /** Called once when a VM of this plugin fails. */
  onVmFailed(vm: PluginVm): void;
  /** Delivers proxy_on_tick to a root (a failure is handled by the failure policy, not thrown). */
  deliverTick(vm: PluginVm, root: RootContextState): void;
  /** Delivers proxy_on_queue_ready to a root. */
  deliverQueueReady(vm: PluginVm, root: RootContextState, queueId: number): void;
  /** Deletes a root context (proxy_on_delete) once it finished (proxy_done). */
  deleteRoot(vm: PluginVm, root: RootContextState): void;
}
