// Two `pwasm run` processes as Istio sidecars (productpage → reviews), each with
// metadata-exchange and stats, configured only through the CLI (--node-id, --node-metadata @file,
// --listener-direction): both sides know their peer and report agreeing series.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPwasm, type CliProcess } from "../helpers/cli.js";
import { built } from "../helpers/paths.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";
import { PRODUCTPAGE, REVIEWS } from "./helpers/mx.js";
import { get, seriesOf } from "./helpers/relay.js";

const WORKLOAD_LABELS = [
  "source_workload", "source_workload_namespace", "source_app", "source_version", "source_canonical_service",
  "source_canonical_revision", "source_cluster", "destination_workload", "destination_workload_namespace",
  "destination_app", "destination_version", "destination_canonical_service", "destination_canonical_revision",
  "destination_cluster",
];

async function sidecar(args: string[]): Promise<{ proc: CliProcess; url: string; admin: string }> {
  const proc = startPwasm(["run", built("plugins/metadata-exchange"), built("plugins/stats"), ...args, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
  const url = (await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const admin = (await proc.waitFor(/admin on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  return { proc, url, admin };
}

describe("two `pwasm run` sidecars with metadata-exchange and stats", () => {
  let app: Upstream;
  let server: { proc: CliProcess; url: string; admin: string };
  let client: { proc: CliProcess; url: string; admin: string };

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "pwasm-sidecars-"));
    writeFileSync(join(dir, "productpage.json"), JSON.stringify(PRODUCTPAGE));
    writeFileSync(join(dir, "reviews.json"), JSON.stringify(REVIEWS));
    app = await startUpstream();
    server = await sidecar(["--root-id", "", "--root-id", "stats_inbound", "--upstream", app.url, "--listener-direction", "inbound",
      "--node-id", "sidecar~10.244.0.20~reviews-v1-545db77b95-qd2hq.default~default.svc.cluster.local", "--node-metadata", `@${join(dir, "reviews.json")}`]);
    client = await sidecar(["--root-id", "", "--root-id", "stats_outbound", "--upstream", server.url, "--listener-direction", "outbound",
      "--node-id", "sidecar~10.244.0.12~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local", "--node-metadata", `@${join(dir, "productpage.json")}`]);
  });

  afterAll(async () => {
    await client?.proc.stop();
    await server?.proc.stop();
    await app?.close();
  });

  it("exchanges metadata, strips it before the application, and reports agreeing source and destination series", async () => {
    for (let i = 0; i < 4; i++) expect((await get(client.url, `/reviews/${i}`, { host: "reviews:9080" })).status).toBe(200);
    for (const seen of app.seen) {
      expect(seen.headers["x-envoy-peer-metadata"]).toBeUndefined();
      expect(seen.headers["x-envoy-peer-metadata-id"]).toBeUndefined();
    }
    const source = seriesOf(await (await fetch(`${client.admin}/stats/prometheus`)).text(), "istio_requests_total");
    const destination = seriesOf(await (await fetch(`${server.admin}/stats/prometheus`)).text(), "istio_requests_total");
    expect(source).toHaveLength(1);
    expect(destination).toHaveLength(1);
    expect(source[0]!.labels.reporter).toBe("source");
    expect(destination[0]!.labels.reporter).toBe("destination");
    expect(source[0]!.value).toBe(4);
    expect(destination[0]!.value).toBe(4);
    expect(source[0]!.labels.source_workload).toBe("productpage-v1");
    expect(source[0]!.labels.destination_workload).toBe("reviews-v1");
    expect(source[0]!.labels.source_app).toBe("productpage");
    for (const label of WORKLOAD_LABELS) expect(destination[0]!.labels[label], label).toBe(source[0]!.labels[label]);
  });
});
