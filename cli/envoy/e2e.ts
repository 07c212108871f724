// The Envoy end-to-end mode: HTTP scenario checks (requests and the response facts they must
// produce) run against the embedded dev proxy and against Envoy in a container with the same
// settings, and every difference between the two is reported — status, headers, bodies, what the
// upstream received, Prometheus lines of plugin metrics. Tests select the mode with
// PWASM_E2E=envoy (`pwasm test --envoy` sets it).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startDevProxy } from "../../host/proxy/dev_proxy.js";
import type { EnvoyBootstrapOptions, EnvoyPlugin } from "./bootstrap.js";
import { startEnvoyContainer } from "./container.js";
import type { ContainerEngine } from "./engine.js";

/** The environment variable that selects the end-to-end target. */
export const E2E_ENV = "PWASM_E2E";

/** "envoy" when PWASM_E2E=envoy (checks run against Envoy too), else "embedded". */
export function e2eMode(env: NodeJS.ProcessEnv = process.env): "embedded" | "envoy" {
  return env[E2E_ENV]?.trim().toLowerCase() === "envoy" ? "envoy" : "embedded";
}

/** One request and the facts its response must show. */
export interface HttpCheck {
  name: string;
  /** Wait this long before sending (e.g. past a FAIL_RELOAD backoff). */
  afterMs?: number;
  request: { method?: string; path?: string; headers?: Record<string, string>; body?: string };
  expect?: {
    status?: number;
    /** Response headers: a value, or null for "absent". */
    headers?: Record<string, string | null>;
    body?: string;
    /** Whether the request reached the upstream. */
    reachedUpstream?: boolean;
    /** Headers the upstream received: a value, or null for "absent". */
    upstreamHeaders?: Record<string, string | null>;
  };
}

/** Plugins and settings both proxies get, and the checks to run in order. */
export interface ProxyScenario {
  name: string;
  plugins: EnvoyPlugin[];
  /** Start an echo upstream (its reply: 200, `x-upstream: yes`, "upstream saw <method> <path> <body>"). */
  upstream?: boolean;
  directResponse?: { status: number; body?: string };
  /** More settings (properties, node, …); addresses are chosen by the runner. */
  proxy?: Omit<Partial<EnvoyBootstrapOptions>, "plugins" | "host" | "port" | "admin" | "upstream" | "directResponse">;
  checks: HttpCheck[];
  /** Lines /stats/prometheus must show after the checks ran. */
  prometheus?: string[];
}

/** A running proxy under test. */
export interface ProxyUnderTest {
  url: string;
  adminUrl: string;
  close(): Promise<void>;
}

/** Starts a proxy (listener and admin on 127.0.0.1, port 0) with the given settings. */
export type ProxyLauncher = (options: EnvoyBootstrapOptions) => Promise<ProxyUnderTest>;

/** What one check saw. Headers are normalized (see IGNORED_*). */
export interface Observed {
  status: number;
  headers: Record<string, string>;
  body: string;
  upstream?: { method: string; path: string; headers: Record<string, string>; body: string };
}

/** What one scenario saw on one target. */
export interface ScenarioRun {
  target: string;
  checks: Array<{ name: string; observed: Observed }>;
  /** Prometheus lines of plugin-defined metrics (Envoy's own envoy_* lines left out). */
  prometheus: string[];
}

// Headers that name the proxy or the transport rather than the plugin's behaviour.
const IGNORED_RESPONSE = /^(date|server|connection|keep-alive|transfer-encoding|content-length|x-envoy-.*)$/;
const IGNORED_UPSTREAM = /^(host|connection|keep-alive|transfer-encoding|content-length|x-envoy-.*)$/;

function normalizeHeaders(h: http.IncomingHttpHeaders, ignored: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || ignored.test(k)) continue;
    // Generated per request: compare presence, not value.
    out[k] = k === "x-request-id" ? "<generated>" : Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

interface EchoUpstream {
  url: string;
  seen: NonNullable<Observed["upstream"]>[];
  close(): Promise<void>;
}

