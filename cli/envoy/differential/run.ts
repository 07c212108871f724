// Runs one scenario on one target: starts the servers and the proxies (last first, so each knows
// where to forward), sends the steps, and collects what a plugin author can observe — responses,
// what the upstream and the callout targets received, log lines per step, plugin metrics.
import type { EnvoyBootstrapOptions } from "../bootstrap.js";
import { sendRequest } from "../../http_client.js";
import { tcpExchange } from "./client.js";
import { normalizeLogLine, portNormalizer, type Normalizer } from "./compare.js";
import type { ProxyObservation, Scenario, ScenarioObservation, StepObservation } from "./scenario.js";
import { startCalloutTarget, startUpstream, type TestServer } from "./servers.js";
import type { ProxyUnderTest, ScenarioTarget } from "./targets.js";

/** One run's observation and the normalizer that made its text comparable. */
export interface ScenarioRun {
  observation: ScenarioObservation;
  normalize: Normalizer;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Plugin metric lines of a Prometheus page: Envoy's own (envoy_*) left out, sorted. */
export function pluginPrometheusLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !/^(# (TYPE|HELP) )?envoy_/.test(l)).sort();
}

// Raw log lines of one proxy, as they arrive; normalized when read.
class LogCapture {
  readonly raw: string[] = [];
  /** Time the last line arrived. */
  last = 0;
  readonly add = (line: string) => {
    this.raw.push(line);
    this.last = Date.now();
  };
}

// Waits until no log line arrived for `quietMs` (bounded by 10 × quietMs): Envoy logs on_log
// after the client already has its response.
async function settle(logs: LogCapture[], quietMs: number): Promise<void> {
  const deadline = Date.now() + quietMs * 10;
  await sleep(quietMs);
  while (Date.now() < deadline && logs.some((l) => Date.now() - l.last < quietMs)) await sleep(quietMs / 3);
}

async function get(url: string): Promise<string> {
  const u = new URL(url);
  const r = await sendRequest(u.origin, { path: `${u.pathname}${u.search}` }, 10_000);
  return r.body;
}

// Envoy shows histogram samples only once it has merged them (its stats flush, every 5 s by
// default): a scenario that expects lines reads the page until they are all there, for at most
// 15 s, and then compares whatever the page shows.
async function readPrometheus(adminUrl: string, normalize: Normalizer, expected: string[]): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const lines = pluginPrometheusLines(await get(`${adminUrl}/stats/prometheus`)).map(normalize);
    if (expected.every((l) => lines.includes(l)) || Date.now() > deadline) return lines;
    await sleep(250);
  }
}

/** Runs `scenario` on `target`. */
export async function runScenario(target: ScenarioTarget, scenario: Scenario): Promise<ScenarioRun> {
  const servers: TestServer[] = [];
  const proxies: ProxyUnderTest[] = [];
  const captures = scenario.proxies.map(() => new LogCapture());
  try {
    const upstreamKind = scenario.upstream === undefined ? "echo" : scenario.upstream;
    const upstream = upstreamKind ? await startUpstream(upstreamKind) : undefined;
    if (upstream) servers.push(upstream);
    const clusters: Record<string, TestServer> = {};
    for (const [name, kind] of Object.entries(scenario.clusters ?? {})) {
      clusters[name] = await startCalloutTarget(kind);
      servers.push(clusters[name]);
    }
    const ports: Record<number, string> = {};
    if (upstream) ports[upstream.port] = "upstream";
    for (const [name, s] of Object.entries(clusters)) ports[s.port] = `cluster ${name}`;

    // Last proxy first: each forwards to the one after it.
    let next = upstream?.url;
    const started: ProxyUnderTest[] = [];
    for (let i = scenario.proxies.length - 1; i >= 0; i--) {
      const p = scenario.proxies[i]!;
      const options: EnvoyBootstrapOptions = {
        ...p.settings,
        plugins: p.plugins,
        host: "127.0.0.1", port: 0, admin: { host: "127.0.0.1", port: 0 },
        upstream: next,
        directResponse: next ? undefined : scenario.directResponse,
        clusters: Object.fromEntries(Object.entries(clusters).map(([k, s]) => [k, s.url])),
      };
      const proxy = await target.start(options, captures[i]!.add, p.envoyConfig);
      started.unshift(proxy);
      proxies.push(proxy);
      const n = scenario.proxies.length > 1 ? String(i + 1) : "";
      ports[Number(new URL(proxy.url).port)] = `proxy${n}`;
      ports[Number(new URL(proxy.adminUrl).port)] = `admin${n}`;
      next = proxy.url;
    }
    const normalize = portNormalizer(ports, scenario.normalize ?? []);
    const quiet = scenario.logSettleMs ?? 150;
    await settle(captures, quiet);
    const logMarks = captures.map((c) => c.raw.length);
    const stepMarks: number[][] = [];

    const steps: StepObservation[] = [];
    for (const step of scenario.steps) {
      const before = captures.map((c) => c.raw.length);
      if (step.kind === "wait") {
        await sleep(step.ms);
        steps.push({ name: step.name, kind: "wait" });
      } else if (step.kind === "tcp") {
        if (step.afterMs) await sleep(step.afterMs);
        const upBefore = upstream?.tcpReceived.length ?? 0;
        const r = await tcpExchange(started[0]!.url, step);
        await settle(captures, quiet);
        steps.push({ name: step.name, kind: "tcp", received: r.received, ended: r.ended, upstreamReceived: upstream?.tcpReceived.slice(upBefore).join("") ?? "" });
      } else {
        if (step.afterMs) await sleep(step.afterMs);
        const upBefore = upstream?.received.length ?? 0;
        const calloutsBefore = Object.fromEntries(Object.entries(clusters).map(([k, s]) => [k, s.received.length]));
        const r = await sendRequest(started[0]!.url, step.request, step.timeoutMs);
        await settle(captures, quiet);
        steps.push({
          name: step.name, kind: "http", status: r.status, headers: r.headers, body: r.body, trailers: r.trailers,
          ...(r.error ? { error: r.error } : {}),
          upstream: upstream ? upstream.received.slice(upBefore) : [],
          callouts: Object.fromEntries(Object.entries(clusters).map(([k, s]) => [k, s.received.slice(calloutsBefore[k])])),
        });
      }
      stepMarks.push(before);
    }
    const ends = captures.map((c) => c.raw.length);
    const observed: ProxyObservation[] = [];
    for (let i = 0; i < started.length; i++) {
      const lines = (from: number, to: number) => captures[i]!.raw.slice(from, to).map((l) => normalizeLogLine(l, normalize)).filter((l): l is string => l !== undefined);
      const stepLogs = stepMarks.map((marks, s) => lines(marks[i]!, stepMarks[s + 1]?.[i] ?? ends[i]!));
      const prometheus = await readPrometheus(started[i]!.adminUrl, normalize, scenario.prometheus?.[i] ?? []);
      observed.push({ startupLogs: lines(0, logMarks[i]!), stepLogs, prometheus });
    }
    return { observation: { target: target.name, steps, proxies: observed }, normalize };
  } finally {
    for (const p of proxies) await p.close().catch(() => undefined);
    for (const s of servers) await s.close().catch(() => undefined);
  }
}
