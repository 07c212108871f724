// The request inspector's live feed on the admin listener (no browser): it records only while a
// page's feed is open, sends each request as it completes, and refuses what it must not serve.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProxy, type DevProxy } from "../../host/proxy/dev_proxy.js";
import type { ExchangeJson } from "../../host/inspect/recorder.js";
import { httpRequest } from "../helpers/http.js";
import { buildFixture } from "./fixture.js";

interface Feed {
  events: Array<{ event: string; data: unknown }>;
  next(event: string, accept?: (data: never) => boolean): Promise<unknown>;
  close(): void;
}

// Opens /inspector/events and parses its Server-Sent Events.
function openFeed(adminUrl: string): Promise<Feed> {
  return new Promise((resolve, reject) => {
    const events: Feed["events"] = [];
    const waiters: Array<() => void> = [];
    const req = http.get(`${adminUrl}/inspector/events`, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`feed answered ${res.statusCode}`));
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
        let end: number;
        while ((end = text.indexOf("\n\n")) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
        for (const w of waiters.splice(0)) w();
      });
      resolve({
        events,
        next(event, accept = () => true) {
          return new Promise((res2, rej2) => {
            const timer = setTimeout(() => rej2(new Error(`no ${event} event`)), 10_000);
            const look = () => {
              const found = events.find((e) => e.event === event && accept(e.data as never));
              if (found) {
                clearTimeout(timer);
                return res2(found.data);
              }
              waiters.push(look);
            };
            look();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
  });
}

const done = (path: string) => (x: ExchangeJson) => x.path === path && x.done;

describe("request inspector feed", () => {
  let proxy: DevProxy;

  beforeAll(async () => {
    proxy = await startDevProxy({ plugins: [{ wasm: await buildFixture("release"), rootId: "inspected", name: "inspected" }], port: 0, admin: { port: 0 } });
  });

  afterAll(async () => {
    await proxy?.close();
  });

  it("records only while a page is open, and sends each request live", async () => {
    // No page open: the request is not recorded.
    expect((await httpRequest(`${proxy.url}/before`)).status).toBe(200);
    const feed = await openFeed(proxy.adminUrl!);
    const snapshot = (await feed.next("snapshot")) as { plugins: string[]; exchanges: ExchangeJson[] };
    expect(snapshot).toMatchObject({ plugins: ["inspected"], exchanges: [] });

    expect((await httpRequest(`${proxy.url}/during`)).status).toBe(200);
    const x = (await feed.next("exchange", done("/during"))) as ExchangeJson;
    expect(x.status).toBe(200);
    const kinds = x.events.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["headers", "log", "metric", "local_reply"]));
    expect(x.events.find((e) => e.kind === "log")).toMatchObject({ at: 0, level: "info", message: "inspected /during (7 characters)" });
    expect(x.events.find((e) => e.kind === "metric")).toMatchObject({ name: "inspected.requests_total", type: "counter", after: 2 });
    const out = x.events.find((e) => e.kind === "headers" && e.side === "request" && e.at === 0) as { headers: Array<[string, string]> };
    expect(out.headers).toContainEqual(["x-inspected", "request"]);

    // The last page gone, recording stops; a page opened later sees what was recorded before.
    feed.close();
    // Recording stops once the proxy saw the feed close (it then lets go of the log tap).
    await expect.poll(() => proxy.host.logs.tap).toBeNull();
    expect((await httpRequest(`${proxy.url}/after`)).status).toBe(200);
    const again = await openFeed(proxy.adminUrl!);
    const later = (await again.next("snapshot")) as { exchanges: ExchangeJson[] };
    expect(later.exchanges.map((e) => e.path)).toEqual(["/during"]);
    again.close();
  });

  it("answers only loopback-style host names, GET and HEAD", async () => {
    const rebound = await httpRequest(`${proxy.adminUrl}/inspector`, { headers: { host: "attacker.example:9901" } });
    expect(rebound.status).toBe(403);
    expect((await httpRequest(`${proxy.adminUrl}/inspector`, { method: "POST" })).status).toBe(405);
    const page = await httpRequest(`${proxy.adminUrl}/inspector`, { headers: { host: "localhost" } });
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect((await httpRequest(`${proxy.adminUrl}/stats/prometheus`)).body).toContain("inspected_requests_total");
  });
});
