// The stats plugin's configuration: Istio's PluginConfig JSON (istio/proxy extensions/stats
// config.proto, the same fields as the native istio.stats filter) turned into metric definitions
// with their tag lists. Problems are logged one line each and the rest of the configuration
// still applies, as Istio's filter did.
import { logWarn, MetricType } from "pwasm/sdk";
import { JsonKind, JsonValue, jsonError, parseJson } from "../../common/assembly/json";
import { Expr, exprError, parseExpr } from "./expr";

/** The 25 standard labels, in Istio's order (also the order inside the encoded stat name). */
export const LABEL_NAMES: StaticArray<string> = [
  "reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app",
  "source_version", "source_canonical_service", "source_canonical_revision", "source_cluster",
  "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
  "destination_version", "destination_service", "destination_service_name", "destination_service_namespace",
  "destination_canonical_service", "destination_canonical_revision", "destination_cluster",
  "request_protocol", "response_flags", "connection_security_policy", "response_code", "grpc_response_status",
];

/** Indexes of the standard labels. */
export namespace L {
  export const REPORTER: i32 = 0;
  export const SOURCE_WORKLOAD: i32 = 1;
  export const SOURCE_WORKLOAD_NAMESPACE: i32 = 2;
  export const SOURCE_PRINCIPAL: i32 = 3;
  export const SOURCE_APP: i32 = 4;
  export const SOURCE_VERSION: i32 = 5;
  export const SOURCE_CANONICAL_SERVICE: i32 = 6;
  export const SOURCE_CANONICAL_REVISION: i32 = 7;
  export const SOURCE_CLUSTER: i32 = 8;
  export const DESTINATION_WORKLOAD: i32 = 9;
  export const DESTINATION_WORKLOAD_NAMESPACE: i32 = 10;
  export const DESTINATION_PRINCIPAL: i32 = 11;
  export const DESTINATION_APP: i32 = 12;
  export const DESTINATION_VERSION: i32 = 13;
  export const DESTINATION_SERVICE: i32 = 14;
  export const DESTINATION_SERVICE_NAME: i32 = 15;
  export const DESTINATION_SERVICE_NAMESPACE: i32 = 16;
  export const DESTINATION_CANONICAL_SERVICE: i32 = 17;
  export const DESTINATION_CANONICAL_REVISION: i32 = 18;
  export const DESTINATION_CLUSTER: i32 = 19;
  export const REQUEST_PROTOCOL: i32 = 20;
  export const RESPONSE_FLAGS: i32 = 21;
  export const CONNECTION_SECURITY_POLICY: i32 = 22;
  export const RESPONSE_CODE: i32 = 23;
  export const GRPC_RESPONSE_STATUS: i32 = 24;
  export const COUNT: i32 = 25;
  /** Labels of the gRPC message counters (the "peer" labels). */
  export const PEER_COUNT: i32 = 20;
  /** Labels of the TCP metrics. */
  export const TCP_COUNT: i32 = 23;
}

/** When a metric is reported. */
export enum MetricClass {
  /** At the end of an HTTP or gRPC stream. */
  Http = 0,
  /** gRPC message counters: on the timer and at the end of a gRPC stream. */
  GrpcMessages = 1,
  /** TCP connections: on the timer and at close. */
  Tcp = 2,
}

/** What a standard metric records. */
export enum Source {
  One = 0,
  DurationMs = 1,
  RequestBytes = 2,
  ResponseBytes = 3,
  RequestMessages = 4,
  ResponseMessages = 5,
  TcpSent = 6,
  TcpReceived = 7,
  TcpOpened = 8,
  TcpClosed = 9,
  /** A `definitions[]` expression. */
  Expression = 10,
}

/** One tag of a metric: its name and where its value comes from (a label or an expression). */
export class Tag {
  constructor(public name: string, public index: i32, public removed: bool = false) {}
}

/** One metric and how to name and record it. */
export class MetricDef {
  tags: Array<Tag> = new Array<Tag>();
  drop: bool = false;
  value: Expr | null = null;
  constructor(public name: string, public type: MetricType, public cls: MetricClass, public source: Source) {}

  findTag(name: string): Tag | null {
    for (let i = 0; i < this.tags.length; i++) if (unchecked(this.tags[i]).name == name) return unchecked(this.tags[i]);
    return null;
  }
}

