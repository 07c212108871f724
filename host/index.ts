// pwasm host: run any Proxy-Wasm module (AssemblyScript, Rust, Go, C++) on Node's WebAssembly,
// the way Envoy runs it.
export * from "./abi/constants.js";
export { decodePairs, encodePairs, type FlatPairs } from "./abi/pairs.js";
export { ProxyWasmHost, type HostOptions } from "./host.js";
export { Plugin, type PluginOptions, type ReloadStats } from "./plugin/plugin.js";
export type { Clock, ForeignFunction, HostServices, LocalInfo, TimerService } from "./services/host_services.js";
export {
  NO_GRPC, type CalloutTransport, type HttpCalloutRequest, type HttpCalloutResult, type DnsResolver, type DnsAnswer,
  type GrpcTransport, type GrpcCalloutRequest, type GrpcEvents, type GrpcCallHandle, type GrpcStreamHandle,
} from "./services/transports.js";
export { HeaderMap, type HeadersInit } from "./values/header_map.js";
export { TcpConnection, type TcpConnectionSink, type TcpLastActions } from "./streams/tcp_connection.js";
export { HttpStream, type HttpStreamSink, type HttpStreamOptions, type LastActions, type CompleteOptions } from "./streams/http_stream.js";
export type { NodeInfo, LocalityInfo, MetadataInit } from "./values/envoy_messages.js";
export type { JsonObject, JsonValue } from "./values/protobuf.js";
export { LogSink, formatEnvoyLog, parseLogLevel, type LogEntry } from "./services/logs.js";
export { MetricStore, Metric, DEFAULT_HISTOGRAM_BUCKETS } from "./services/metrics.js";
export { renderPrometheus, sanitizeMetricName, type TagExtractor, type ExtractedName } from "./services/prometheus.js";
export { newStreamInfo, type StreamInfo, type StreamInfoInit, type PropertyLiteral, type Endpoint, type TlsInfo } from "./values/stream_info.js";
export { PluginLoadError, VmFailedError, type VmFailure } from "./vm/errors.js";
export type { FailurePolicy } from "./vm/runtime.js";
export { validateModule, type ValidatedModule } from "./plugin/validate.js";
export { parseModule, type ModuleInfo } from "./wasm/binary.js";
export { WasmSourceMap, SourceMapError } from "./vm/source_map.js";
export type { SourcePositionResolver } from "./vm/backtrace.js";
export { createTestHost, CallbackTimeoutError, TestHost, type TestHostOptions, type TestHttpCall, type TestHttpCallResponse, type HistogramValue } from "./testing/test_host.js";
export { TestHttpStream, type TestLocalResponse, type TestSide } from "./testing/test_stream.js";
export { TestTcpConnection, type TestTcpSide, type TestPeer } from "./testing/test_tcp.js";
export { TestGrpc, ScriptedGrpc, type TestGrpcCall, type TestGrpcStream, type TestGrpcRequest } from "./testing/test_grpc.js";
