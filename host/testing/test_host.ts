// The test API: load any Proxy-Wasm module with a configuration, drive streams callback by
// callback, answer its callouts, move its clock, and read back everything it did — headers, bodies,
// local replies, returned actions, logs by level, metrics. Modelled on the Go SDK's proxytest, for
// any .wasm. Strings are Unicode in, Unicode out; on the wire (the host's byte strings) they are UTF-8.
import { LOG_LEVEL_NAMES, MetricType, type LogLevelName } from "../abi/constants.js";
import type { CalloutTransport, HttpCalloutRequest, HttpCalloutResult } from "../services/transports.js";
import { ProxyWasmHost } from "../host.js";
import type { Plugin, PluginOptions } from "../plugin/plugin.js";
import type { ForeignFunction } from "../services/host_services.js";
import { HeaderMap, type HeadersInit } from "../values/header_map.js";
import type { MetadataInit, NodeInfo } from "../values/envoy_messages.js";
import type { PropertyLiteral, StreamInfoInit } from "../values/stream_info.js";
import type { HostOptions } from "../host.js";
import { ManualTimers } from "../services/timers.js";
import { formatFailure } from "../vm/backtrace.js";
import type { VmFailure } from "../vm/errors.js";
import { fromWire, headersFromUser } from "./encoding.js";
import { ScriptedGrpc, TestGrpc } from "./test_grpc.js";
import { TestHttpStream } from "./test_stream.js";
import { TestTcpConnection } from "./test_tcp.js";

/** Options of a test host: the plugin settings plus test-only knobs. */
export interface TestHostOptions extends PluginOptions {
  /** The module: bytes or a file path. */
  wasm: Uint8Array | string;
  /** Log level (default trace: tests see everything). */
  logLevel?: LogLevelName;
  /** Cluster names HTTP and gRPC callouts may target; "*" accepts any. Default: "*". */
  clusters?: string[] | "*";
  /** The proxy's node (`node`, `xds.node`): id, cluster, metadata (a JSON object), locality. */
  node?: NodeInfo;
  /** Listener direction (`listener_direction`): "inbound" (1), "outbound" (2) or a number. */
  listenerDirection?: HostOptions["listenerDirection"];
  /** Listener metadata by filter namespace (`listener_metadata`). */
  listenerMetadata?: MetadataInit;
  /**
   * Names envoy_resolve_dns resolves, with their addresses (TTL 60 s); other names fail. The
   * answer arrives as envoy_on_resolve_dns on the next runPending (every call of the API runs it).
   */
  dns?: Record<string, string[]>;
  /** Property values pinned by dotted path (`"request.id"`, `"node.metadata.NAME"`); they win over computed ones. */
  properties?: Record<string, PropertyLiteral>;
}

/** An HTTP callout the plugin made, waiting for the test to answer it. */
export interface TestHttpCall {
  token: number;
  cluster: string;
  headers: Record<string, string>;
  body: string;
  trailers: Record<string, string>;
  timeoutMs: number;
}

/** A response to give an HTTP callout. */
export interface TestHttpCallResponse {
  status?: number;
  headers?: HeadersInit;
  body?: string | Uint8Array;
  trailers?: HeadersInit;
}

/** A histogram's recorded samples. */
export interface HistogramValue {
  count: number;
  sum: number;
  /** Cumulative counts per bucket upper bound. */
  buckets: Array<{ le: number; count: number }>;
}

interface PendingCall {
  request: HttpCalloutRequest;
  cancelled: boolean;
  onResult: (r: HttpCalloutResult) => void;
}

/** Records callouts and lets the test answer them. */
class RecordingCallouts implements CalloutTransport {
  readonly pending = new Map<number, PendingCall>();
  constructor(private readonly clusters: string[] | "*") {}

  hasCluster(cluster: string): boolean {
    return this.clusters === "*" || this.clusters.includes(cluster);
  }

  send(request: HttpCalloutRequest, token: number, onResult: (r: HttpCalloutResult) => void) {
    const call: PendingCall = { request, cancelled: false, onResult };
    this.pending.set(token, call);
    return { cancel: () => { call.cancelled = true; this.pending.delete(token); } };
  }
}

export class TestHost {
  private readonly callouts: RecordingCallouts;
  /** Failures runPending has looked at. */
  private failuresSeen = 0;

  private constructor(readonly host: ProxyWasmHost, readonly plugin: Plugin, callouts: RecordingCallouts) {
    this.callouts = callouts;
  }

