// Istio's stat tag extraction, as its Envoy bootstrap configures it (istio/istio
// tools/packaging/common/envoy_bootstrap.json, `stats_config.stats_tags`): one regex per tag,
// `(<tag>=\.=(.*?);\.;)`, plus helpers for istio_build and the Wasm stats filter's cache counter.
// Envoy semantics (api/envoy/config/metrics/v3/stats.proto, TagSpecifier.regex): every extractor
// searches the original stat name; capture group 1 is cut out of the name, group 2 is the tag
// value; tags are listed in extractor order. So the stats plugin's
// `reporter=.=destination;.;…;.;istio_requests_total` becomes
// `istio_requests_total{reporter="destination",…}` in /stats/prometheus. This is what an Envoy
// started from `pwasm envoy-config` applies to every stat (Istio's stats_tags after Envoy's
// defaults), so the dev proxy's /stats/prometheus names every plugin stat as that Envoy does
// (docs/envoy/istio-telemetry.md, "Stat names").
import type { ExtractedName, TagExtractor } from "../services/prometheus.js";

/** The 25 labels of Istio's standard metrics, in Istio's order. */
export const ISTIO_STANDARD_TAGS: readonly string[] = [
  "reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
  "source_canonical_service", "source_canonical_revision", "source_cluster", "destination_workload",
  "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
  "destination_service", "destination_service_name", "destination_service_namespace",
  "destination_canonical_service", "destination_canonical_revision", "destination_cluster", "request_protocol",
  "response_flags", "connection_security_policy", "response_code", "grpc_response_status",
];

/** Extractors Istio's bootstrap adds for istio_build and `wasm_filter.stats_filter.cache.hit.metric_cache_count`. */
const HELPER_EXTRACTORS: ReadonlyArray<readonly [string, string]> = [
  ["component", "(component\\.(.+?)\\.)"],
  ["tag", "(tag\\.(.+?);\\.)"],
  ["cache", "(cache\\.(.+?)\\.)"],
  ["wasm_filter", "(wasm_filter\\.(.+?)\\.)"],
];

/**
 * Envoy's own default extractors that can match a plugin's stat (the others are anchored at the
 * start of names Wasm stats never have), which Envoy applies before the bootstrap's stats_tags
 * since pwasm's bootstrap keeps `use_all_default_tags` (source/common/config/well_known_names.cc;
 * checked on Envoy 1.40: `foo_rq_200` prints as `foo_rq{envoy_response_code="200"}`).
 */
const ENVOY_DEFAULT_EXTRACTORS: ReadonlyArray<readonly [string, string]> = [
  ["envoy_response_code", "_rq(_(\\d{3}))$"],
  ["envoy_response_code_class", "_rq_(\\d)xx$"],
];

/** Options of {@link createIstioTagExtractor}. */
export interface IstioTagExtractorOptions {
  /**
   * Tags to extract besides the standard 25: what a mesh lists in `extraStatTags` for custom
   * dimensions (e.g. `request_host`). Names only; each gets Istio's `(<tag>=\.=(.*?);\.;)` regex.
   */
  extraStatTags?: readonly string[];
  /**
   * Apply extraction only to stats whose own name (the last component) starts with `istio`, so
   * other plugins' metrics keep their names as an Envoy without Istio's bootstrap would show them.
   * Default false: Envoy applies a bootstrap's stats_tags to every stat, and `pwasm envoy-config`
   * writes Istio's, so `my_component.proxy.value` prints as `my_value{component="proxy"}` there.
   */
  istioOnly?: boolean;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One Envoy regex tag extractor. */
interface Extractor {
  name: string;
  regex: RegExp;
}

/** Applies Envoy regex tag extractors to a stat name (all against the original name). */
export function extractTags(statName: string, extractors: readonly Extractor[]): ExtractedName {
  const labels: Array<[string, string]> = [];
  const remove: Array<[number, number]> = [];
  for (const { name, regex } of extractors) {
    const m = regex.exec(statName);
    if (!m || m[1] === undefined) continue;
    const start = m.index + m[0].indexOf(m[1]);
    labels.push([name, m[2] ?? m[1]]);
    remove.push([start, start + m[1].length]);
  }
  if (remove.length === 0) return { name: statName, labels };
  remove.sort((a, b) => a[0] - b[0]);
  let out = "";
  let pos = 0;
  for (const [start, end] of remove) {
    if (start > pos) out += statName.slice(pos, start);
    pos = Math.max(pos, end);
  }
  out += statName.slice(pos);
  return { name: out, labels };
}

/** A TagExtractor that turns Istio-encoded stat names into Prometheus names and labels. */
export function createIstioTagExtractor(options: IstioTagExtractorOptions = {}): TagExtractor {
  const tags = [...ISTIO_STANDARD_TAGS, ...(options.extraStatTags ?? []).filter((t) => !ISTIO_STANDARD_TAGS.includes(t))];
  const extractors: Extractor[] = [
    ...ENVOY_DEFAULT_EXTRACTORS.map(([name, re]) => ({ name, regex: new RegExp(re) })),
    ...tags.map((t) => ({ name: t, regex: new RegExp(`(${escapeRegex(t)}=\\.=(.*?);\\.;)`) })),
    ...HELPER_EXTRACTORS.map(([name, re]) => ({ name, regex: new RegExp(re) })),
  ];
  const istioOnly = options.istioOnly ?? false;
  return (statName: string): ExtractedName => {
    // An Istio stat's own name is its last component (after the last `.` or `;`): istio_….
    const tail = statName.slice(Math.max(statName.lastIndexOf("."), statName.lastIndexOf(";")) + 1);
    if (istioOnly && !tail.startsWith("istio")) return { name: statName, labels: [] };
    return extractTags(statName, extractors);
  };
}

/** Istio's extraction with the standard tags only, on every stat (the dev proxy's default, as `pwasm envoy-config`'s stats_config). */
export const istioTagExtractor: TagExtractor = createIstioTagExtractor();
