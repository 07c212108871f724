// Prometheus text exposition of plugin metrics, as Envoy's admin /stats/prometheus shows custom
// Wasm stats: no `envoy_` prefix, names sanitized to [a-zA-Z0-9_], `{}` for untagged stats, and
// histograms as cumulative buckets plus _sum and _count, computed from Envoy's log-linear bins as
// Envoy computes them (values/envoy_histogram.ts).
import { MetricType } from "../abi/constants.js";
import { formatG32 } from "../values/envoy_histogram.js";
import type { Metric, MetricStore } from "./metrics.js";

/** A stat name split into a Prometheus name and labels (tag extraction). */
export interface ExtractedName {
  name: string;
  labels: Array<[string, string]>;
}

/** Splits a stat name into name and labels; the default keeps the whole name, no labels. */
export type TagExtractor = (statName: string) => ExtractedName;

const noTags: TagExtractor = (name) => ({ name, labels: [] });

/** Replaces characters Prometheus does not allow in names. */
export function sanitizeMetricName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Array<[string, string]>, extra?: [string, string]): string {
  const all = extra ? [...labels, extra] : labels;
  return `{${all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(n);
}

/** Renders every metric of `store` in Prometheus text format, grouped by family, sorted by name. */
export function renderPrometheus(store: MetricStore, extract: TagExtractor = noTags): string {
  const families = new Map<string, { type: MetricType; series: Array<{ labels: Array<[string, string]>; metric: Metric }> }>();
  for (const metric of store.all()) {
    const { name, labels } = extract(metric.name);
    const family = sanitizeMetricName(name);
    let f = families.get(family);
    if (!f) {
      f = { type: metric.type, series: [] };
      families.set(family, f);
    }
    f.series.push({ labels, metric });
  }
  const out: string[] = [];
  for (const family of [...families.keys()].sort()) {
    const f = families.get(family)!;
    const type = f.type === MetricType.Counter ? "counter" : f.type === MetricType.Gauge ? "gauge" : "histogram";
    out.push(`# TYPE ${family} ${type}`);
    for (const { labels, metric } of f.series) {
      if (metric.type !== MetricType.Histogram) {
        out.push(`${family}${labelText(labels)} ${formatNumber(metric.value)}`);
        continue;
      }
      const bins = metric.bins!;
      for (const le of metric.buckets) out.push(`${family}_bucket${labelText(labels, ["le", formatG32(le)])} ${bins.countAtOrBelow(le)}`);
      out.push(`${family}_bucket${labelText(labels, ["le", "+Inf"])} ${metric.count}`);
      out.push(`${family}_sum${labelText(labels)} ${formatG32(bins.approximateSum())}`);
      out.push(`${family}_count${labelText(labels)} ${metric.count}`);
    }
  }
  return out.length ? `${out.join("\n")}\n` : "";
}
