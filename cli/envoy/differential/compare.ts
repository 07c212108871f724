// Comparing what two targets showed for one scenario, after normalizing what differs by nature
// (ports chosen at run time, dates, generated ids, timings), and filtering the differences the
// project lists as intentional (intentional_differences.ts).
import type { HeaderList, HttpExpect, ReceivedRequest, Scenario, ScenarioObservation, StepObservation } from "./scenario.js";

/** Kinds of difference, for reports that count them by class. */
export type DifferenceClass =
  | "status" | "response-headers" | "header-order" | "body" | "trailers" | "reset"
  | "upstream" | "callout" | "logs" | "prometheus" | "tcp" | "expectation";

/** One difference between two targets (or between a target and the scenario's expectations). */
export interface Difference {
  class: DifferenceClass;
  /** Where: `<step name>` or `<proxy name>`. */
  where: string;
  text: string;
}

/** A difference the project accepts, with its reason. */
export interface IntentionalDifference {
  /** Matches `Difference.text`. */
  pattern: RegExp;
  /** Limits it to scenarios whose name matches. */
  scenario?: RegExp;
  reason: string;
}

const show = (v: string | undefined) => (v === undefined ? "absent" : JSON.stringify(v));

// Values that differ by nature, by header name: compared by presence and shape only.
const VOLATILE_HEADERS: Record<string, (v: string) => string> = {
  date: () => "<date>",
  "x-request-id": (v) => (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) ? "<uuid>" : v),
  "x-envoy-upstream-service-time": (v) => (/^\d+$/.test(v) ? "<ms>" : v),
  "x-envoy-expected-rq-timeout-ms": (v) => v,
};

/** Rewrites run-specific text (ports, addresses) to stable names. */
export type Normalizer = (text: string) => string;

/** A normalizer replacing `127.0.0.1:<port>` (and the bare port after a colon) with names. */
export function portNormalizer(names: Record<number, string>, extra: Array<[RegExp, string]> = []): Normalizer {
  const ports = Object.keys(names).map(Number).filter((p) => p > 0);
  const re = ports.length ? new RegExp(`(127\\.0\\.0\\.1|localhost)?:(${ports.join("|")})(?!\\d)`, "g") : undefined;
  return (text) => {
    let t = re ? text.replace(re, (_m, _host: string | undefined, port: string) => `<${names[Number(port)]}>`) : text;
    for (const [p, r] of extra) t = t.replace(p, r);
    return t;
  };
}

/** Normalizes a header list: run-specific text and volatile values. */
export function normalizeHeaders(h: HeaderList, n: Normalizer): HeaderList {
  return h.map(([k, v]) => [k, (VOLATILE_HEADERS[k] ?? ((x: string) => x))(n(v))]);
}

/**
 * A log line as compared: `[level][component] message` without the time; only Envoy's `wasm`
 * component (plugin logs and the VM's own messages). Undefined for other lines.
 */
export function normalizeLogLine(line: string, n: Normalizer): string | undefined {
  const m = /^\[[^\]]*\]\[(\w+)\]\[([\w.]+)\] (.*)$/.exec(line);
  if (!m || m[2] !== "wasm") return undefined;
  return `[${m[1]}][wasm] ${n(m[3]!)}`;
}

function diffHeaderLists(what: string, a: HeaderList, b: HeaderList, an: string, bn: string): string[] {
  const out: string[] = [];
  const byName = (h: HeaderList) => {
    const m = new Map<string, string[]>();
    for (const [k, v] of h) m.set(k, [...(m.get(k) ?? []), v]);
    return m;
  };
  const ma = byName(a);
  const mb = byName(b);
  for (const k of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const va = ma.get(k)?.join(" | ");
    const vb = mb.get(k)?.join(" | ");
    if (va !== vb) out.push(`${what} ${k}: ${an} ${show(va)}, ${bn} ${show(vb)}`);
  }
  return out;
}

// Order of the names both sides have, when the values agree: a plugin sees the order.
function diffOrder(what: string, a: HeaderList, b: HeaderList, an: string, bn: string): string[] {
  const common = new Set(a.map(([k]) => k).filter((k) => b.some(([x]) => x === k)));
  const oa = a.map(([k]) => k).filter((k) => common.has(k));
  const ob = b.map(([k]) => k).filter((k) => common.has(k));
  return oa.join(",") === ob.join(",") ? [] : [`${what} order: ${an} ${oa.join(", ")}; ${bn} ${ob.join(", ")}`];
}

