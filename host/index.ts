// pwasm host: run any Proxy-Wasm module (AssemblyScript, Rust, Go, C++) on Node's WebAssembly,
// the way Envoy runs it.
export * from "./abi/constants.js";
export { decodePairs, encodePairs, type FlatPairs } from "./abi/pairs.js";
export { ProxyWasmHost, type HostOptions } from "./host.js";
export { Plugin, type PluginOptions } from "./plugin.js";
export type { Clock, ForeignFunction, HostServices, TimerService } from "./services.js";
export type { CalloutTransport, HttpCalloutRequest, HttpCalloutResult } from "./imports/http_call.js";
export { HeaderMap, type HeadersInit } from "./state/header_map.js";
export { HttpStream, type HttpStreamSink, type HttpStreamOptions, type LastActions } from "./state/http_stream.js";
export { LogSink, formatEnvoyLog, parseLogLevel, type LogEntry } from "./state/logs.js";
export { MetricStore, Metric, DEFAULT_HISTOGRAM_BUCKETS } from "./state/metrics.js";
export { renderPrometheus, sanitizeMetricName, type TagExtractor, type ExtractedName } from "./state/prometheus.js";
export { newStreamInfo, type StreamInfo, type PropertyLiteral, type Endpoint } from "./state/stream_info.js";
export { PluginLoadError, VmFailedError, type VmFailure } from "./vm/errors.js";
export type { FailurePolicy } from "./vm/runtime.js";
export { validateModule, type ValidatedModule } from "./vm/validate.js";
export { parseModule, type ModuleInfo } from "./wasm/binary.js";
export { createTestHost, TestHost, type TestHostOptions, type TestHttpCall, type TestHttpCallResponse, type HistogramValue } from "./testing/test_host.js";
export { TestHttpStream, type TestLocalResponse, type TestSide } from "./testing/test_stream.js";
