// Services a host gives every plugin it runs: logs, metrics, shared data and queues, time, timers,
// callouts, foreign functions, and host-wide properties.
import type { CalloutTransport } from "./imports/http_call.js";
import type { LogSink } from "./state/logs.js";
import type { MetricStore } from "./state/metrics.js";
import type { SharedDataStore, SharedQueueStore } from "./state/shared.js";
import type { PropertyLiteral } from "./state/stream_info.js";
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
  readonly foreignFunctions: Map<string, ForeignFunction>;
  /** Host-wide property values by dotted path (e.g. `node.id`, `listener_direction`). */
  readonly properties: Map<string, PropertyLiteral>;
  /** Runs `task` soon, outside any VM call (queue notifications). */
  post(task: () => void): void;
}