function diffReceived(what: string, a: ReceivedRequest[], b: ReceivedRequest[], an: string, bn: string, na: Normalizer, nb: Normalizer): string[] {
  const out: string[] = [];
  if (a.length !== b.length) out.push(`${what}: ${an} received ${a.length} request(s), ${bn} ${b.length}`);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    const at = a.length > 1 ? `${what} #${i + 1}` : what;
    const lx = `${x.method} ${na(x.path)}`;
    const ly = `${y.method} ${nb(y.path)}`;
    if (lx !== ly) out.push(`${at} request line: ${an} ${lx}, ${bn} ${ly}`);
    const hx = normalizeHeaders(x.headers, na);
    const hy = normalizeHeaders(y.headers, nb);
    out.push(...diffHeaderLists(`${at} header`, hx, hy, an, bn));
    out.push(...diffOrder(`${at} header`, hx, hy, an, bn));
    if (na(x.body) !== nb(y.body)) out.push(`${at} body: ${an} ${show(na(x.body))}, ${bn} ${show(nb(y.body))}`);
    out.push(...diffHeaderLists(`${at} trailer`, normalizeHeaders(x.trailers, na), normalizeHeaders(y.trailers, nb), an, bn));
  }
  return out;
}

function diffLines(what: string, a: string[], b: string[], an: string, bn: string, ordered: boolean): string[] {
  const out: string[] = [];
  if (!ordered) {
    const count = (l: string[]) => l.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
    const ca = count(a);
    const cb = count(b);
    for (const k of [...new Set([...ca.keys(), ...cb.keys()])].sort()) {
      const x = ca.get(k) ?? 0;
      const y = cb.get(k) ?? 0;
      if (x !== y) out.push(`${what}: ${an} ×${x}, ${bn} ×${y}: ${k}`);
    }
    return out;
  }
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) continue;
    out.push(`${what} line ${i + 1}: ${an} ${show(a[i])}, ${bn} ${show(b[i])}`);
    // One shifted line would report every later line: stop at the first few.
    if (out.length >= 5) {
      out.push(`${what}: … (${an} ${a.length} lines, ${bn} ${b.length})`);
      break;
    }
  }
  return out;
}

/** Normalizers of two runs, by target name. */
export interface RunNormalizers {
  a: Normalizer;
  b: Normalizer;
}

