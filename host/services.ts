// Services a host gives every plugin it runs: logs, metrics, shared data and queues, time, timers,
// callouts, foreign functions, and host-wide properties.
import type { CalloutTransport } from "./imports/http_call.js";
import type { DnsResolver } from "./imports/dns.js";
import type { GrpcTransport } from "./state/grpc_calls.js";
import type { LogSink } from "./state/logs.js";
import type { MetricStore } from "./state/metrics.js";
import type { SharedDataStore, SharedQueueStore } from "./state/shared.js";
import type { MetadataInit, NodeInfo } from "./state/envoy_messages.js";
import type { PropertyLiteral } from "./state/property_values.js";
import type { BaseVm } from "./vm/base_vm.js";
import type { RootContextState } from "./vm/contexts.js";
import type { PluginVm } from "./vm/plugin_vm.js";

/** Time sources (WASI clock_time_get and proxy_get_current_time_nanoseconds). */
export interface Clock {
  /** Nanoseconds since the Unix epoch. */
  realtimeNanos(): bigint;
  /** Nanoseconds of a monotonic clock. */
  monotonicNanos(): bigint;
}

/** Drives root contexts' timers. */
export interface TimerService {
  /** Sets (0 = clears) the tick period of a root context. */
  setTickPeriod(vm: PluginVm, root: RootContextState, periodMs: number): void;
  /** Forgets every timer of a VM (it failed or shut down). */
  clear(vm: PluginVm): void;
  /** Milliseconds on the clock timers run on (virtual in tests); used for reload backoff. */
  nowMs(): number;
}

/** What the proxy says about itself and its listener (`node`, `listener_direction`, `listener_metadata`). */
export interface LocalInfo {
  node: NodeInfo;
  /** Envoy's TrafficDirection: 0 unspecified, 1 inbound, 2 outbound. */
  listenerDirection: number;
  listenerMetadata: MetadataInit;
}

/** A host-implemented foreign function: argument bytes in, result bytes (or a WasmResult status) out. */
export type ForeignFunction = (args: Buffer, vm: PluginVm) => Buffer | number;

export interface HostServices {
  readonly logs: LogSink;
  readonly metrics: MetricStore;
  readonly sharedData: SharedDataStore;
  readonly sharedQueues: SharedQueueStore;
  readonly clock: Clock;
  readonly timers: TimerService;
  readonly callouts: CalloutTransport;
  /** Where gRPC callouts go (state/grpc_calls.ts); none means every gRPC cluster is unknown. */
  readonly grpc?: GrpcTransport;
  readonly foreignFunctions: Map<string, ForeignFunction>;
  /** Resolves names for envoy_resolve_dns; none means every lookup fails. */
  readonly dns?: DnsResolver;
  /** Node and listener facts (properties `node`, `xds.*`, `listener_direction`, …). */
  readonly localInfo: LocalInfo;
  /** Property values pinned by dotted path (they win over computed ones). */
  readonly properties: Map<string, PropertyLiteral>;
  /** A debugger may pause plugin code: time limits must not count a paused callback (HostOptions.debugging). */
  readonly debugging?: boolean;
  /** Default wall-clock limit of one plugin callback, ms; 0 or absent: none (PluginOptions.callbackTimeLimitMs). */
  readonly callbackTimeLimitMs?: number;
  /** Runs `task` soon, outside any VM call (queue notifications). */
  post(task: () => void): void;
  /**
   * The modules plugins run, by VM key (vm_id, VM configuration, code): plugins with the same key
   * share their VMs, as in Envoy.
   */
  readonly baseVms: Map<string, BaseVm>;
}
