// A plugin's settings as the VM layer reads them: Envoy's failure policy and the resolved
// PluginConfig / VmConfig fields. What a VM needs from its module's owner is VmRuntime
// (plugin_vm.ts), what a root context needs from its plugin is PluginRuntime (contexts.ts).

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
