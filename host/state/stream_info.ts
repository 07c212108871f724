// Facts about a stream or connection that Envoy exposes as attributes (request.*, response.*,
// source.*, destination.*, connection.*, upstream.*, route and cluster names).

/** An address and port as Envoy reports them (`source.address` is "ip:port"). */
export interface Endpoint {
  ip: string;
  port: number;
}

/** What the host knows about one stream or connection. */
export interface StreamInfo {
  /** Request start, ms since epoch. */
  startTime: number;
  /** "HTTP/1.1", "HTTP/2", … */
  protocol: string;
  /** Downstream peer. */
  source: Endpoint;
  /** Local address the request arrived on. */
  destination: Endpoint;
  /** Connection id (Envoy's `connection.id`). */
  connectionId: number;
  /** mTLS on the downstream connection. */
  mtls: boolean;
  /** TLS SNI. */
  requestedServerName: string;
  /** Route and cluster the request was matched to. */
  routeName: string;
  clusterName: string;
  /** Upstream host address, once chosen. */
  upstream: Endpoint | undefined;
  /** Response code, once known (0 = none). */
  responseCode: number;
  /** Response code details (`via_upstream`, `wasm_fail_stream`, …). */
  responseCodeDetails: string;
  /** Envoy response flags short string (e.g. `UH`, `-` when none). */
  responseFlags: string;
  /** Bytes received from / sent to downstream (bodies). */
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** Request complete time (ms since epoch), once the stream finished. */
  endTime: number | undefined;
  /** Extra attribute values, by dotted path, set by the test API or `--property`. */
  extra: Map<string, PropertyLiteral>;
}

/** A property value as a user sets it. */
export type PropertyLiteral = string | number | bigint | boolean | Buffer | Array<[string, string]>;

let nextConnectionId = 1;

/** A fresh StreamInfo with loopback defaults. */
export function newStreamInfo(init: Partial<StreamInfo> = {}): StreamInfo {
  return {
    startTime: Date.now(),
    protocol: "HTTP/1.1",
    source: { ip: "127.0.0.1", port: 50000 },
    destination: { ip: "127.0.0.1", port: 10000 },
    connectionId: nextConnectionId++,
    mtls: false,
    requestedServerName: "",
    routeName: "",
    clusterName: "",
    upstream: undefined,
    responseCode: 0,
    responseCodeDetails: "",
    responseFlags: "-",
    requestBodyBytes: 0,
    responseBodyBytes: 0,
    endTime: undefined,
    extra: new Map(),
    ...init,
  };
}
