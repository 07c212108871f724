// proxy-runtime's enumerations, by its names (`…Values`). The values are the ABI's; these enums
// are plain i32s, so they are interchangeable with the native SDK's (Action, WasmResult, …).
// Where proxy-runtime's names and members are the native ones, they are the native enums.
export { WasmResult as WasmResultValues, MetricType as MetricTypeValues, PeerType as PeerTypeValues } from "../types";

/** Log levels (proxy_log_level_t). */
export enum LogLevelValues { trace, debug, info, warn, error, critical }

/** What a TCP callback returns. */
export enum FilterStatusValues { Continue = 0, StopIteration = 1 }

/** What a headers callback returns. */
export enum FilterHeadersStatusValues {
  Continue = 0,
  StopIteration = 1,
  ContinueAndEndStream = 2,
  StopAllIterationAndBuffer = 3,
  StopAllIterationAndWatermark = 4,
}

/** What a metadata callback returns. */
export enum FilterMetadataStatusValues { Continue = 0 }

/** What a trailers callback returns. */
export enum FilterTrailersStatusValues { Continue = 0, StopIteration = 1 }

/** What a body callback returns. */
export enum FilterDataStatusValues {
  Continue = 0,
  StopIterationAndBuffer = 1,
  StopIterationAndWatermark = 2,
  StopIterationNoBuffer = 3,
}

/** gRPC status codes; InvalidCode (-1) means "no gRPC status" in a local reply. */
export enum GrpcStatusValues {
  Ok = 0,
  Canceled = 1,
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
  MaximumValid = 16,
  InvalidCode = -1,
}




/** Header map types (proxy_map_type_t). */
export enum HeaderMapTypeValues {
  RequestHeaders = 0,
  RequestTrailers = 1,
  ResponseHeaders = 2,
  ResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
  MAX = 7,
}

/** Buffer types (proxy_buffer_type_t). */
export enum BufferTypeValues {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  NetworkDownstreamData = 2,
  NetworkUpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
  MAX = 8,
}

/** Buffer flags (the host reports none). */
export enum BufferFlagsValues { EndOfStream = 1 }

/** Stream types for continue/close (proxy_stream_type_t). */
export enum StreamTypeValues { Request = 0, Response = 1, Downstream = 2, Upstream = 3, MAX = 3 }