async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: EchoUpstream["seen"] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? "", path: req.url ?? "", headers: normalizeHeaders(req.headers, IGNORED_UPSTREAM), body });
      res.writeHead(200, { "content-type": "text/plain", "x-upstream": "yes" }).end(`upstream saw ${req.method} ${req.url} ${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

function send(base: string, r: HttpCheck["request"]): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(r.path ?? "/", base), { method: r.method ?? "GET", headers: r.headers, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no response within 15 s to ${r.method ?? "GET"} ${r.path ?? "/"}`)));
    req.on("error", reject);
    req.end(r.body);
  });
}

async function fetchText(url: string): Promise<string> {
  const r = await send(url, { path: "" });
  return r.body;
}

/** Plugin metric lines of a Prometheus page: Envoy's own (envoy_*) left out, order-independent. */
export function pluginPrometheusLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !/^(# (TYPE|HELP) )?envoy_/.test(l)).sort();
}

/** Runs a scenario's checks against one target. */
export async function runScenario(target: string, launch: ProxyLauncher, scenario: ProxyScenario): Promise<ScenarioRun> {
  const upstream = scenario.upstream ? await startEchoUpstream() : undefined;
  let proxy: ProxyUnderTest | undefined;
  try {
    proxy = await launch({
      ...scenario.proxy,
      plugins: scenario.plugins,
      host: "127.0.0.1", port: 0, admin: { host: "127.0.0.1", port: 0 },
      upstream: upstream?.url,
      directResponse: scenario.directResponse,
    });
    const checks: ScenarioRun["checks"] = [];
    for (const check of scenario.checks) {
      if (check.afterMs) await new Promise((r) => setTimeout(r, check.afterMs));
      const before = upstream?.seen.length ?? 0;
      const r = await send(proxy.url, check.request);
      checks.push({
        name: check.name,
        observed: {
          status: r.status,
          headers: normalizeHeaders(r.headers, IGNORED_RESPONSE),
          body: r.body,
          upstream: upstream && upstream.seen.length > before ? upstream.seen[before] : undefined,
        },
      });
    }
    const prometheus = pluginPrometheusLines(await fetchText(`${proxy.adminUrl}/stats/prometheus`));
    return { target, checks, prometheus };
  } finally {
    await proxy?.close();
    await upstream?.close();
  }
}

/** Where a run misses the scenario's expected facts (empty when it meets them all). */
export function expectationFailures(run: ScenarioRun, scenario: ProxyScenario): string[] {
  const out: string[] = [];
  scenario.checks.forEach((check, i) => {
    const o = run.checks[i]?.observed;
    const e = check.expect;
    if (!o || !e) return;
    const at = `${run.target}: ${scenario.name} / ${check.name}`;
    if (e.status !== undefined && o.status !== e.status) out.push(`${at}: status ${o.status}, expected ${e.status}`);
    for (const [k, v] of Object.entries(e.headers ?? {})) {
      const got = o.headers[k.toLowerCase()];
      if ((got ?? null) !== v) out.push(`${at}: response header ${k} is ${got === undefined ? "absent" : JSON.stringify(got)}, expected ${v === null ? "absent" : JSON.stringify(v)}`);
    }
    if (e.body !== undefined && o.body !== e.body) out.push(`${at}: body ${JSON.stringify(o.body)}, expected ${JSON.stringify(e.body)}`);
    if (e.reachedUpstream !== undefined && (o.upstream !== undefined) !== e.reachedUpstream) out.push(`${at}: the request ${o.upstream ? "reached" : "did not reach"} the upstream`);
    for (const [k, v] of Object.entries(e.upstreamHeaders ?? {})) {
      const got = o.upstream?.headers[k.toLowerCase()];
      if ((got ?? null) !== v) out.push(`${at}: upstream header ${k} is ${got === undefined ? "absent" : JSON.stringify(got)}, expected ${v === null ? "absent" : JSON.stringify(v)}`);
    }
  });
  for (const line of scenario.prometheus ?? []) {
    if (!run.prometheus.includes(line)) out.push(`${run.target}: ${scenario.name}: /stats/prometheus lacks ${JSON.stringify(line)}`);
  }
  return out;
}

function diffRecords(what: string, a: Record<string, string>, b: Record<string, string>, an: string, bn: string): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (a[k] === b[k]) continue;
    const show = (v: string | undefined) => (v === undefined ? "absent" : JSON.stringify(v));
    out.push(`${what} ${k}: ${an} ${show(a[k])}, ${bn} ${show(b[k])}`);
  }
  return out;
}

