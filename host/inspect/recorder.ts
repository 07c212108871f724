// The dev proxy's request inspector: while at least one inspector page is open, every stream is
// recorded as it goes through each plugin — headers, bodies and trailers before and after every
// filter, local replies, callouts and their answers, the plugins' log lines, the metrics that
// changed, VM failures and reloads — and sent to the pages live (routes.ts). With no page open
// nothing is recorded: `live` is null and the proxy's hooks (tap.ts) see no tap.
//
// What happens in one synchronous turn of a stream (a chain event, a callout's answer) belongs to
// that stream: the recorder marks it current until the turn's microtasks run, so log lines and
// metric changes land on the request that caused them, even with several requests in flight.
import { performance } from "node:perf_hooks";
import { LOG_LEVEL_NAMES, LogLevel, MetricType } from "../abi/constants.js";
import type { Plugin } from "../plugin/plugin.js";
import type { HeaderMap } from "../values/header_map.js";
import type { LogEntry } from "../services/logs.js";
import type { MetricStore } from "../services/metrics.js";
import type { StreamInfo } from "../values/stream_info.js";
import type { LocalReply } from "../vm/contexts.js";
import type { CalloutTap, ChainTap } from "./tap.js";

/** Limits that keep the recording's memory bounded whatever the traffic. */
export interface RecorderLimits {
  /** Exchanges kept (oldest dropped first). Default 200. */
  exchanges?: number;
  /** Events kept per exchange. Default 400. */
  eventsPerExchange?: number;
  /** Body bytes kept per exchange, over all its chunks (the sizes are always counted). Default 16 KiB. */
  bodyBytesPerExchange?: number;
  /** Events outside any exchange kept (VM failures, reloads). Default 100. */
  globalEvents?: number;
}

type Pairs = Array<[string, string]>;

/** One thing that happened to an exchange (or to the proxy, for global events), as the page gets it. */
export type InspectorEvent = { t: number } & (
  | { kind: "headers" | "trailers"; side: "request" | "response"; at: number; end?: boolean; headers: Pairs }
  | { kind: "body"; side: "request" | "response"; at: number; end: boolean; size: number; text: string; truncated: boolean }
  | { kind: "local_reply"; at: number; status: number; details: string; body: string; headers: Pairs }
  | { kind: "callout"; id: number; at?: number; cluster: string; headers: Pairs; body: string }
  | { kind: "callout_answer"; id: number; ms: number; headers?: Pairs; body?: string; reset?: string }
  | { kind: "log"; at?: number; level: string; message: string; source: string }
  | { kind: "metric"; name: string; type: string; before: number; after: number }
  | { kind: "vm_failure"; at?: number; message: string }
  | { kind: "reload"; at?: number; message: string }
  | { kind: "reset"; details: string }
);

/** A request and its response as the page shows it. */
export interface ExchangeJson {
  id: number;
  /** Milliseconds since the epoch. */
  start: number;
  method: string;
  path: string;
  authority: string;
  /** Plugins in filter order (name, else root id, else "plugin N"). */
  plugins: string[];
  done: boolean;
  status?: number;
  details?: string;
  durationMs?: number;
  events: InspectorEvent[];
  /** Events were dropped past the limit. */
  truncated?: boolean;
}

/** What an exchange's plugin is called on the page. */
export function pluginLabel(p: Plugin, i: number): string {
  return p.config.name || p.config.rootId || `plugin ${i + 1}`;
}

// Header and body bytes are byte strings (latin1) in the host; the page shows them as UTF-8.
const text = (s: string): string => Buffer.from(s, "latin1").toString("utf8");
const pairs = (h: HeaderMap): Pairs => h.entries().map(([k, v]) => [text(k), text(v)]);

const METRIC_TYPES: Record<number, string> = { [MetricType.Counter]: "counter", [MetricType.Gauge]: "gauge", [MetricType.Histogram]: "histogram" };

/** One exchange being recorded: the tap the proxy's chain calls. */
class ExchangeRecorder implements ChainTap {
  readonly json: ExchangeJson;
  private readonly t0 = performance.now();
  private bodyBudget: number;
  private nextCallout = 1;