/** The parsed configuration. */
export class StatsConfig {
  metrics: Array<MetricDef> = new Array<MetricDef>();
  /** Dimension expressions; their values follow the 25 labels (index 25 + i). */
  expressions: Array<Expr> = new Array<Expr>();
  expressionTexts: Array<string> = new Array<string>();
  disableHostHeaderFallback: bool = false;
  /** Report period of TCP and gRPC message metrics. */
  tcpReportingMs: u32 = 15000;
  fieldSeparator: string = ";.;";
  valueSeparator: string = "=.=";
  /** reporter SERVER_GATEWAY: a shared gateway (waypoint) reporting for its destinations. */
  serverGateway: bool = false;
  /** Configuration problems, logged by the caller. */
  valid: bool = true;

  /** Index of the dimension slot for an expression (shared by identical texts). */
  expressionIndex(text: string, e: Expr): i32 {
    const at = this.expressionTexts.indexOf(text);
    if (at >= 0) return L.COUNT + at;
    this.expressions.push(e);
    this.expressionTexts.push(text);
    return L.COUNT + this.expressions.length - 1;
  }
}

function standardMetric(name: string, type: MetricType, cls: MetricClass, source: Source, labels: i32): MetricDef {
  const m = new MetricDef(name, type, cls, source);
  for (let i = 0; i < labels; i++) m.tags.push(new Tag(unchecked(LABEL_NAMES[i]), i));
  return m;
}

/** The Istio standard metrics with their default tags (names without the istio_ prefix). */
export function defaultMetrics(): Array<MetricDef> {
  const out = new Array<MetricDef>();
  out.push(standardMetric("requests_total", MetricType.Counter, MetricClass.Http, Source.One, L.COUNT));
  out.push(standardMetric("request_duration_milliseconds", MetricType.Histogram, MetricClass.Http, Source.DurationMs, L.COUNT));
  out.push(standardMetric("request_bytes", MetricType.Histogram, MetricClass.Http, Source.RequestBytes, L.COUNT));
  out.push(standardMetric("response_bytes", MetricType.Histogram, MetricClass.Http, Source.ResponseBytes, L.COUNT));
  out.push(standardMetric("request_messages_total", MetricType.Counter, MetricClass.GrpcMessages, Source.RequestMessages, L.PEER_COUNT));
  out.push(standardMetric("response_messages_total", MetricType.Counter, MetricClass.GrpcMessages, Source.ResponseMessages, L.PEER_COUNT));
  out.push(standardMetric("tcp_sent_bytes_total", MetricType.Counter, MetricClass.Tcp, Source.TcpSent, L.TCP_COUNT));
  out.push(standardMetric("tcp_received_bytes_total", MetricType.Counter, MetricClass.Tcp, Source.TcpReceived, L.TCP_COUNT));
  out.push(standardMetric("tcp_connections_opened_total", MetricType.Counter, MetricClass.Tcp, Source.TcpOpened, L.TCP_COUNT));
  out.push(standardMetric("tcp_connections_closed_total", MetricType.Counter, MetricClass.Tcp, Source.TcpClosed, L.TCP_COUNT));
  return out;
}

function warn(message: string): void {
  logWarn("stats: " + message);
}

/**
 * Parses a Go-style duration as Istio accepts it ("15s", "500ms", "1m30s", "1.5s"; units ns, us,
 * µs, ms, s, m, h). Returns milliseconds, or -1 when malformed.
 */
export function parseDurationMs(s: string): f64 {
  if (s.length == 0) return -1;
  let total: f64 = 0;
  let i = 0;
  while (i < s.length) {
    const start = i;
    while (i < s.length && ((s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) || s.charCodeAt(i) == 46)) i++;
    if (i == start) return -1;
    const num = parseFloat(s.substring(start, i));
    if (isNaN(num)) return -1;
    const ustart = i;
    while (i < s.length && !((s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) || s.charCodeAt(i) == 46)) i++;
    const unit = s.substring(ustart, i);
    let scale: f64;
    if (unit == "ns") scale = 1e-6;
    else if (unit == "us" || unit == "µs") scale = 1e-3;
    else if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60000;
    else if (unit == "h") scale = 3600000;
    else return -1;
    total += num * scale;
  }
  return total;
}

