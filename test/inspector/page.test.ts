// The request inspector page, driven in Debian's Chromium (headless, through playwright-core):
// requests sent through the dev proxy appear live with what each plugin did to them.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startDevProxy, type DevProxy } from "../../host/proxy/dev_proxy.js";
import { httpRequest } from "../helpers/http.js";
import { built } from "../helpers/paths.js";
import { skipWithout } from "../helpers/tools.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";
import { buildFixture } from "./fixture.js";

const skip = skipWithout(["chromium"], "test/inspector/page.test.ts");

// A fresh profile, nothing fetched from the network, no sandbox (CI runs as root).
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

describe.skipIf(skip)("request inspector page (Chromium)", () => {
  let upstream: Upstream;
  let proxy: DevProxy;
  let browser: Browser;
  let page: Page;
  let profiles: string;

  beforeAll(async () => {
    const fixture = await buildFixture("release");
    upstream = await startUpstream();
    proxy = await startDevProxy({
      plugins: [
        { wasm: fixture, name: "inspected", rootId: "inspected" },
        { wasm: built("examples/add-header"), name: "add-header", rootId: "add_header", configuration: "x-hello: world" },
      ],
      port: 0, admin: { port: 0 }, upstream: upstream.url, logLevel: "info",
    });
    const { chromium } = await import("playwright-core");
    profiles = mkdtempSync(join(tmpdir(), "pwasm-chromium-"));
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS, env: { ...process.env, HOME: profiles } });
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(`${proxy.adminUrl}/inspector`);
    // The page's live feed is open: from now on requests are recorded.
    await page.getByText("live", { exact: true }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await upstream?.close();
    if (profiles) rmSync(profiles, { recursive: true, force: true });
  });

  it("shows each request live: the plugins' headers, a local reply as such, a log line", async () => {
    const ok = await httpRequest(`${proxy.url}/orders/7`);
    expect(ok.status).toBe(200);
    expect(ok.headers["x-inspected"]).toBe("yes");
    expect(ok.headers["x-hello"]).toBe("world");
    const denied = await httpRequest(`${proxy.url}/deny`);
    expect(denied.status).toBe(403);
    const posted = await httpRequest(`${proxy.url}/orders`, { method: "POST", body: '{"id":8}', headers: { "content-type": "application/json" } });
    expect(posted.status).toBe(200);

    const okRow = page.locator("tr.row[data-path='/orders/7']");
    await okRow.waitFor();
    await expect.poll(() => okRow.getAttribute("data-status")).toBe("200");
    const deniedRow = page.locator("tr.row[data-path='/deny']");
    await deniedRow.waitFor();
    expect(await deniedRow.textContent()).toContain("local reply 403 · inspected (denied_by_inspected)");

    // The allowed request: what each plugin added, and the plugin's log line.
    await okRow.click();
    const detail = page.locator("#detail");
    await detail.getByText("GET /orders/7 → 200").waitFor();
    const inspected = detail.locator(".plugin", { hasText: "1 · inspected" });
    // Added headers are marked as added (the request's x-inspected, the response's x-inspected).
    expect(await inspected.locator("tr.add td.k").allTextContents()).toEqual(["x-inspected", "x-inspected"]);
    expect(await inspected.locator("ul.logs").textContent()).toContain("inspected /orders/7 (9 characters)");
    const addHeader = detail.locator(".plugin", { hasText: "2 · add-header" });
    expect(await addHeader.locator("tr.add").textContent()).toContain("x-hello");
    expect(await detail.locator("table.hdrs").last().textContent()).toContain("add_header.requests_total");

    // The local reply: shown as a reply of the plugin, with its body; the upstream never saw it.
    await deniedRow.click();
    await detail.getByText("Local reply 403 from plugin inspected").waitFor();
    expect(await detail.locator(".box").first().textContent()).toContain("denied by the inspected plugin");
    expect(await detail.locator(".plugin", { hasText: "2 · add-header" }).textContent()).toContain("never reached this plugin");
    expect(upstream.seen.map((r) => r.path)).toEqual(["/orders/7", "/orders"]);

    // A body: what the client sent, as each plugin received it.
    await page.locator("tr.row[data-path='/orders']").click();
    await detail.getByText("POST /orders → 200").waitFor();
    expect(await detail.locator(".plugin", { hasText: "1 · inspected" }).textContent()).toContain('Request body in (8 bytes){"id":8}');

    // Filters: by status and by plugin.
    await page.fill("#f-status", "4xx");
    await expect.poll(() => page.locator("tr.row").count()).toBe(1);
    await page.fill("#f-status", "");
    await page.selectOption("#f-plugin", "add-header");
    await expect.poll(() => page.locator("tr.row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-path")))).toEqual(["/orders", "/orders/7"]);
    await page.selectOption("#f-plugin", "");

    const shot = process.env.PWASM_INSPECTOR_SCREENSHOT ?? join(profiles, "inspector.png");
    await okRow.click();
    await page.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
  });
});