  /** Loads a plugin into a fresh host with manual timers. Throws PluginLoadError if it is refused. */
  static async create(options: TestHostOptions): Promise<TestHost> {
    const callouts = new RecordingCallouts(options.clusters ?? "*");
    const host = new ProxyWasmHost({
      logLevel: options.logLevel ?? "trace", mode: "manual", callouts, properties: options.properties,
      node: options.node, listenerDirection: options.listenerDirection, listenerMetadata: options.listenerMetadata,
      dns: { resolve: (name, done) => { const a = options.dns?.[name]; done(a ? a.map((address) => ({ address, ttlSeconds: 60 })) : undefined); } },
      grpc: new ScriptedGrpc(options.clusters ?? "*"),
    });
    const plugin = await host.loadPlugin(options.wasm, options);
    const t = new TestHost(host, plugin, callouts);
    host.runPending();
    return t;
  }

  /**
   * Opens a stream. Its attributes may be set in `info`: addresses, route and cluster names and
   * metadata, dynamic metadata, filter state, pinned properties (`extra`), TLS facts, …
   */
  httpStream(info?: StreamInfoInit): TestHttpStream {
    return new TestHttpStream(this, info);
  }

  /** Opens a TCP connection through the plugin (proxy_on_new_connection); attributes as for httpStream. */
  tcpConnection(info?: StreamInfoInit): TestTcpConnection {
    return new TestTcpConnection(this, info);
  }

  private testGrpc: TestGrpc | undefined;

  /** The plugin's gRPC calls and streams, answered by the test (scripted gRPC). */
  get grpc(): TestGrpc {
    return (this.testGrpc ??= new TestGrpc(this.host.grpc as ScriptedGrpc, () => this.runPending()));
  }

  // ---- time, queues, callouts, foreign functions ------------------------------------------------

  /** Fires every armed timer once (proxytest's Tick). */
  tick(): void {
    (this.host.timers as ManualTimers).tick();
    this.runPending();
  }

  /** Advances the virtual clock, firing timers as their periods come due. */
  advanceTime(ms: number): void {
    (this.host.timers as ManualTimers).advance(ms);
    this.runPending();
  }

  /** The tick period the plugin's root context set (0 = none). */
  get tickPeriodMs(): number {
    return this.plugin.currentVms()[0]?.root.tickPeriodMs ?? 0;
  }

  /** Callouts waiting for an answer, oldest first. */
  get httpCalls(): TestHttpCall[] {
    return [...this.callouts.pending.entries()].map(([token, c]) => ({
      token,
      cluster: c.request.cluster,
      headers: fromWire(c.request.headers).toObject(),
      body: c.request.body.toString("utf8"),
      trailers: fromWire(c.request.trailers).toObject(),
      timeoutMs: c.request.timeoutMs,
    }));
  }

  /** Answers a callout (by token, or the oldest when omitted). */
  respondToHttpCall(response: TestHttpCallResponse = {}, token?: number): void {
    const headers = headersFromUser(response.headers);
    if (!headers.has(":status")) headers.pairs.unshift(":status", String(response.status ?? 200));
    const body = typeof response.body === "string" ? Buffer.from(response.body, "utf8") : Buffer.from(response.body ?? []);
    this.finishCall({ headers, body, trailers: headersFromUser(response.trailers) }, token);
  }

  /** Fails a callout as a reset (the plugin sees 0 headers and proxy_get_status gives 11/"reset"). */
  failHttpCall(token?: number, reason = "reset"): void {
    this.finishCall({ reset: reason }, token);
  }

  /** Times a callout out the way Envoy reports it: a generated 504 response. */
  timeoutHttpCall(token?: number): void {
    const body = "upstream request timeout";
    this.respondToHttpCall({ headers: { ":status": "504", "content-length": String(body.length), "content-type": "text/plain" }, body }, token);
  }

  private finishCall(result: HttpCalloutResult, token?: number): void {
    const t = token ?? this.callouts.pending.keys().next().value;
    if (t === undefined) throw new Error("no HTTP callout is waiting");
    const call = this.callouts.pending.get(t);
    if (!call) throw new Error(`no HTTP callout with token ${t} is waiting`);
    this.callouts.pending.delete(t);
    call.onResult(result);
    this.runPending();
  }