function stringArray(v: JsonValue | null, what: string): Array<string> | null {
  const out = new Array<string>();
  if (v === null) return out;
  if (!v.isArray) {
    warn(what + " must be an array of strings, got " + v.kindName());
    return null;
  }
  for (let i = 0; i < v.length; i++) {
    const item = v.at(i);
    if (!item.isString) {
      warn(what + " must hold strings, got " + item.kindName());
      return null;
    }
    out.push(item.str);
  }
  return out;
}

function boolField(o: JsonValue, key: string, fallback: bool): bool {
  const v = o.get(key);
  if (v === null) return fallback;
  if (v.kind == JsonKind.Bool) return v.flag;
  // Istio's charts sent some booleans as strings ("debug": "false").
  if (v.isString && (v.str == "true" || v.str == "false")) return v.str == "true";
  warn(key + " must be a boolean, got " + v.kindName());
  return fallback;
}

const KNOWN_KEYS: StaticArray<string> = [
  "disable_host_header_fallback", "tcp_reporting_duration", "metrics", "definitions", "reporter",
  "field_separator", "value_separator", "debug", "max_peer_cache_size", "stat_prefix",
  "rotation_interval", "graceful_deletion_interval",
];

/** Parses the plugin configuration (empty = all defaults). */
export function parseConfig(text: string): StatsConfig {
  const cfg = new StatsConfig();
  cfg.metrics = defaultMetrics();
  if (text.trim().length == 0) return cfg;
  const json = parseJson(text);
  if (json === null || !json.isObject) {
    warn("configuration is not a JSON object (" + (json === null ? jsonError : json.kindName()) + "); using defaults");
    cfg.valid = false;
    return cfg;
  }
  for (let i = 0; i < json.length; i++) {
    if (!KNOWN_KEYS.includes(json.keyAt(i))) warn("unknown configuration field '" + json.keyAt(i) + "' ignored");
  }
  cfg.disableHostHeaderFallback = boolField(json, "disable_host_header_fallback", false);

  const period = json.get("tcp_reporting_duration");
  if (period !== null) {
    const ms = period.isString ? parseDurationMs(period.str) : -1;
    if (ms > 0 && ms < 4294967295) cfg.tcpReportingMs = <u32>Math.round(ms);
    else warn("tcp_reporting_duration must be a positive duration such as \"15s\"; using 15s");
  }

  const fieldSep = json.get("field_separator");
  if (fieldSep !== null && fieldSep.isString && fieldSep.str.length > 0) cfg.fieldSeparator = fieldSep.str;
  const valueSep = json.get("value_separator");
  if (valueSep !== null && valueSep.isString && valueSep.str.length > 0) cfg.valueSeparator = valueSep.str;

  const reporter = json.get("reporter");
  if (reporter !== null) {
    if (reporter.isString && reporter.str == "SERVER_GATEWAY") cfg.serverGateway = true;
    else if (!(reporter.isString && reporter.str == "UNSPECIFIED")) warn("reporter must be \"UNSPECIFIED\" or \"SERVER_GATEWAY\"; using UNSPECIFIED");
  }

  parseDefinitions(cfg, json.get("definitions"));
  parseOverrides(cfg, json.get("metrics"));
  return cfg;
}

function parseDefinitions(cfg: StatsConfig, defs: JsonValue | null): void {
  if (defs === null) return;
  if (!defs.isArray) {
    warn("definitions must be an array, got " + defs.kindName());
    return;
  }
  for (let i = 0; i < defs.length; i++) {
    const d = defs.at(i);
    const nameV = d.get("name");
    const valueV = d.get("value");
    const name = nameV !== null && nameV.isString ? nameV.str : "";
    const value = valueV !== null && valueV.isString ? valueV.str : "";
    if (!d.isObject || name.length == 0 || value.length == 0) {
      warn("definitions[" + i.toString() + "] needs a name and a value expression; skipped");
      continue;
    }
    const e = parseExpr(value);
    if (e === null) {
      warn("definitions[" + i.toString() + "] '" + name + "': cannot use value '" + value + "': " + exprError + "; skipped");
      continue;
    }
    let type = MetricType.Counter;
    const typeV = d.get("type");
    if (typeV !== null) {
      const t = typeV.isString ? typeV.str : "";
      if (t == "GAUGE") type = MetricType.Gauge;
      else if (t == "HISTOGRAM") type = MetricType.Histogram;
      else if (t != "COUNTER") warn("definitions[" + i.toString() + "] '" + name + "': type must be COUNTER, GAUGE or HISTOGRAM; using COUNTER");
    }
    // A definition with a standard name replaces how that metric is valued and typed.
    let m: MetricDef | null = null;
    for (let k = 0; k < cfg.metrics.length; k++) if (unchecked(cfg.metrics[k]).name == name) m = unchecked(cfg.metrics[k]);
    if (m === null) {
      m = new MetricDef(name, type, MetricClass.Http, Source.Expression);
      cfg.metrics.push(m);
    }
    m.type = type;
    m.source = Source.Expression;
    m.value = e;
  }
}

