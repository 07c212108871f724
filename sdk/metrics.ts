// Metrics: counters, gauges and histograms (proxy_define_metric and friends).
import { proxy_define_metric, proxy_get_metric, proxy_increment_metric, proxy_record_metric } from "./imports";
import { OUT_PTR, stage0, stagedLen0 } from "./memory";
import { MetricType, WasmResult } from "./types";

/** Defines a metric (proxy_define_metric) and returns its id; 0 if the host refused. */
export function defineMetric(type: MetricType, name: string): u32 {
  const p = stage0(name);
  const r = proxy_define_metric(<u32>type, p, stagedLen0, OUT_PTR);
  return r == WasmResult.Ok ? load<u32>(OUT_PTR) : 0;
}

/** Reads a counter or gauge (proxy_get_metric); 0 if unknown. */
export function getMetric(metricId: u32): u64 {
  if (proxy_get_metric(metricId, OUT_PTR) != WasmResult.Ok) return 0;
  return load<u64>(OUT_PTR);
}

/** A monotonically increasing count. Define it in onVmStart or onConfigure (not at module init). */
export class Counter {
  constructor(public readonly id: u32) {}
  /** Defines (or reuses, by name) a counter. */
  static define(name: string): Counter { return new Counter(defineMetric(MetricType.Counter, name)); }
  /** Adds `delta` (> 0) (proxy_increment_metric). */
  increment(delta: i64 = 1): WasmResult { return <WasmResult>proxy_increment_metric(this.id, delta); }
  /** Current value. */
  get(): u64 { return getMetric(this.id); }
}

/** A value that goes up and down. */
export class Gauge {
  constructor(public readonly id: u32) {}
  /** Defines (or reuses, by name) a gauge. */
  static define(name: string): Gauge { return new Gauge(defineMetric(MetricType.Gauge, name)); }
  /** Adds `delta`, which may be negative (proxy_increment_metric). */
  add(delta: i64): WasmResult { return <WasmResult>proxy_increment_metric(this.id, delta); }
  /** Sets the value (proxy_record_metric). */
  set(value: u64): WasmResult { return <WasmResult>proxy_record_metric(this.id, value); }
  /** Current value. */
  get(): u64 { return getMetric(this.id); }
}

/** A distribution of samples. */
export class Histogram {
  constructor(public readonly id: u32) {}
  /** Defines (or reuses, by name) a histogram. */
  static define(name: string): Histogram { return new Histogram(defineMetric(MetricType.Histogram, name)); }
  /** Records one sample (proxy_record_metric). */
  record(value: u64): WasmResult { return <WasmResult>proxy_record_metric(this.id, value); }
}