  constructor(readonly recorder: LiveRecorder, readonly plugins: Plugin[], init: { id: number; method: string; path: string; authority: string }) {
    this.json = { ...init, start: Date.now(), plugins: plugins.map(pluginLabel), done: false, events: [] };
    this.bodyBudget = recorder.limits.bodyBytesPerExchange;
  }

  push(e: Record<string, unknown> & { kind: string }): void {
    if (this.json.events.length >= this.recorder.limits.eventsPerExchange) {
      this.json.truncated = true;
      return;
    }
    this.json.events.push({ t: Math.round((performance.now() - this.t0) * 1000) / 1000, ...e } as InspectorEvent);
  }

  private body(side: "request" | "response", at: number, data: Buffer, end: boolean): void {
    const keep = Math.max(0, Math.min(data.length, this.bodyBudget));
    this.bodyBudget -= keep;
    this.push({ kind: "body", side, at, end, size: data.length, text: data.subarray(0, keep).toString("utf8"), truncated: keep < data.length });
  }

  requestHeaders(at: number, headers: HeaderMap, end: boolean): void {
    this.enter();
    this.push({ kind: "headers", side: "request", at, end, headers: pairs(headers) });
  }

  requestData(at: number, data: Buffer, end: boolean): void {
    this.enter();
    this.body("request", at, data, end);
  }

  requestTrailers(at: number, trailers: HeaderMap): void {
    this.enter();
    this.push({ kind: "trailers", side: "request", at, headers: pairs(trailers) });
  }

  responseHeaders(at: number, headers: HeaderMap, end: boolean, localReply?: LocalReply, routerDetails?: string): void {
    this.enter();
    if (localReply && !this.json.events.some((e) => e.kind === "local_reply" && e.at === at)) {
      this.push({
        kind: "local_reply", at, status: Number(headers.get(":status") ?? localReply.statusCode), details: localReply.details,
        body: localReply.body.toString("utf8"), headers: localReply.headers.map(([k, v]) => [text(k), text(v)]),
      });
    } else if (routerDetails && at === this.plugins.length) {
      // The router answered itself (Envoy's local reply): a direct response or an upstream failure.
      this.push({ kind: "local_reply", at, status: Number(headers.get(":status") ?? 0), details: routerDetails, body: "", headers: [] });
    }
    this.push({ kind: "headers", side: "response", at, end, headers: pairs(headers) });
  }

  responseData(at: number, data: Buffer, end: boolean): void {
    this.enter();
    this.body("response", at, data, end);
  }

  responseTrailers(at: number, trailers: HeaderMap): void {
    this.enter();
    this.push({ kind: "trailers", side: "response", at, headers: pairs(trailers) });
  }

  reset(details: string): void {
    this.enter();
    this.push({ kind: "reset", details });
  }

  reloaded(at: number): void {
    this.push({ kind: "reload", at, message: "a fresh VM replaced the failed one (FAIL_RELOAD)" });
  }

  enter(): void {
    this.recorder.enter(this);
  }

  complete(info: StreamInfo): void {
    this.recorder.flush();
    const j = this.json;
    j.done = true;
    j.status = info.responseCode || undefined;
    j.details = info.responseCodeDetails || undefined;
    j.durationMs = Math.round((performance.now() - this.t0) * 1000) / 1000;
    this.recorder.publish(this);
  }

  /** The filter index whose plugin wrote `entry`, if it is one of this exchange's. */
  pluginOf(entry: Pick<LogEntry, "plugin" | "rootId" | "vmId">): number | undefined {
    const i = this.plugins.findIndex((p) => p.config.rootId === entry.rootId && p.config.vmId === entry.vmId && (entry.plugin === "" || p.config.name === entry.plugin));
    return i < 0 ? undefined : i;
  }

  callout(cluster: string, headers: HeaderMap, body: Buffer): (outcome: { headers: HeaderMap; body: Buffer } | { reset: string }) => void {
    const id = this.nextCallout++;
    const sent = performance.now();
    this.push({ kind: "callout", id, cluster, headers: pairs(headers), body: body.toString("utf8") });
    return (outcome) => {
      const ms = Math.round((performance.now() - sent) * 1000) / 1000;
      if ("reset" in outcome) this.push({ kind: "callout_answer", id, ms, reset: outcome.reset });
      else this.push({ kind: "callout_answer", id, ms, headers: pairs(outcome.headers), body: outcome.body.toString("utf8") });
      // The plugin's answer callback runs next, for this exchange.
      this.enter();
    };
  }
}

