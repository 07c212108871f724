// Services a host gives every plugin it runs: logs, metrics, shared data and queues, time, timers,
// callouts, foreign functions, and host-wide properties.
import type { CalloutTransport, DnsResolver, GrpcTransport } from "./transports.js";
import type { LogSink } from "./logs.js";
import type { MetricStore } from "./metrics.js";
import type { SharedDataStore, SharedQueueStore } from "./shared.js";
import type { MetadataInit, NodeInfo } from "../values/envoy_messages.js";
import type { PropertyLiteral } from "../values/property_values.js";

/** Time sources (WASI clock_time_get and proxy_get_current_time_nanoseconds). */
export interface Clock {
  /** Nanoseconds since the Unix epoch. */
  realtimeNanos(): bigint;
  /** Nanoseconds of a monotonic clock. */
  monotonicNanos(): bigint;
}

/**
 * A root context as timers see it (vm/contexts.ts RootContextState): its period, the VM it lives
 * in (timers are cleared by VM), and how it takes a tick (proxy_on_tick, failures handled).
 */
export interface TickTarget {
  tickPeriodMs: number;
  readonly vm: object;
  tick(): void;
}

/** Drives root contexts' timers. */
export interface TimerService {
  /** Sets (0 = clears) the tick period of a root context. */
  setTickPeriod(root: TickTarget, periodMs: number): void;
  /** Forgets every timer of a VM (it failed or shut down). */
  clear(vm: object): void;
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

/**
 * What a foreign function may act on: the context that called proxy_call_foreign_function (its
 * effective context, vm/contexts.ts) — Envoy's clear_route_cache and declare_property need it.
 */
export interface ForeignCallContext {
  clearRouteCache(): void;
  readonly root: { readonly declaredProperties: Map<string, { readonly: boolean }> };
}

/** A host-implemented foreign function: argument bytes in, result bytes (or a WasmResult status) out. */
export type ForeignFunction = (args: Buffer, caller: ForeignCallContext) => Buffer | number;

/** What every plugin a host runs shares (ProxyWasmHost implements it). */
export interface HostServices {
  readonly logs: LogSink;
  readonly metrics: MetricStore;
  readonly sharedData: SharedDataStore;
  readonly sharedQueues: SharedQueueStore;
  readonly clock: Clock;
  readonly timers: TimerService;
  readonly callouts: CalloutTransport;
  /** Where gRPC callouts go (transports.ts); none means every gRPC cluster is unknown. */
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
}