function parseOverrides(cfg: StatsConfig, list: JsonValue | null): void {
  if (list === null) return;
  if (!list.isArray) {
    warn("metrics must be an array, got " + list.kindName());
    return;
  }
  for (let i = 0; i < list.length; i++) {
    const o = list.at(i);
    const where = "metrics[" + i.toString() + "]";
    if (!o.isObject) {
      warn(where + " must be an object; skipped");
      continue;
    }
    const nameV = o.get("name");
    const name = nameV !== null && nameV.isString ? nameV.str : "";
    if (name.length > 0) {
      let found = false;
      for (let k = 0; k < cfg.metrics.length; k++) if (unchecked(cfg.metrics[k]).name == name) found = true;
      if (!found) warn(where + ": no metric named '" + name + "' (names have no istio_ prefix, e.g. requests_total)");
    }
    if (o.get("match") !== null) warn(where + ": match is not implemented (as in Istio); ignored");
    const remove = stringArray(o.get("tags_to_remove"), where + ".tags_to_remove");
    if (remove === null) continue;
    const drop = boolField(o, "drop", false);

    // Dimensions in name order, so tags appended by one override come out deterministically.
    const dims = o.get("dimensions");
    const dimNames = new Array<string>();
    const dimTexts = new Array<string>();
    if (dims !== null) {
      if (!dims.isObject) {
        warn(where + ".dimensions must be an object of tag name to expression; skipped");
        continue;
      }
      for (let k = 0; k < dims.length; k++) {
        const v = dims.at(k);
        if (!v.isString) {
          warn(where + ".dimensions['" + dims.keyAt(k) + "'] must be a string expression; skipped");
          continue;
        }
        dimNames.push(dims.keyAt(k));
        dimTexts.push(v.str);
      }
    }
    sortByName(dimNames, dimTexts);
    // Parse each expression once; a rejected one removes its tag (as Istio did).
    const dimIndex = new Array<i32>(dimNames.length);
    for (let k = 0; k < dimNames.length; k++) {
      const text = unchecked(dimTexts[k]);
      const e = parseExpr(text);
      if (e === null) {
        warn(where + ".dimensions['" + unchecked(dimNames[k]) + "']: cannot use '" + text + "': " + exprError +
          ". Supported: attribute paths, 'string' and integer literals, string(), int(), has(), +, ==, !=, &&, ||, !, ?: ; the tag is dropped");
        unchecked(dimIndex[k] = -1);
      } else {
        unchecked(dimIndex[k] = cfg.expressionIndex(text, e));
      }
    }

    for (let m = 0; m < cfg.metrics.length; m++) {
      const metric = unchecked(cfg.metrics[m]);
      if (name.length > 0 && metric.name != name) continue;
      if (drop) metric.drop = true;
      for (let r = 0; r < remove.length; r++) {
        const t = metric.findTag(unchecked(remove[r]));
        if (t !== null) t.removed = true;
      }
      for (let k = 0; k < dimNames.length; k++) {
        const idx = unchecked(dimIndex[k]);
        const t = metric.findTag(unchecked(dimNames[k]));
        if (t !== null) {
          if (idx < 0) t.removed = true;
          else {
            t.index = idx;
            t.removed = false;
          }
        } else if (idx >= 0) {
          metric.tags.push(new Tag(unchecked(dimNames[k]), idx));
        }
      }
    }
  }
}

function sortByName(names: Array<string>, texts: Array<string>): void {
  for (let i = 1; i < names.length; i++) {
    const n = unchecked(names[i]);
    const t = unchecked(texts[i]);
    let j = i - 1;
    while (j >= 0 && unchecked(names[j]) > n) {
      unchecked(names[j + 1] = unchecked(names[j]));
      unchecked(texts[j + 1] = unchecked(texts[j]));
      j--;
    }
    unchecked(names[j + 1] = n);
    unchecked(texts[j + 1] = t);
  }
}