/** Receives what the recorder publishes (the page's live feed). */
export interface RecorderListener {
  exchange(json: ExchangeJson): void;
  global(event: InspectorEvent): void;
}

/** The recording while pages are open. */
export class LiveRecorder implements CalloutTap {
  readonly limits: Required<RecorderLimits>;
  /** Recent exchanges, oldest first (in flight ones included). */
  readonly exchanges: ExchangeRecorder[] = [];
  readonly globalEvents: InspectorEvent[] = [];
  private current: ExchangeRecorder | undefined;
  private metricsBefore: Map<string, number> | undefined;
  private nextId = 1;
  private readonly flushSoon = () => this.flush();

  constructor(private readonly metrics: MetricStore, private readonly listener: RecorderListener, limits: RecorderLimits = {}) {
    this.limits = {
      exchanges: limits.exchanges ?? 200,
      eventsPerExchange: limits.eventsPerExchange ?? 400,
      bodyBytesPerExchange: limits.bodyBytesPerExchange ?? 16 * 1024,
      globalEvents: limits.globalEvents ?? 100,
    };
  }

  /** A stream starts through `plugins`: its tap. */
  begin(plugins: Plugin[], request: { method: string; path: string; authority: string }): ExchangeRecorder {
    const rec = new ExchangeRecorder(this, plugins, { id: this.nextId++, ...request });
    this.exchanges.push(rec);
    if (this.exchanges.length > this.limits.exchanges) this.exchanges.shift();
    this.publish(rec);
    return rec;
  }

  /** `rec`'s synchronous turn starts (see the file comment). */
  enter(rec: ExchangeRecorder): void {
    if (this.current === rec) return;
    if (this.current) this.flush();
    this.current = rec;
    this.metricsBefore = this.metricValues();
    queueMicrotask(this.flushSoon);
  }

  /** Ends the current turn: the metrics it changed go to its exchange. */
  flush(): void {
    const rec = this.current;
    const before = this.metricsBefore;
    this.current = undefined;
    this.metricsBefore = undefined;
    if (!rec || !before) return;
    for (const m of this.metrics.all()) {
      const key = `${m.type}:${m.name}`;
      const now = m.type === MetricType.Histogram ? m.count : m.value;
      const was = before.get(key) ?? 0;
      if (now !== was) rec.push({ kind: "metric", name: m.name, type: METRIC_TYPES[m.type] ?? String(m.type), before: was, after: now });
    }
  }

  private metricValues(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.metrics.all()) out.set(`${m.type}:${m.name}`, m.type === MetricType.Histogram ? m.count : m.value);
    return out;
  }

  /** A log line (LogSink's tap): on the exchange whose turn it is, or a global event for a VM failure. */
  log(entry: LogEntry): void {
    const rec = this.current;
    const message = entry.message.length > 4096 ? `${entry.message.slice(0, 4096)}…` : entry.message;
    const source = entry.source ?? "plugin";
    const failure = source === "host" && entry.level >= LogLevel.Error;
    if (rec) {
      const at = rec.pluginOf(entry);
      rec.push({ kind: failure ? "vm_failure" : "log", at, level: LOG_LEVEL_NAMES[entry.level] ?? String(entry.level), message, source });
    }
    if (failure || (!rec && source !== "plugin")) this.global(failure ? { kind: "vm_failure", message } : { kind: "log", level: LOG_LEVEL_NAMES[entry.level] ?? "", message, source });
  }

  /** Something that happened to the proxy rather than to one request (a VM failure, a reload). */
  global(e: Record<string, unknown> & { kind: string }): void {
    const event = { t: Date.now(), ...e } as InspectorEvent;
    this.globalEvents.push(event);
    if (this.globalEvents.length > this.limits.globalEvents) this.globalEvents.shift();
    this.listener.global(event);
  }

  send(cluster: string, headers: HeaderMap, body: Buffer) {
    return this.current?.callout(cluster, headers, body);
  }

  /** @internal An exchange started or ended. */
  publish(rec: ExchangeRecorder): void {
    this.listener.exchange(rec.json);
  }
}
