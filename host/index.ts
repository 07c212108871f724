// pwasm host: run any Proxy-Wasm module (AssemblyScript, Rust, Go, C++) on Node's WebAssembly,
// the way Envoy runs it.
export * from "./abi/constants.js";
export { decodePairs, encodePairs, type FlatPairs } from "./abi/pairs.js";
export { ProxyWasmHost, type HostOptions } from "./host.js";
export { Plugin, type PluginOptions, type ReloadStats } from "./plugin.js";
export type { Clock, ForeignFunction, HostServices, LocalInfo, TimerService } from "./services.js";
export type { CalloutTransport, HttpCalloutRequest, HttpCalloutResult } from "./imports/http_call.js";
export type { DnsResolver, DnsAnswer } from "./imports/dns.js";
export { HeaderMap, type HeadersInit } from "./state/header_map.js";
export { NO_GRPC, type GrpcTransport, type GrpcCalloutRequest, type GrpcEvents, type GrpcCallHandle, type GrpcStreamHandle } from "./state/grpc_calls.js";
export { TcpConnection, type TcpConnectionSink, type TcpLastActions } from "./state/tcp_connection.js";
export { HttpStream, type HttpStreamSink, type HttpStreamOptions, type LastActions, type CompleteOptions } from "./state/http_stream.js";
export type { NodeInfo, LocalityInfo, MetadataInit } from "./state/envoy_messages.js";
export type { JsonObject, JsonValue } from "./state/protobuf.js";
export { LogSink, formatEnvoyLog, parseLogLevel, type LogEntry } from "./state/logs.js";
export { MetricStore, Metric, DEFAULT_HISTOGRAM_BUCKETS } from "./state/metrics.js";
export { renderPrometheus, sanitizeMetricName, type TagExtractor, type ExtractedName } from "./state/prometheus.js";
export { newStreamInfo, type StreamInfo, type StreamInfoInit, type PropertyLiteral, type Endpoint, type TlsInfo } from "./state/stream_info.js";
export { PluginLoadError, VmFailedError, type VmFailure } from "./vm/errors.js";
export type { FailurePolicy } from "./vm/runtime.js";
export { validateModule, type ValidatedModule } from "./vm/validate.js";
export { parseModule, type ModuleInfo } from "./wasm/binary.js";
export { WasmSourceMap, SourceMapError } from "./vm/source_map.js";
export type { SourcePositionResolver } from "./vm/backtrace.js";
export { createTestHost, CallbackTimeoutError, TestHost, type TestHostOptions, type TestHttpCall, type TestHttpCallResponse, type HistogramValue } from "./testing/test_host.js";
export { TestHttpStream, type TestLocalResponse, type TestSide } from "./testing/test_stream.js";
export { TestTcpConnection, type TestTcpSide, type TestPeer } from "./testing/test_tcp.js";
export { TestGrpc, ScriptedGrpc, type TestGrpcCall, type TestGrpcStream, type TestGrpcRequest } from "./testing/test_grpc.js";