  /**
   * Registers a foreign function the plugin can call with proxy_call_foreign_function: it gets
   * the argument bytes and returns result bytes (text is sent as UTF-8) or a WasmResult status.
   */
  registerForeignFunction(name: string, fn: (args: Buffer) => Buffer | Uint8Array | string | number): void {
    const f: ForeignFunction = (args) => {
      const r = fn(args);
      return typeof r === "number" ? r : typeof r === "string" ? Buffer.from(r, "utf8") : Buffer.from(r);
    };
    this.host.foreignFunctions.set(name, f);
  }

  /**
   * Calls the plugin's proxy_on_foreign_function(root, functionId, size) with `data` readable as
   * buffer FOREIGN_FUNCTION_ARGUMENTS (8), as an embedder's own foreign-function bridge would.
   */
  callOnForeignFunction(functionId: number, data: string | Uint8Array = ""): void {
    this.plugin.deliverForeignFunction(functionId, typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data));
    this.runPending();
  }

  /**
   * Runs queue notifications and other posted work (every call of the API ends with it). Throws
   * CallbackTimeoutError when a callback ran past the callback time limit since the last call:
   * a test never hangs on a plugin that loops forever, and says why it failed.
   */
  runPending(): void {
    this.host.runPending();
    const failures = this.plugin.failures;
    while (this.failuresSeen < failures.length) {
      const f = failures[this.failuresSeen++]!;
      if (f.timeLimitMs !== undefined) throw new CallbackTimeoutError(f);
    }
  }

  // ---- logs, metrics, failures ------------------------------------------------------------------

  /** Log messages at `level`, or every message when omitted. */
  logs(level?: LogLevelName): string[] {
    if (level === undefined) return this.host.logs.entries.map((e) => e.message);
    return this.host.logs.at(level);
  }

  /** Log lines as `level: message`, for readable assertion failures. */
  logLines(): string[] {
    return this.host.logs.entries.map((e) => `${LOG_LEVEL_NAMES[e.level]}: ${e.message}`);
  }

  /** Value of a counter or gauge, or undefined when the plugin never defined it. */
  metric(name: string): number | undefined {
    const m = this.host.metrics.find(name, MetricType.Counter) ?? this.host.metrics.find(name, MetricType.Gauge);
    return m?.value;
  }

  /** A histogram's samples, or undefined. */
  histogram(name: string): HistogramValue | undefined {
    const m = this.host.metrics.find(name, MetricType.Histogram);
    if (!m) return undefined;
    let c = 0;
    return {
      count: m.count, sum: m.sum,
      buckets: m.buckets.map((le, i) => ({ le, count: (c += m.bucketCounts[i]!) })),
    };
  }

  /** Plugin metrics in Prometheus text format. */
  prometheus(): string {
    return this.host.prometheus();
  }

  /** VM failures (traps) so far. */
  get failures(): VmFailure[] {
    return this.plugin.failures;
  }

  /** Sets a host-wide property by dotted path (strings are sent as UTF-8). */
  setProperty(path: string, value: PropertyLiteral): void {
    this.host.properties.set(path, value);
  }

  /** Shared data of the plugin's vm_id. */
  sharedData(key: string): { value: string; cas: number } | undefined {
    const e = this.host.sharedData.get(this.plugin.config.vmId, key);
    return e ? { value: e.value.toString("utf8"), cas: e.cas } : undefined;
  }

  /** Shuts the plugin down (proxy_on_done / proxy_on_delete of its roots). */
  shutdown(): void {
    this.host.shutdown();
    this.runPending();
  }
}

/**
 * A plugin callback ran past the test host's callback time limit (TestHostOptions
 * callbackTimeLimitMs, default 2000 ms): the host stopped it and its VM failed, as the failure
 * policy says (the stream got a 503). Thrown by the test API call during which it happened.
 */
export class CallbackTimeoutError extends Error {
  constructor(readonly failure: VmFailure) {
    super(`${failure.callback} ran past the callback time limit (${failure.timeLimitMs} ms) and was stopped; its VM failed. ` +
      `A loop that never ends? (createTestHost's callbackTimeLimitMs changes the limit, 0: none)\n${formatFailure(failure)}`);
    this.name = "CallbackTimeoutError";
  }
}

/** Loads a plugin into a test host: `const host = await createTestHost({ wasm, configuration })`. */
export function createTestHost(options: TestHostOptions): Promise<TestHost> {
  return TestHost.create(options);
}

export { HeaderMap };
