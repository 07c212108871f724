// The Istio plugins in a real Envoy 1.40 where the dev proxy cannot follow: a gRPC server's
// grpc-status 0 arrives in trailers, which need HTTP/2 (Envoy's HTTP/1.1 codec drops trailers, and
// the dev proxy forwards over HTTP/1.1), so both sidecars talk HTTP/2 upstream and the series must
// carry grpc_response_status="0" next to the failures. Skipped with the reason where no Envoy is
// installed.
import { describe, expect, it } from "vitest";
import { expectationFailures } from "../../cli/envoy/differential/compare.js";
import { runScenario } from "../../cli/envoy/differential/run.js";
import { envoyScenarioTarget } from "../../cli/envoy/differential/targets.js";
import { testEnvoy } from "../helpers/envoy.js";
import { grpcScenario } from "../differential/scenarios/istio.js";

const local = await testEnvoy();

// The plugins come from the global setup's build.
describe("Istio telemetry in Envoy 1.40", () => {
  it.skipIf(!local.envoy)(`gRPC over HTTP/2: grpc_response_status from trailers (0) and from Trailers-Only answers (5) on both sidecars${local.skip ? ` — skipped: ${local.skip}` : ""}`, async () => {
    const scenario = grpcScenario("istio: gRPC calls through two Envoy sidecars", ["0", "5", "0"]);
    const run = await runScenario(envoyScenarioTarget({ kind: "local", envoy: local.envoy! }), scenario);
    expect(expectationFailures(run.observation, scenario).map((d) => d.text)).toEqual([]);
    for (const proxy of run.observation.proxies) {
      expect(proxy.prometheus.filter((l) => l.startsWith("istio_requests_total{")).map((l) => /grpc_response_status="(\d*)"\} (\d+)$/.exec(l)?.slice(1).join(" ")).sort()).toEqual(["0 2", "5 1"]);
    }
  }, 180_000);
});
