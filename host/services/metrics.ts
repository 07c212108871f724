// Plugin metrics shared by every VM of a host, by name, as Envoy keeps them: the per-worker VMs of
// one plugin aggregate into the same stat.
import { MetricType } from "../abi/constants.js";
import { LogLinearBins } from "../values/envoy_histogram.js";

/** Envoy's default histogram bucket bounds. */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** One stat. Counter and gauge values are numbers (exact up to 2^53). */
export class Metric {
  value = 0;
  /** Histogram: counts per bucket (non-cumulative), then the overflow count. */
  readonly bucketCounts: number[];
  sum = 0;
  count = 0;
  /** Histogram: the samples in Envoy's log-linear bins, for /stats/prometheus as Envoy prints it. */
  readonly bins: LogLinearBins | undefined;

  constructor(readonly type: MetricType, readonly name: string, readonly buckets: readonly number[] = DEFAULT_HISTOGRAM_BUCKETS) {
    this.bucketCounts = type === MetricType.Histogram ? new Array(buckets.length + 1).fill(0) : [];
    this.bins = type === MetricType.Histogram ? new LogLinearBins() : undefined;
  }

  /** Records a histogram sample. */
  record(sample: number): void {
    let i = 0;
    while (i < this.buckets.length && sample > this.buckets[i]!) i++;
    this.bucketCounts[i]!++;
    this.sum += sample;
    this.count++;
    this.bins?.record(sample);
  }
}

/** All metrics of a host. */
export class MetricStore {
  private readonly byKey = new Map<string, Metric>();

  /** The stat of this type and name, created on first use. */
  define(type: MetricType, name: string): Metric {
    const key = `${type}:${name}`;
    let m = this.byKey.get(key);
    if (!m) {
      m = new Metric(type, name);
      this.byKey.set(key, m);
    }
    return m;
  }

  /** Looks up a stat by name (any type), or undefined. */
  find(name: string, type?: MetricType): Metric | undefined {
    if (type !== undefined) return this.byKey.get(`${type}:${name}`);
    for (const t of [MetricType.Counter, MetricType.Gauge, MetricType.Histogram]) {
      const m = this.byKey.get(`${t}:${name}`);
      if (m) return m;
    }
    return undefined;
  }

  /** Every stat, in definition order. */
  all(): Metric[] {
    return [...this.byKey.values()];
  }
}
