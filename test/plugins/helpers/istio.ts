// Expected Istio metrics, derived from Istio's rules (docs/istio-metrics.md):
// the 25 labels in Istio's order with their defaults, Envoy's default histogram buckets, and the
// Prometheus text lines an Istio sidecar prints for them.
import { formatG32, LogLinearBins } from "../../../host/values/envoy_histogram.js";
import type { NodeMetadata } from "./mx.js";

/** The 25 standard labels in Istio's order. */
export const LABELS = [
  "reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
  "source_canonical_service", "source_canonical_revision", "source_cluster", "destination_workload",
  "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
  "destination_service", "destination_service_name", "destination_service_namespace",
  "destination_canonical_service", "destination_canonical_revision", "destination_cluster", "request_protocol",
  "response_flags", "connection_security_policy", "response_code", "grpc_response_status",
] as const;

export type LabelName = (typeof LABELS)[number];
export type LabelSet = Record<LabelName, string>;

/** Envoy's default histogram buckets (HistogramSettingsImpl::defaultBuckets). */
export const ENVOY_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** Labels of one node as Istio derives them (map_node): workload, namespace, app, version, canonical names, cluster. */
export function nodeLabels(side: "source" | "destination", md: NodeMetadata | undefined): Partial<LabelSet> {
  const labels = (md?.LABELS ?? undefined) as Record<string, string> | undefined;
  const workload = (md?.WORKLOAD_NAME as string | undefined) ?? "";
  const v = (s: string | undefined) => (s === undefined || s === "" ? "unknown" : s);
  return {
    [`${side}_workload`]: v(workload),
    [`${side}_workload_namespace`]: v(md?.NAMESPACE as string | undefined),
    [`${side}_app`]: v(labels?.app),
    [`${side}_version`]: v(labels?.version),
    [`${side}_canonical_service`]: v(labels ? (labels["service.istio.io/canonical-name"] ?? workload) : undefined),
    [`${side}_canonical_revision`]: labels?.["service.istio.io/canonical-revision"] || "latest",
    [`${side}_cluster`]: v(md?.CLUSTER_ID as string | undefined),
  } as Partial<LabelSet>;
}

/** A full label set: everything `unknown` except the given values (and Istio's fixed defaults). */
export function labelSet(values: Partial<LabelSet>): LabelSet {
  const base = Object.fromEntries(LABELS.map((l) => [l, "unknown"])) as LabelSet;
  base.source_canonical_revision = "latest";
  base.destination_canonical_revision = "latest";
  base.response_flags = "-";
  base.grpc_response_status = "";
  return { ...base, ...values };
}

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** `{a="1",b="2"}` for the given label names of `set` (in that order), plus extras. */
export function labelText(set: Record<string, string>, names: readonly string[], extra: Array<[string, string]> = []): string {
  return `{${[...names.map((n) => [n, set[n]!] as [string, string]), ...extra].map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
}

/** Which labels each metric carries: all 25, the first 20 (gRPC messages), the first 23 (TCP). */
export const HTTP_LABELS: readonly string[] = LABELS;
export const PEER_LABELS: readonly string[] = LABELS.slice(0, 20);
export const TCP_LABELS: readonly string[] = LABELS.slice(0, 23);

/** The line of a counter series. */
export function counterLine(name: string, set: Record<string, string>, names: readonly string[], value: number): string {
  return `${name}${labelText(set, names)} ${value}`;
}

/**
 * The lines of a histogram series with Envoy's default buckets, as Envoy prints them: bucket counts
 * and sum from its log-linear bins (docs/envoy/istio-telemetry.md, "Histograms"), so a sample of
 * 1001 counts in `le="1000"` and the sum is approximate.
 */
export function histogramLines(name: string, set: Record<string, string>, names: readonly string[], samples: number[]): string[] {
  const binned = new LogLinearBins();
  for (const s of samples) binned.record(s);
  const out = ENVOY_BUCKETS.map((le) => `${name}_bucket${labelText(set, names, [["le", String(le)]])} ${binned.countAtOrBelow(le)}`);
  out.push(`${name}_bucket${labelText(set, names, [["le", "+Inf"]])} ${samples.length}`);
  out.push(`${name}_sum${labelText(set, names)} ${formatG32(binned.approximateSum())}`);
  out.push(`${name}_count${labelText(set, names)} ${samples.length}`);
  return out;
}

/** The istio_* families of a Prometheus text, by family name: `# TYPE` line first, then series lines sorted. */
export function istioFamilies(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      current = type[1]!.startsWith("istio_") ? [line] : undefined;
      if (current) out.set(type[1]!, current);
      continue;
    }
    if (current && line) current.push(line);
  }
  for (const [k, lines] of out) out.set(k, [lines[0]!, ...lines.slice(1).sort()]);
  return out;
}

/** Builds the expected families from series: counters and histograms with their lines. */
export class ExpectedMetrics {
  private readonly families = new Map<string, { type: string; lines: string[] }>();

  counter(name: string, set: Record<string, string>, names: readonly string[], value: number): this {
    this.family(name, "counter").push(counterLine(name, set, names, value));
    return this;
  }

  histogram(name: string, set: Record<string, string>, names: readonly string[], samples: number[]): this {
    this.family(name, "histogram").push(...histogramLines(name, set, names, samples));
    return this;
  }

  gauge(name: string, labels: Array<[string, string]>, value: number): this {
    this.family(name, "gauge").push(`${name}{${labels.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}} ${value}`);
    return this;
  }

  private family(name: string, type: string): string[] {
    let f = this.families.get(name);
    if (!f) {
      f = { type, lines: [] };
      this.families.set(name, f);
    }
    return f.lines;
  }

  /** Same shape as {@link istioFamilies}. */
  build(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [name, f] of [...this.families.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.set(name, [`# TYPE ${name} ${f.type}`, ...f.lines.sort()]);
    }
    return out;
  }
}
