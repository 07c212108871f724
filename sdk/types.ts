// Enumerations of the Proxy-Wasm ABI 0.2.1, with the spec's values.

/** proxy_status_t: what every host call returns. */
export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

/** proxy_log_level_t. */
export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

/** proxy_action_t: what a stream callback returns. */
export enum Action {
  /** Let the stream go on to the next filter. */
  Continue = 0,
  /** Stop here until the plugin calls `continueRequest()` / `continueResponse()`. */
  Pause = 1,
}

/** proxy_buffer_type_t. */
export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
}

/** proxy_map_type_t. */
export enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

/** proxy_peer_type_t: who closed a TCP connection. */
export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

/** proxy_stream_type_t. */
export enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
  Downstream = 2,
  Upstream = 3,
}

/** proxy_metric_type_t. */
export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/** gRPC status codes; `None` (-1) means "no gRPC status" in a local reply. */
export enum GrpcStatus {
  None = -1,
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}
