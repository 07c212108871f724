// host/istio/tag_extractor.ts: Istio's bootstrap tag extraction with Envoy's regex semantics.
import { describe, expect, it } from "vitest";
import { ISTIO_STANDARD_TAGS, createIstioTagExtractor, extractTags, istioTagExtractor } from "../../host/istio/tag_extractor.js";
import { MetricType } from "../../host/abi/constants.js";
import { MetricStore } from "../../host/services/metrics.js";
import { renderPrometheus } from "../../host/services/prometheus.js";

// The example of docs/istio-metrics.md, "Stat names", without Envoy's wasmcustom. namespace.
const EXAMPLE_VALUES: Array<[string, string]> = [
  ["reporter", "destination"], ["source_workload", "productpage-v1"], ["source_workload_namespace", "default"],
  ["source_principal", "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"], ["source_app", "productpage"],
  ["source_version", "v1"], ["source_canonical_service", "productpage"], ["source_canonical_revision", "v1"],
  ["source_cluster", "Kubernetes"], ["destination_workload", "reviews-v1"], ["destination_workload_namespace", "default"],
  ["destination_principal", "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"], ["destination_app", "reviews"],
  ["destination_version", "v1"], ["destination_service", "reviews.default.svc.cluster.local"], ["destination_service_name", "reviews"],
  ["destination_service_namespace", "default"], ["destination_canonical_service", "reviews"], ["destination_canonical_revision", "v1"],
  ["destination_cluster", "Kubernetes"], ["request_protocol", "http"], ["response_flags", "-"],
  ["connection_security_policy", "mutual_tls"], ["response_code", "200"], ["grpc_response_status", ""],
];
const EXAMPLE_NAME = `${EXAMPLE_VALUES.map(([k, v]) => `${k}=.=${v};.;`).join("")}istio_requests_total`;

describe("Istio tag extraction", () => {
  it("turns the document's example stat name into istio_requests_total with the 25 labels in order", () => {
    expect(ISTIO_STANDARD_TAGS).toEqual(EXAMPLE_VALUES.map(([k]) => k));
    expect(istioTagExtractor(EXAMPLE_NAME)).toEqual({ name: "istio_requests_total", labels: EXAMPLE_VALUES });
  });

  it("extracts istio_build's component and tag with the bootstrap's helper regexes", () => {
    expect(istioTagExtractor("component.proxy.tag.1.16.1;.istio_build")).toEqual({
      name: "istio_build", labels: [["component", "proxy"], ["tag", "1.16.1"]],
    });
  });

  it("follows Envoy: every extractor searches the original name, group 1 is cut, group 2 is the value", () => {
    const r = extractTags("a.x1.b.y2.end", [
      { name: "y", regex: /(y(\d)\.)/ },
      { name: "x", regex: /(x(\d)\.)/ },
      { name: "none", regex: /(zzz(\d))/ },
    ]);
    // Tags in extractor order; both cuts applied to the original name.
    expect(r).toEqual({ name: "a.b.end", labels: [["y", "2"], ["x", "1"]] });
  });

  it("leaves unlisted tags in the name, as a bootstrap without them would", () => {
    const name = `reporter=.=source;.;request_host=.=reviews;.;istio_requests_total`;
    expect(istioTagExtractor(name)).toEqual({ name: "request_host=.=reviews;.;istio_requests_total", labels: [["reporter", "source"]] });
    expect(createIstioTagExtractor({ extraStatTags: ["request_host"] })(name)).toEqual({
      name: "istio_requests_total", labels: [["reporter", "source"], ["request_host", "reviews"]],
    });
  });

  it("applies to every stat, as Envoy applies the bootstrap's stats_tags (names without the patterns are left alone)", () => {
    expect(istioTagExtractor("add_header.requests_total")).toEqual({ name: "add_header.requests_total", labels: [] });
    expect(istioTagExtractor("my.cache.hits")).toEqual({ name: "my.cache.hits", labels: [] });
    // What Envoy 1.40 printed for these plugin stats with pwasm's bootstrap (docs/envoy/istio-telemetry.md).
    expect(istioTagExtractor("my_component.proxy.value")).toEqual({ name: "my_value", labels: [["component", "proxy"]] });
    expect(istioTagExtractor("wasm_filter.f.cache.miss.n")).toEqual({ name: "n", labels: [["cache", "miss"], ["wasm_filter", "f"]] });
    expect(istioTagExtractor("reporter=.=x;.;custom_total")).toEqual({ name: "custom_total", labels: [["reporter", "x"]] });
    // Envoy's own default extractors that reach plugin stats come first.
    expect(istioTagExtractor("foo_rq_200")).toEqual({ name: "foo_rq", labels: [["envoy_response_code", "200"]] });
    expect(istioTagExtractor("foo_rq_5xx")).toEqual({ name: "foo_rq_xx", labels: [["envoy_response_code_class", "5"]] });
    expect(istioTagExtractor("reporter=.=x;.;foo_rq_200")).toEqual({ name: "foo_rq", labels: [["envoy_response_code", "200"], ["reporter", "x"]] });
    // istioOnly keeps other stats' names, as an Envoy without Istio's stats_tags shows them.
    expect(createIstioTagExtractor({ istioOnly: true })("my_component.proxy.value")).toEqual({ name: "my_component.proxy.value", labels: [] });
  });

  it("renders Prometheus text as a sidecar does", () => {
    const store = new MetricStore();
    store.define(MetricType.Counter, EXAMPLE_NAME).value = 7;
    store.define(MetricType.Counter, "add_header.requests_total").value = 2;
    const text = renderPrometheus(store, istioTagExtractor);
    expect(text).toContain("# TYPE istio_requests_total counter\n");
    expect(text).toContain(`istio_requests_total{${EXAMPLE_VALUES.map(([k, v]) => `${k}="${v}"`).join(",")}} 7\n`);
    expect(text).toContain("add_header_requests_total{} 2\n");
  });
});