/** Every difference between two observations of one scenario. */
export function compareObservations(a: ScenarioObservation, b: ScenarioObservation, n: RunNormalizers): Difference[] {
  const out: Difference[] = [];
  const an = a.target;
  const bn = b.target;
  const push = (cls: DifferenceClass, where: string, lines: string[]) => {
    for (const text of lines) out.push({ class: cls, where, text: `${where}: ${text}` });
  };
  const steps = Math.max(a.steps.length, b.steps.length);
  for (let i = 0; i < steps; i++) {
    const x = a.steps[i];
    const y = b.steps[i];
    const where = x?.name ?? y?.name ?? `step ${i + 1}`;
    if (!x || !y || x.kind !== y.kind) {
      push("expectation", where, [`ran only on ${x ? an : bn}`]);
      continue;
    }
    if (x.kind === "http" && y.kind === "http") {
      if ((x.error ?? "") !== (y.error ?? "")) push("reset", where, [`outcome: ${an} ${x.error ?? "complete"}, ${bn} ${y.error ?? "complete"}`]);
      if (x.status !== y.status) push("status", where, [`status: ${an} ${x.status}, ${bn} ${y.status}`]);
      const hx = normalizeHeaders(x.headers, n.a);
      const hy = normalizeHeaders(y.headers, n.b);
      push("response-headers", where, diffHeaderLists("response header", hx, hy, an, bn));
      push("header-order", where, diffOrder("response header", hx, hy, an, bn));
      if (n.a(x.body) !== n.b(y.body)) push("body", where, [`body: ${an} ${show(n.a(x.body))}, ${bn} ${show(n.b(y.body))}`]);
      push("trailers", where, diffHeaderLists("response trailer", normalizeHeaders(x.trailers, n.a), normalizeHeaders(y.trailers, n.b), an, bn));
      push("upstream", where, diffReceived("upstream", x.upstream, y.upstream, an, bn, n.a, n.b));
      for (const c of [...new Set([...Object.keys(x.callouts), ...Object.keys(y.callouts)])].sort()) {
        push("callout", where, diffReceived(`callout ${c}`, x.callouts[c] ?? [], y.callouts[c] ?? [], an, bn, n.a, n.b));
      }
    } else if (x.kind === "tcp" && y.kind === "tcp") {
      const lines: string[] = [];
      if (n.a(x.received) !== n.b(y.received)) lines.push(`client received: ${an} ${show(x.received)}, ${bn} ${show(y.received)}`);
      if (x.ended !== y.ended) lines.push(`connection: ${an} ${x.ended}, ${bn} ${y.ended}`);
      if (x.upstreamReceived !== y.upstreamReceived) lines.push(`upstream received: ${an} ${show(x.upstreamReceived)}, ${bn} ${show(y.upstreamReceived)}`);
      push("tcp", where, lines);
    }
  }
  const proxies = Math.max(a.proxies.length, b.proxies.length);
  for (let p = 0; p < proxies; p++) {
    const x = a.proxies[p];
    const y = b.proxies[p];
    const where = proxies > 1 ? `proxy ${p + 1}` : "proxy";
    if (!x || !y) continue;
    push("logs", `${where} startup`, diffLines("log", x.startupLogs, y.startupLogs, an, bn, false));
    for (let i = 0; i < Math.max(x.stepLogs.length, y.stepLogs.length); i++) {
      const name = a.steps[i]?.name ?? `step ${i + 1}`;
      push("logs", `${where} ${name}`, diffLines("log", x.stepLogs[i] ?? [], y.stepLogs[i] ?? [], an, bn, true));
    }
    push("prometheus", where, diffLines("/stats/prometheus", x.prometheus, y.prometheus, an, bn, false));
  }
  return out;
}

