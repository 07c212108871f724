// End to end through the real CLI: `pwasm run` with a real upstream on 127.0.0.1, real HTTP
// requests, the admin listener, and Ctrl-C.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPwasm, type CliProcess } from "../helpers/cli.js";
import { httpRequest, type HttpReply } from "../helpers/http.js";
import { built } from "../helpers/paths.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpReply> {
  return httpRequest(url, init);
}

async function startRun(args: string[]): Promise<{ proc: CliProcess; url: string; admin: string }> {
  const proc = startPwasm(["run", ...args, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
  const [, url] = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const [, admin] = await proc.waitFor(/admin on (http:\/\/127\.0\.0\.1:\d+)/);
  return { proc, url: url!, admin: admin! };
}

describe("pwasm run examples/add-header", () => {
  let upstream: Upstream;
  let run: { proc: CliProcess; url: string; admin: string };

  beforeAll(async () => {
    upstream = await startUpstream();
    run = await startRun([built("examples/add-header"), "--root-id", "add_header", "--config", "x-hello: world", "--upstream", upstream.url]);
  });

  afterAll(async () => {
    await run?.proc.stop();
    await upstream?.close();
  });

  it("is ready", async () => {
    const r = await request(`${run.admin}/ready`);
    expect(r.status).toBe(200);
    expect(r.body).toBe("LIVE\n");
  });

  it("delivers the plugin's header to a real client, after a real upstream answered", async () => {
    const r = await request(`${run.url}/hello?x=1`, { headers: { "user-agent": "pwasm-test" } });
    expect(r.status).toBe(200);
    expect(r.headers["x-hello"]).toBe("world");
    expect(r.headers["x-upstream"]).toBe("yes");
    expect(r.body).toBe("upstream saw GET /hello?x=1 ");
    const seen = upstream.seen.at(-1)!;
    expect(seen.path).toBe("/hello?x=1");
    expect(seen.headers["user-agent"]).toBe("pwasm-test");
    expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("streams request bodies to the upstream", async () => {
    const r = await request(`${run.url}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"id":42}' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('upstream saw POST /orders {"id":42}');
    expect(r.headers["x-hello"]).toBe("world");
  });

  it("shows the plugin's counter in /stats/prometheus", async () => {
    const before = upstream.seen.length;
    for (let i = 0; i < 3; i++) await request(`${run.url}/count`);
    expect(upstream.seen.length).toBe(before + 3);
    const prom = await request(`${run.admin}/stats/prometheus`);
    expect(prom.status).toBe(200);
    expect(prom.body).toContain("# TYPE add_header_requests_total counter\n");
    // Every request through the proxy in this file so far: 1 + 1 + 3.
    expect(prom.body).toContain("add_header_requests_total{} 5\n");
  });
});

describe("pwasm run with a trapping plugin", () => {
  let upstream: Upstream;
  let run: { proc: CliProcess; url: string; admin: string };

  beforeAll(async () => {
    upstream = await startUpstream();
    // A 1 ms reload backoff (Envoy's default is 1 s) so the next request gets a fresh VM at once.
    run = await startRun([join(import.meta.dirname, "..", "failure_policy", "fixtures", "trap"), "--upstream", upstream.url, "--reload-backoff", "1"]);
  });

  afterAll(async () => {
    await run?.proc.stop();
    await upstream?.close();
  });

  it("answers the trapping request with one 503 and serves the next request", async () => {
    const seenBefore = upstream.seen.length;
    const bad = await request(`${run.url}/`, { headers: { "x-trap": "1" } });
    expect(bad.status).toBe(503);
    expect(bad.body).toBe("");
    expect(upstream.seen.length).toBe(seenBefore);
    const good = await request(`${run.url}/`);
    expect(good.status).toBe(200);
    expect(good.headers["x-trap-checked"]).toBe("yes");
    expect(upstream.seen.length).toBe(seenBefore + 1);
    // Envoy's own line about the failed VM: error level, no `wasm log` plugin prefix.
    expect(run.proc.output()).toMatch(/\[error\]\[wasm\] Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/);
  });

  it("shuts down cleanly on Ctrl-C", async () => {
    expect(await run.proc.stop()).toBe(0);
    expect(run.proc.output()).toContain("pwasm: shutting down");
  });
});