/** Every difference between two runs of one scenario, one line each (empty when they agree). */
export function compareRuns(a: ScenarioRun, b: ScenarioRun): string[] {
  const out: string[] = [];
  const n = Math.max(a.checks.length, b.checks.length);
  for (let i = 0; i < n; i++) {
    const x = a.checks[i]?.observed;
    const y = b.checks[i]?.observed;
    const name = a.checks[i]?.name ?? b.checks[i]?.name;
    if (!x || !y) {
      out.push(`${name}: ran only on ${x ? a.target : b.target}`);
      continue;
    }
    const lines: string[] = [];
    if (x.status !== y.status) lines.push(`status: ${a.target} ${x.status}, ${b.target} ${y.status}`);
    lines.push(...diffRecords("response header", x.headers, y.headers, a.target, b.target));
    if (x.body !== y.body) lines.push(`body: ${a.target} ${JSON.stringify(x.body)}, ${b.target} ${JSON.stringify(y.body)}`);
    if (!!x.upstream !== !!y.upstream) {
      lines.push(`upstream: reached on ${x.upstream ? a.target : b.target} only`);
    } else if (x.upstream && y.upstream) {
      if (x.upstream.method !== y.upstream.method || x.upstream.path !== y.upstream.path) lines.push(`upstream request: ${a.target} ${x.upstream.method} ${x.upstream.path}, ${b.target} ${y.upstream.method} ${y.upstream.path}`);
      if (x.upstream.body !== y.upstream.body) lines.push(`upstream body: ${a.target} ${JSON.stringify(x.upstream.body)}, ${b.target} ${JSON.stringify(y.upstream.body)}`);
      lines.push(...diffRecords("upstream header", x.upstream.headers, y.upstream.headers, a.target, b.target));
    }
    out.push(...lines.map((l) => `${name}: ${l}`));
  }
  const pa = new Set(a.prometheus);
  const pb = new Set(b.prometheus);
  for (const l of a.prometheus) if (!pb.has(l)) out.push(`prometheus: only on ${a.target}: ${l}`);
  for (const l of b.prometheus) if (!pa.has(l)) out.push(`prometheus: only on ${b.target}: ${l}`);
  return out;
}

/** The embedded dev proxy as a target. */
export const launchEmbedded: ProxyLauncher = async (options) => {
  const proxy = await startDevProxy(options);
  return { url: proxy.url, adminUrl: proxy.adminUrl!, close: () => proxy.close() };
};

/** Envoy in a container as a target; Envoy's plugin logs and warnings go to `onLog`. */
export function envoyLauncher(engine: ContainerEngine, options: { image?: string; onLog?: (line: string) => void; onProgress?: (m: string) => void } = {}): ProxyLauncher {
  return async (proxy) => {
    const envoy = await startEnvoyContainer({ engine, proxy, image: options.image, onLog: options.onLog, onProgress: options.onProgress, readyTimeoutMs: 120_000 });
    return { url: envoy.url, adminUrl: envoy.adminUrl, close: () => envoy.stop() };
  };
}

/** One scenario compared: what each target missed, and how they differ. */
export interface ScenarioComparison {
  scenario: string;
  failures: string[];
  differences: string[];
}

/** Runs each scenario on the embedded host and on Envoy and compares them. */
export async function compareWithEnvoy(scenarios: ProxyScenario[], engine: ContainerEngine, options: { image?: string; onLog?: (line: string) => void } = {}): Promise<ScenarioComparison[]> {
  const envoy = envoyLauncher(engine, options);
  const out: ScenarioComparison[] = [];
  for (const s of scenarios) {
    const embedded = await runScenario("embedded", launchEmbedded, s);
    const real = await runScenario("envoy", envoy, s);
    out.push({ scenario: s.name, failures: [...expectationFailures(embedded, s), ...expectationFailures(real, s)], differences: compareRuns(embedded, real) });
  }
  return out;
}

/** A readable report of comparisons: agreement in one line each, differences listed. */
export function formatComparisons(results: ScenarioComparison[]): string {
  return results.map((r) => {
    const problems = [...r.failures, ...r.differences];
    if (problems.length === 0) return `✓ ${r.scenario}: embedded host and Envoy agree`;
    return [`✗ ${r.scenario}:`, ...problems.map((p) => `    ${p}`)].join("\n");
  }).join("\n");
}
