// A differential scenario, as data: plugins and proxy settings (one proxy, or several in a row —
// a client sidecar in front of a server sidecar), the servers behind them, and a sequence of
// steps (HTTP requests, TCP exchanges, waits). The same scenario runs on the embedded dev proxy and
// on a real Envoy configured from the same options (`pwasm envoy-config`), and what a plugin author
// can observe on each is compared (compare.ts).
import type { HeaderList, HttpRequestSpec } from "../../http_client.js";
import type { EnvoyBootstrapOptions, EnvoyPlugin, JsonMap } from "../bootstrap.js";

/** Header lists keep order and repeats: a plugin sees both. */
export type { HeaderList };

/** One HTTP request a step sends (the CLI's HTTP client sends it). */
export type ScenarioRequest = HttpRequestSpec;

/** Facts an HTTP step must show (checked on every target, besides the comparison). */
export interface HttpExpect {
  status?: number;
  /** Response headers: a value, or null for "absent". */
  headers?: Record<string, string | null>;
  /** Response header names in this order: the names listed, as they occur among all response headers. */
  headerOrder?: string[];
  body?: string;
  /** Response trailers: a value, or null for "absent". */
  trailers?: Record<string, string | null>;
  /** How the response ended when it did not complete (`reset before the response`, …). */
  error?: string;
  reachedUpstream?: boolean;
  upstreamHeaders?: Record<string, string | null>;
  /** Upstream request header names in this order (as headerOrder). */
  upstreamHeaderOrder?: string[];
  /** The body the upstream received. */
  upstreamBody?: string;
  /** Upstream request trailers: a value, or null for "absent". */
  upstreamTrailers?: Record<string, string | null>;
  /** The first request each callout cluster received (null: none). */
  callouts?: Record<string, CalloutExpect | null>;
  /**
   * Plugin log lines of the step (normalized, e.g. `<proxy>` for the proxy's address): each entry
   * must be part of a line, the lines in this order.
   */
  logs?: string[];
}

/** Facts of the request a callout target received. */
export interface CalloutExpect {
  method?: string;
  path?: string;
  headers?: Record<string, string | null>;
  /** Header names in this order (as HttpExpect.headerOrder). */
  headerOrder?: string[];
  body?: string;
}

/** A step: an HTTP request, a TCP exchange, or a pause (timers, backoffs). */
export type ScenarioStep =
  | {
    kind?: "http"; name: string; request: ScenarioRequest; expect?: HttpExpect; afterMs?: number;
    /** How long the client waits for the response (default 15 s): for a request that never gets one. */
    timeoutMs?: number;
  }
  | {
    kind: "tcp";
    name: string;
    /** Chunks the client writes, `delayMs` apart; then it half-closes unless `keepOpen`. */
    send: string[];
    delayMs?: number;
    keepOpen?: boolean;
    /** How long to wait for the connection to end after the last write (default 2 s). */
    waitMs?: number;
    afterMs?: number;
  }
  | { kind: "wait"; name: string; ms: number };

/**
 * What the upstream does. "echo" (default): HTTP/1.1 (HTTP/2 cleartext to a client that opens with
 * its preface); a gRPC request (content-type application/grpc…) gets a gRPC answer with status
 * `x-echo-grpc-status` (default 0) and message `x-echo-grpc-message`: OK as its message back with
 * grpc-status in trailers, any other status Trailers-Only (grpc-status in the headers, no body).
 * Otherwise the reply is 200 `x-upstream: yes` with body
 * `upstream saw <method> <path> <body>`, shaped per request by headers it reads: `x-echo-status`,
 * `x-echo-body` (replaces the body), `x-echo-chunks: N` (body in N chunked writes,
 * `x-echo-chunk-delay-ms` apart, default 5),
 * `x-echo-trailers: k=v,…`, `x-echo-delay-ms`, `x-echo-header: k=v,…` (extra response headers).
 * "tcp-echo": a TCP server that answers each read with `echo:<data>`. "refuse": a port nothing
 * listens on.
 */
export type UpstreamKind = "echo" | "tcp-echo" | "refuse";

/**
 * A callout target: "echo" answers 200 with `callout saw <method> <path> <body>` (and honours the
 * `x-echo-*` headers like the upstream); "deny" answers 403 `denied`; "hang" never answers;
 * "refuse" is a port nothing listens on.
 */
export type CalloutTargetKind = "echo" | "deny" | "hang" | "refuse";

/** One proxy of a scenario: its plugins and settings; addresses are chosen by the runner. */
export interface ScenarioProxy {
  /** A name for messages (default: proxy N). */
  name?: string;
  plugins: EnvoyPlugin[];
  /** More settings (node, listener direction, properties, …). */
  settings?: Omit<Partial<EnvoyBootstrapOptions>, "plugins" | "host" | "port" | "admin" | "upstream" | "clusters">;
  /**
   * Envoy only: rewrites the bootstrap for what the dev proxy has no setting for (an HTTP/2
   * upstream cluster for gRPC, …). The differences this makes must still be none a plugin sees.
   */
  envoyConfig?: (config: JsonMap) => JsonMap;
}

/** A scenario. */
export interface Scenario {
  name: string;
  /**
   * The proxies in a row: the client talks to the first, each forwards to the next, the last to the
   * upstream (or answers with `directResponse`).
   */
  proxies: ScenarioProxy[];
  upstream?: UpstreamKind | false;
  /** Reply of the last proxy when there is no upstream (default 200, empty). */
  directResponse?: { status: number; body?: string };
  /** Callout clusters of every proxy: name → target. */
  clusters?: Record<string, CalloutTargetKind>;
  steps: ScenarioStep[];
  /** Lines each proxy's /stats/prometheus must show after the steps (by proxy index). */
  prometheus?: string[][];
  /** Extra normalizations for this scenario's volatile values: [pattern, replacement]. */
  normalize?: Array<[RegExp, string]>;
  /** How long logs may take to settle after a step, in ms (default 150). */
  logSettleMs?: number;
}

/** A request as a server (the upstream or a callout target) received it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: HeaderList;
  body: string;
  trailers: HeaderList;
}

/** What an HTTP step saw. */
export interface HttpObservation {
  kind: "http";
  status: number;
  headers: HeaderList;
  body: string;
  trailers: HeaderList;
  /** Set when no complete response came (reset, closed). */
  error?: string;
  /** Requests the upstream received during the step. */
  upstream: ReceivedRequest[];
  /** Requests each callout target received during the step. */
  callouts: Record<string, ReceivedRequest[]>;
}

/** What a TCP step saw. */
export interface TcpObservation {
  kind: "tcp";
  /** What the client read. */
  received: string;
  /** How the connection ended: "closed" (FIN), "reset", "open" (still open at the end of the wait). */
  ended: "closed" | "reset" | "open";
  /** What the upstream read. */
  upstreamReceived: string;
}

/** What one step saw. */
export type StepObservation = { name: string } & (HttpObservation | TcpObservation | { kind: "wait" });

/** What one proxy of a scenario showed besides the client's view. */
export interface ProxyObservation {
  /** Plugin log lines and the host's messages about plugins, normalized (normalize.ts). */
  startupLogs: string[];
  /** Log lines during each step (by step index). */
  stepLogs: string[][];
  /** Plugin metric lines of /stats/prometheus, sorted. */
  prometheus: string[];
}

/** Everything a scenario showed on one target. */
export interface ScenarioObservation {
  target: string;
  steps: StepObservation[];
  proxies: ProxyObservation[];
}
