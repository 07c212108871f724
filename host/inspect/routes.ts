// The request inspector on the dev proxy's admin listener: `/inspector` (the page), its script and
// style, and `/inspector/events`, a Server-Sent Events feed. Recording (recorder.ts) runs only
// while at least one feed is open; the last one closing stops it.
import type http from "node:http";
import type { HostServices } from "../services/host_services.js";
import type { Plugin } from "../plugin/plugin.js";
import { INSPECTOR_CSS, INSPECTOR_HTML, INSPECTOR_JS } from "./page.js";
import { LiveRecorder, pluginLabel, type ExchangeJson, type InspectorEvent, type RecorderLimits } from "./recorder.js";
import type { CalloutTap } from "./tap.js";

/** Feeds open at once; more are refused (each one costs a recording's fan-out). */
const MAX_FEEDS = 16;
/** A feed whose client reads slower than this much buffered output is closed. */
const MAX_FEED_BACKLOG = 8 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

// A page reached through a DNS name other than localhost could be a rebinding attack from a web
// page: the inspector shows headers (tokens, cookies), so it answers only loopback-style names and
// IP literals.
function hostAllowed(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  return name === "localhost" || /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || /^\[[0-9a-fA-F:.]+\]$/.test(name);
}

/** The request inspector of one dev proxy. */
export class RequestInspector {
  /** The recording, while a page is open; null otherwise (the proxy's hooks check only this). */
  live: LiveRecorder | null = null;
  // The last recording, kept while no page is open so a reloaded page shows it again.
  private recorder: LiveRecorder | undefined;
  private readonly feeds = new Set<http.ServerResponse>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: Pick<HostServices, "logs" | "metrics">,
    private readonly callouts: { tap: CalloutTap | null } | undefined,
    private readonly plugins: () => Plugin[],
    private readonly limits: RecorderLimits = {},
  ) {}

  /** Answers `req` when it is an inspector route; false otherwise. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/inspector" && !path?.startsWith("/inspector/")) return false;
    if (!hostAllowed(req.headers.host)) {
      res.writeHead(403, { "content-type": "text/plain" }).end("the inspector answers only localhost or an IP address\n");
      return true;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return true;
    }
    const page = { "content-security-policy": "default-src 'self'; img-src 'self' data:", "x-content-type-options": "nosniff", "cache-control": "no-store" };
    switch (path) {
      case "/inspector":
      case "/inspector/":
        res.writeHead(200, { ...page, "content-type": "text/html; charset=utf-8" }).end(INSPECTOR_HTML);
        return true;
      case "/inspector/app.js":
        res.writeHead(200, { ...page, "content-type": "text/javascript; charset=utf-8" }).end(INSPECTOR_JS);
        return true;
      case "/inspector/app.css":
        res.writeHead(200, { ...page, "content-type": "text/css; charset=utf-8" }).end(INSPECTOR_CSS);
        return true;
      case "/inspector/events":
        this.openFeed(req, res);
        return true;
      default:
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return true;
    }
  }

  /** The chain changed (watch mode swapped a plugin in): pages show it as a reload. */
  pluginsReplaced(next: Plugin[], previous: Plugin[]): void {
    const live = this.live;
    if (!live) return;
    next.forEach((p, i) => {
      if (previous[i] !== p) live.global({ kind: "reload", at: i, message: `${pluginLabel(p, i)} reloaded: new requests use the new VM` });
    });
  }

  /** Closes every feed (the proxy is stopping). */
  close(): void {
    for (const res of this.feeds) res.end();
    this.feeds.clear();
    this.stop();
  }

  private openFeed(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.feeds.size >= MAX_FEEDS) {
      res.writeHead(503, { "content-type": "text/plain" }).end(`the inspector serves at most ${MAX_FEEDS} pages at once\n`);
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const live = this.start();
    this.feeds.add(res);
    const snapshot = {
      plugins: this.plugins().map(pluginLabel),
      exchanges: live.exchanges.map((e) => e.json),
      global: live.globalEvents,
    };
    res.write(`retry: 1000\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    const done = () => {
      if (!this.feeds.delete(res)) return;
      if (this.feeds.size === 0) this.stop();
    };
    res.on("close", done);
    req.on("close", done);
  }

  private start(): LiveRecorder {
    if (this.live) return this.live;
    const live = this.recorder ?? new LiveRecorder(this.host.metrics, {
      exchange: (json: ExchangeJson) => this.broadcast("exchange", json),
      global: (event: InspectorEvent) => this.broadcast("global", event),
    }, this.limits);
    this.recorder = live;
    this.live = live;
    this.host.logs.tap = (entry) => live.log(entry);
    if (this.callouts) this.callouts.tap = live;
    this.heartbeat = setInterval(() => this.send(": keep-alive\n\n"), HEARTBEAT_MS);
    this.heartbeat.unref();
    return live;
  }

  // No page left: new requests are not recorded (what was recorded stays for the next page).
  private stop(): void {
    if (!this.live) return;
    this.live.flush();
    this.live = null;
    this.host.logs.tap = null;
    if (this.callouts) this.callouts.tap = null;
    clearInterval(this.heartbeat);
  }

  private broadcast(event: string, data: unknown): void {
    this.send(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private send(chunk: string): void {
    for (const res of this.feeds) {
      // A page that does not keep up is dropped rather than buffered without bound.
      if (res.writableLength > MAX_FEED_BACKLOG) {
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }
}