/** Where an observation misses the scenario's expectations. */
export function expectationFailures(o: ScenarioObservation, s: Scenario): Difference[] {
  const out: Difference[] = [];
  const fail = (where: string, text: string) => out.push({ class: "expectation", where, text: `${o.target}: ${where}: ${text}` });
  s.steps.forEach((step, i) => {
    const seen = o.steps[i];
    if ((step.kind ?? "http") !== "http" || !seen || seen.kind !== "http") return;
    const e: HttpExpect | undefined = (step as { expect?: HttpExpect }).expect;
    if (!e) return;
    const get = (h: HeaderList, k: string) => {
      const v = h.filter(([x]) => x === k.toLowerCase()).map(([, y]) => y);
      return v.length ? v.join(", ") : null;
    };
    if (e.status !== undefined && seen.status !== e.status) fail(step.name, `status ${seen.status}, expected ${e.status}${seen.error ? ` (${seen.error})` : ""}`);
    for (const [k, v] of Object.entries(e.headers ?? {})) {
      const got = get(seen.headers, k);
      if (got !== v) fail(step.name, `response header ${k} is ${got === null ? "absent" : JSON.stringify(got)}, expected ${v === null ? "absent" : JSON.stringify(v)}`);
    }
    if (e.body !== undefined && seen.body !== e.body) fail(step.name, `body ${JSON.stringify(seen.body)}, expected ${JSON.stringify(e.body)}`);
    if (e.error !== undefined && (seen.error ?? "complete") !== e.error) fail(step.name, `the response ended ${seen.error ?? "complete"}, expected ${e.error}`);
    const values = (what: string, h: HeaderList, want: Record<string, string | null> | undefined) => {
      for (const [k, v] of Object.entries(want ?? {})) {
        const got = get(h, k);
        if (got !== v) fail(step.name, `${what} ${k} is ${got === null ? "absent" : JSON.stringify(got)}, expected ${v === null ? "absent" : JSON.stringify(v)}`);
      }
    };
    const order = (what: string, h: HeaderList, want: string[] | undefined) => {
      if (!want) return;
      const got = h.map(([k]) => k).filter((k) => want.includes(k));
      if (got.join(",") !== want.join(",")) fail(step.name, `${what} order ${got.join(", ")}, expected ${want.join(", ")}`);
    };
    values("response trailer", seen.trailers, e.trailers);
    order("response header", seen.headers, e.headerOrder);
    if (e.reachedUpstream !== undefined && (seen.upstream.length > 0) !== e.reachedUpstream) fail(step.name, `the request ${seen.upstream.length ? "reached" : "did not reach"} the upstream`);
    const up = seen.upstream[0];
    values("upstream header", up?.headers ?? [], e.upstreamHeaders);
    if (e.upstreamHeaderOrder || e.upstreamBody !== undefined || e.upstreamTrailers) {
      if (!up) fail(step.name, "no request reached the upstream");
      else {
        order("upstream header", up.headers, e.upstreamHeaderOrder);
        if (e.upstreamBody !== undefined && up.body !== e.upstreamBody) fail(step.name, `upstream body ${JSON.stringify(up.body)}, expected ${JSON.stringify(e.upstreamBody)}`);
        values("upstream trailer", up.trailers, e.upstreamTrailers);
      }
    }
    for (const [cluster, c] of Object.entries(e.callouts ?? {})) {
      const got = seen.callouts[cluster]?.[0];
      if (c === null) {
        if (got) fail(step.name, `callout ${cluster} received ${got.method} ${got.path}, expected nothing`);
        continue;
      }
      if (!got) {
        fail(step.name, `callout ${cluster} received nothing`);
        continue;
      }
      if (c.method !== undefined && got.method !== c.method) fail(step.name, `callout ${cluster} method ${got.method}, expected ${c.method}`);
      if (c.path !== undefined && got.path !== c.path) fail(step.name, `callout ${cluster} path ${got.path}, expected ${c.path}`);
      if (c.body !== undefined && got.body !== c.body) fail(step.name, `callout ${cluster} body ${JSON.stringify(got.body)}, expected ${JSON.stringify(c.body)}`);
      values(`callout ${cluster} header`, got.headers, c.headers);
      order(`callout ${cluster} header`, got.headers, c.headerOrder);
    }
    if (e.logs) {
      // Each entry after the previous one: later in the same line, or in a later line.
      const lines = o.proxies.flatMap((p) => p.stepLogs[i] ?? []);
      let line = 0;
      let from = 0;
      for (const [n, want] of e.logs.entries()) {
        let found = -1;
        for (; line < lines.length; line++, from = 0) {
          found = lines[line]!.indexOf(want, from);
          if (found >= 0) break;
        }
        if (found < 0) {
          fail(step.name, `no log line with ${JSON.stringify(want)}${n > 0 ? " after the ones before it" : ""}`);
          break;
        }
        from = found + want.length;
      }
    }
  });
  (s.prometheus ?? []).forEach((lines, p) => {
    for (const line of lines) {
      if (!o.proxies[p]?.prometheus.includes(line)) fail(`proxy ${p + 1}`, `/stats/prometheus lacks ${JSON.stringify(line)}`);
    }
  });
  return out;
}

/** Splits differences into the ones the project accepts (with their reasons) and the rest. */
export function applyIntentional(scenario: string, diffs: Difference[], allowed: readonly IntentionalDifference[]): { unexpected: Difference[]; accepted: Array<{ difference: Difference; reason: string }> } {
  const unexpected: Difference[] = [];
  const accepted: Array<{ difference: Difference; reason: string }> = [];
  for (const d of diffs) {
    const rule = d.class === "expectation" ? undefined : allowed.find((r) => (!r.scenario || r.scenario.test(scenario)) && r.pattern.test(d.text));
    if (rule) accepted.push({ difference: d, reason: rule.reason });
    else unexpected.push(d);
  }
  return { unexpected, accepted };
}

/** Differences counted by class, e.g. `status 2, logs 5`. */
export function countByClass(diffs: Difference[]): string {
  const counts = new Map<string, number>();
  for (const d of diffs) counts.set(d.class, (counts.get(d.class) ?? 0) + 1);
  return [...counts].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(", ");
}

/** One step's observation, for messages. */
export function describeStep(s: StepObservation): string {
  if (s.kind === "http") return `${s.status}${s.error ? ` (${s.error})` : ""}`;
  if (s.kind === "tcp") return `${JSON.stringify(s.received)} (${s.ended})`;
  return "waited";
}
