// Enumerations of the Proxy-Wasm ABI (0.1.0 – 0.2.1) as the host sees them.

/** proxy_status_t: what every host function returns. */
export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;
export type WasmResult = (typeof WasmResult)[keyof typeof WasmResult];

/** proxy_log_level_t (Envoy can also report 6 = off). */
export const LogLevel = { Trace: 0, Debug: 1, Info: 2, Warn: 3, Error: 4, Critical: 5, Off: 6 } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** Names of the log levels, indexed by level. */
export const LOG_LEVEL_NAMES = ["trace", "debug", "info", "warn", "error", "critical", "off"] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

/** proxy_buffer_type_t. */
export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  DownstreamData: 2,
  UpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;
export type BufferType = (typeof BufferType)[keyof typeof BufferType];

/** proxy_map_type_t. */
export const MapType = {
  HttpRequestHeaders: 0,
  HttpRequestTrailers: 1,
  HttpResponseHeaders: 2,
  HttpResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;
export type MapType = (typeof MapType)[keyof typeof MapType];

/** proxy_stream_type_t. */
export const StreamType = { HttpRequest: 0, HttpResponse: 1, Downstream: 2, Upstream: 3 } as const;
export type StreamType = (typeof StreamType)[keyof typeof StreamType];

/** proxy_peer_type_t (TCP close callbacks). */
export const PeerType = { Unknown: 0, Local: 1, Remote: 2 } as const;
export type PeerType = (typeof PeerType)[keyof typeof PeerType];

/** proxy_metric_type_t. */
export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** proxy_action_t as 0.2.x SDKs return it. */
export const Action = { Continue: 0, Pause: 1 } as const;

/** Envoy's FilterHeadersStatus, which a raw headers-callback return maps to. */
export const FilterHeadersStatus = {
  Continue: 0,
  StopIteration: 1,
  ContinueAndEndStream: 2,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
} as const;
export type FilterHeadersStatus = (typeof FilterHeadersStatus)[keyof typeof FilterHeadersStatus];

/** Envoy's FilterDataStatus. */
export const FilterDataStatus = {
  Continue: 0,
  StopIterationAndBuffer: 1,
  StopIterationAndWatermark: 2,
  StopIterationNoBuffer: 3,
} as const;
export type FilterDataStatus = (typeof FilterDataStatus)[keyof typeof FilterDataStatus];

/** Envoy's FilterTrailersStatus. */
export const FilterTrailersStatus = { Continue: 0, StopIteration: 1 } as const;
export type FilterTrailersStatus = (typeof FilterTrailersStatus)[keyof typeof FilterTrailersStatus];

/** gRPC status codes used by the host. */
export const GrpcStatus = { Ok: 0, Unavailable: 14, Internal: 13, Unauthenticated: 16 } as const;

/**
 * Envoy's HTTP → gRPC status mapping (Grpc::Utility::httpToGrpcStatus), used for local replies to
 * gRPC requests and for `response.grpc_status` when a response carries no grpc-status.
 */
export function httpToGrpcStatus(code: number): number {
  switch (code) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
  }
}

/** WASI errno values the host returns. */
export const WasiErrno = {
  Success: 0,
  Badf: 8,
  Notdir: 54,
  Fault: 21,
  Inval: 28,
  Noent: 44,
  Nosys: 52,
  Notsup: 58,
  Notcapable: 76,
} as const;

/** Proxy-Wasm ABI versions the host knows, by their export marker. */
export const ABI_VERSIONS = ["0.1.0", "0.2.0", "0.2.1"] as const;
export type AbiVersion = (typeof ABI_VERSIONS)[number];

/** The marker export for each ABI version. */
export const ABI_MARKERS: Record<string, AbiVersion> = {
  proxy_abi_version_0_1_0: "0.1.0",
  proxy_abi_version_0_2_0: "0.2.0",
  proxy_abi_version_0_2_1: "0.2.1",
};
