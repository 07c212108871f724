// proxy-runtime's free functions and helper classes, by its names and shapes, built on the native
// SDK. Differences from proxy-runtime, all toward not trapping: a missing property or header reads
// as empty instead of aborting, and get_metric reads the metric (proxy-runtime's recorded it).
import { getBufferBytes, setBufferBytes } from "../buffers";
import { proxy_log } from "../imports";
import {
  proxy_add_header_map_value, proxy_call_foreign_function, proxy_continue_stream, proxy_define_metric,
  proxy_dequeue_shared_queue, proxy_done, proxy_enqueue_shared_queue, proxy_get_buffer_status,
  proxy_get_current_time_nanoseconds, proxy_get_header_map_pairs, proxy_get_header_map_size,
  proxy_get_header_map_value, proxy_get_log_level, proxy_get_metric, proxy_get_property, proxy_get_shared_data,
  proxy_get_status, proxy_increment_metric, proxy_record_metric, proxy_register_shared_queue,
  proxy_remove_header_map_value, proxy_replace_header_map_value, proxy_resolve_shared_queue,
  proxy_send_local_response, proxy_set_header_map_pairs, proxy_set_property,
  proxy_set_shared_data, proxy_set_tick_period_milliseconds,
} from "../imports";
// Under another name: proxy-runtime exports a wrapper called proxy_set_effective_context.
import { proxy_set_effective_context as proxy_set_effective_context_import } from "../imports";
import { OUT_AUX, OUT_LEN, OUT_PTR, takeBuffer } from "../memory";
import { encodeString } from "../utf8";
import {
  BufferTypeValues, GrpcStatusValues, HeaderMapTypeValues, LogLevelValues, MetricTypeValues, StreamTypeValues,
  WasmResultValues,
} from "./values";

// ---- access helpers -----------------------------------------------------------------------------

/** A value with an address, for host calls that write a result (proxy-runtime's Reference). */
export class Reference<T> {
  /** The value the host writes. */
  data: T;
  /** The address of `data`. */
  ptr(): usize {
    return changetype<usize>(this) + offsetof<Reference<T>>("data");
  }
}

/** One header as bytes (proxy-runtime's HeaderPair: UTF-8 key and value). */
export class HeaderPair {
  /** Header name (UTF-8). */
  key: ArrayBuffer;
  /** Header value (UTF-8). */
  value: ArrayBuffer;

  constructor(header_key_data: ArrayBuffer, header_value_data: ArrayBuffer) {
    this.key = header_key_data;
    this.value = header_value_data;
  }

  /** `key:value` as text. */
  toString(): string {
    return String.UTF8.decode(this.key) + ":" + String.UTF8.decode(this.value);
  }
}

/** A header pair from text. */
export function makeHeaderPair(key: string, value: string): HeaderPair {
  return new HeaderPair(encodeString(key), encodeString(value));
}

/** A list of header pairs. */
export type Headers = Array<HeaderPair>;

/** Serializes pairs of bytes in the ABI's pairs format. */
export function serializeHeaderPairs(headers: Headers): ArrayBuffer {
  let size = 4 + headers.length * 8;
  for (let i = 0; i < headers.length; i++) {
    const h = unchecked(headers[i]);
    size += h.key.byteLength + h.value.byteLength + 2;
  }
  const buf = new ArrayBuffer(size);
  const base = changetype<usize>(buf);
  store<u32>(base, <u32>headers.length);
  let lens = base + 4;
  let data = lens + <usize>headers.length * 8;
  for (let i = 0; i < headers.length; i++) {
    const h = unchecked(headers[i]);
    const kl = <usize>h.key.byteLength;
    const vl = <usize>h.value.byteLength;
    store<u32>(lens, <u32>kl);
    store<u32>(lens, <u32>vl, 4);
    lens += 8;
    memory.copy(data, changetype<usize>(h.key), kl);
    data += kl + 1; // the NUL is already there: the buffer starts zeroed
    memory.copy(data, changetype<usize>(h.value), vl);
    data += vl + 1;
  }
  return buf;
}

/** Parses the pairs format into pairs of bytes; stops at the first malformed entry. */
export function deserializeHeaderPairs(buf: ArrayBuffer): Headers {
  const out = new Array<HeaderPair>();
  const size = <usize>buf.byteLength;
  if (size < 4) return out;
  const base = changetype<usize>(buf);
  const n = <usize>load<u32>(base);
  if (n > (size - 4) / 8) return out;
  let data: usize = 4 + n * 8;
  for (let i: usize = 0; i < n; i++) {
    const kl = <usize>load<u32>(base + 4 + i * 8);
    const vl = <usize>load<u32>(base + 8 + i * 8);
    if (data + kl + vl + 2 > size) break;
    const key = buf.slice(<i32>data, <i32>(data + kl));
    data += kl + 1;
    const value = buf.slice(<i32>data, <i32>(data + vl));
    data += vl + 1;
    out.push(new HeaderPair(key, value));
  }
  return out;
}

// ---- logging, time, status, properties ----------------------------------------------------------

/** Writes a log line (proxy_log). */
export function log(level: LogLevelValues, logMessage: string): void {
  const b = encodeString(logMessage);
  proxy_log(<u32>level, changetype<usize>(b), <usize>b.byteLength);
}

/** The host's log level (proxy_get_log_level). */
export function logLevel(): LogLevelValues {
  proxy_get_log_level(OUT_PTR);
  return <LogLevelValues>load<u32>(OUT_PTR);
}

/** A status code with its message bytes. */
export class StatusWithData {
  /** The status code (gRPC status, or 11 after a failed HTTP callout). */
  status: u32;
  /** The status message bytes. */
  data: ArrayBuffer;
  constructor(status: u32, data: ArrayBuffer) {
    this.status = status;
    this.data = data;
  }
}

/** The root context's last callout status (proxy_get_status). */
export function get_status(): StatusWithData {
  proxy_get_status(OUT_AUX, OUT_PTR, OUT_LEN);
  return new StatusWithData(load<u32>(OUT_AUX), takeBuffer());
}

/** Sets the calling root context's timer (proxy_set_tick_period_milliseconds). */
export function set_tick_period_milliseconds(millisecond: u32): void {
  proxy_set_tick_period_milliseconds(millisecond);
}

/** Wall-clock time in nanoseconds (proxy_get_current_time_nanoseconds). */
export function get_current_time_nanoseconds(): u64 {
  proxy_get_current_time_nanoseconds(OUT_PTR);
  return load<u64>(OUT_PTR);
}

/** A property's bytes (proxy_get_property); the path is sent as given. Empty when absent. */
export function get_property(path: string): ArrayBuffer {
  const p = encodeString(path);
  if (proxy_get_property(changetype<usize>(p), <usize>p.byteLength, OUT_PTR, OUT_LEN) != WasmResultValues.Ok) return new ArrayBuffer(0);
  return takeBuffer();
}

/** Writes a property (proxy_set_property). */
export function set_property(path: string, data: ArrayBuffer): WasmResultValues {
  const p = encodeString(path);
  return <WasmResultValues>proxy_set_property(changetype<usize>(p), <usize>p.byteLength, changetype<usize>(data), <usize>data.byteLength);
}

// ---- stream control ------------------------------------------------------------------------------

/** Resumes a paused request (proxy_continue_stream). */
export function continue_request(): WasmResultValues {
  return <WasmResultValues>proxy_continue_stream(StreamTypeValues.Request);
}

/** Resumes a paused response (proxy_continue_stream). */
export function continue_response(): WasmResultValues {
  return <WasmResultValues>proxy_continue_stream(StreamTypeValues.Response);
}

/** Answers locally (proxy_send_local_response). */
export function send_local_response(
  response_code: u32, response_code_details: string, body: ArrayBuffer, additional_headers: Headers,
  grpc_status: GrpcStatusValues,
): WasmResultValues {
  const d = encodeString(response_code_details);
  const h = serializeHeaderPairs(additional_headers);
  return <WasmResultValues>proxy_send_local_response(
    response_code, changetype<usize>(d), <usize>d.byteLength, changetype<usize>(body), <usize>body.byteLength,
    changetype<usize>(h), <usize>h.byteLength, <i32>grpc_status,
  );
}

/** Clears the route cache (ABI 0.2: Envoy's `clear_route_cache` foreign function). */
export function clear_route_cache(): WasmResultValues {
  const n = encodeString("clear_route_cache");
  return <WasmResultValues>proxy_call_foreign_function(changetype<usize>(n), <usize>n.byteLength, 0, 0, 0, 0);
}

// ---- shared data and queues ----------------------------------------------------------------------

/** The result of get_shared_data. */
export class GetSharedData {
  /** The value, when found. */
  value: ArrayBuffer | null = null;
  /** The host status (NotFound for a missing key). */
  result: WasmResultValues = WasmResultValues.Ok;
  /** The CAS to pass to set_shared_data. */
  cas: usize = 0;
}

/** Reads shared data (proxy_get_shared_data). */
export function get_shared_data(key: string): GetSharedData {
  const k = encodeString(key);
  const result = new GetSharedData();
  result.result = <WasmResultValues>proxy_get_shared_data(changetype<usize>(k), <usize>k.byteLength, OUT_PTR, OUT_LEN, OUT_AUX);
  if (result.result == WasmResultValues.Ok) {
    result.cas = load<u32>(OUT_AUX);
    result.value = takeBuffer();
  }
  return result;
}

/** Writes shared data; a non-zero `cas` must match (proxy_set_shared_data). */
export function set_shared_data(key: string, value: ArrayBuffer, cas: u32 = 0): WasmResultValues {
  const k = encodeString(key);
  return <WasmResultValues>proxy_set_shared_data(changetype<usize>(k), <usize>k.byteLength, changetype<usize>(value), <usize>value.byteLength, cas);
}

/** The result of registering or resolving a queue. */
export class TokenSharedQueueResult {
  /** The host status. */
  result: WasmResultValues = WasmResultValues.Ok;
  /** The queue id, when Ok. */
  token: u32 = 0;
}

/** Registers a shared queue (proxy_register_shared_queue). */
export function register_shared_queue(queue_name: string): TokenSharedQueueResult {
  const n = encodeString(queue_name);
  const result = new TokenSharedQueueResult();
  result.result = <WasmResultValues>proxy_register_shared_queue(changetype<usize>(n), <usize>n.byteLength, OUT_PTR);
  if (result.result == WasmResultValues.Ok) result.token = load<u32>(OUT_PTR);
  return result;
}

/** Finds a shared queue (proxy_resolve_shared_queue). */
export function resolve_shared_queue(vm_id: string, queue_name: string): TokenSharedQueueResult {
  const v = encodeString(vm_id);
  const n = encodeString(queue_name);
  const result = new TokenSharedQueueResult();
  result.result = <WasmResultValues>proxy_resolve_shared_queue(changetype<usize>(v), <usize>v.byteLength, changetype<usize>(n), <usize>n.byteLength, OUT_PTR);
  if (result.result == WasmResultValues.Ok) result.token = load<u32>(OUT_PTR);
  return result;
}

/** The result of dequeue_shared_queue. */
export class DequeueSharedQueueResult {
  /** The host status (Empty for an empty queue). */
  result: WasmResultValues = WasmResultValues.Ok;
  /** The item, when Ok. */
  data: ArrayBuffer | null = null;
}

/** Takes the oldest item of a queue (proxy_dequeue_shared_queue). */
export function dequeue_shared_queue(token: u32): DequeueSharedQueueResult {
  const result = new DequeueSharedQueueResult();
  result.result = <WasmResultValues>proxy_dequeue_shared_queue(token, OUT_PTR, OUT_LEN);
  if (result.result == WasmResultValues.Ok) result.data = takeBuffer();
  return result;
}

/** Appends to a queue (proxy_enqueue_shared_queue). */
export function enqueue_shared_queue(token: u32, data: ArrayBuffer): WasmResultValues {
  return <WasmResultValues>proxy_enqueue_shared_queue(token, changetype<usize>(data), <usize>data.byteLength);
}

// ---- header maps ---------------------------------------------------------------------------------

/** Adds a header from bytes (proxy_add_header_map_value). */
export function add_header_map_value(typ: HeaderMapTypeValues, key: ArrayBuffer, value: ArrayBuffer): WasmResultValues {
  return <WasmResultValues>proxy_add_header_map_value(typ, changetype<usize>(key), <usize>key.byteLength, changetype<usize>(value), <usize>value.byteLength);
}

/** Adds a header from text. */
export function add_header_map_value_string(typ: HeaderMapTypeValues, key: string, value: string): WasmResultValues {
  return add_header_map_value(typ, encodeString(key), encodeString(value));
}

/** A header's first value as bytes (proxy_get_header_map_value); empty when absent. */
export function get_header_map_value(typ: HeaderMapTypeValues, key: ArrayBuffer): ArrayBuffer {
  if (proxy_get_header_map_value(typ, changetype<usize>(key), <usize>key.byteLength, OUT_PTR, OUT_LEN) != WasmResultValues.Ok) return new ArrayBuffer(0);
  return takeBuffer();
}

/** Sets a header to one value, from bytes (proxy_replace_header_map_value). */
export function replace_header_map_value(typ: HeaderMapTypeValues, key: ArrayBuffer, value: ArrayBuffer): void {
  proxy_replace_header_map_value(typ, changetype<usize>(key), <usize>key.byteLength, changetype<usize>(value), <usize>value.byteLength);
}

/** Sets a header to one value, from text. */
export function replace_header_map_value_string(typ: HeaderMapTypeValues, key: string, value: string): void {
  replace_header_map_value(typ, encodeString(key), encodeString(value));
}

/** Removes a header, by bytes (proxy_remove_header_map_value). */
export function remove_header_map_value(typ: HeaderMapTypeValues, key: ArrayBuffer): void {
  proxy_remove_header_map_value(typ, changetype<usize>(key), <usize>key.byteLength);
}

/** Removes a header, by text. */
export function remove_header_map_value_string(typ: HeaderMapTypeValues, key: string): void {
  remove_header_map_value(typ, encodeString(key));
}

/** The host's size of a map (proxy_get_header_map_size). */
export function get_header_map_size(typ: HeaderMapTypeValues): usize {
  if (proxy_get_header_map_size(typ, OUT_PTR) != WasmResultValues.Ok) return 0;
  return load<u32>(OUT_PTR);
}

/** All pairs of a map (proxy_get_header_map_pairs). */
export function get_header_map_pairs(typ: HeaderMapTypeValues): Headers {
  if (proxy_get_header_map_pairs(typ, OUT_PTR, OUT_LEN) != WasmResultValues.Ok) return new Array<HeaderPair>();
  return deserializeHeaderPairs(takeBuffer());
}

/** Replaces every pair of a map (proxy_set_header_map_pairs). */
export function set_header_map_pairs(typ: HeaderMapTypeValues, headers: Headers): void {
  const b = serializeHeaderPairs(headers);
  proxy_set_header_map_pairs(typ, changetype<usize>(b), <usize>b.byteLength);
}

/** One header map, by its type: what `stream_context.headers.request` and friends are. */
export class HeaderStreamManipulator {
  /** Which map. */
  typ: HeaderMapTypeValues;
  constructor(typ: HeaderMapTypeValues) {
    this.typ = typ;
  }
  /** Adds a header. */
  add(key: string, value: string): void { add_header_map_value_string(this.typ, key, value); }
  /** Sets a header to one value. */
  replace(key: string, value: string): void { replace_header_map_value_string(this.typ, key, value); }
  /** A header's first value; "" when absent. */
  get(key: string): string { return String.UTF8.decode(get_header_map_value(this.typ, encodeString(key))); }
  /** Removes a header. */
  remove(key: string): void { remove_header_map_value_string(this.typ, key); }
  /** Every header. */
  get_headers(): Headers { return get_header_map_pairs(this.typ); }
  /** Replaces every header. */
  set_headers(headers: Headers): void { set_header_map_pairs(this.typ, headers); }
}

/** The request, response and callout-response maps of one kind (headers or trailers). */
export class HeaderMapManipulator {
  /** Request headers (or trailers). */
  request: HeaderStreamManipulator;
  /** Response headers (or trailers). */
  response: HeaderStreamManipulator;
  /** An HTTP callout's response headers (or trailers), inside its callback. */
  http_callback: HeaderStreamManipulator;
  constructor(request: HeaderStreamManipulator, response: HeaderStreamManipulator, http_callback: HeaderStreamManipulator) {
    this.request = request;
    this.response = response;
    this.http_callback = http_callback;
  }
}

/** Headers and trailers of the current stream. */
export class StreamContext {
  /** Header maps. */
  headers: HeaderMapManipulator;
  /** Trailer maps. */
  trailers: HeaderMapManipulator;
  constructor(headers: HeaderMapManipulator, trailers: HeaderMapManipulator) {
    this.headers = headers;
    this.trailers = trailers;
  }
}

/** The current stream's headers and trailers: `stream_context.headers.request.get(":path")`. */
// @ts-ignore: decorator
@lazy export const stream_context = new StreamContext(
  new HeaderMapManipulator(
    new HeaderStreamManipulator(HeaderMapTypeValues.RequestHeaders),
    new HeaderStreamManipulator(HeaderMapTypeValues.ResponseHeaders),
    new HeaderStreamManipulator(HeaderMapTypeValues.HttpCallResponseHeaders),
  ),
  new HeaderMapManipulator(
    new HeaderStreamManipulator(HeaderMapTypeValues.RequestTrailers),
    new HeaderStreamManipulator(HeaderMapTypeValues.ResponseTrailers),
    new HeaderStreamManipulator(HeaderMapTypeValues.HttpCallResponseTrailers),
  ),
);

// ---- buffers -------------------------------------------------------------------------------------

/** Bytes of a buffer (proxy_get_buffer_bytes); empty when unavailable. */
export function get_buffer_bytes(typ: BufferTypeValues, start: u32, length: u32): ArrayBuffer {
  const b = getBufferBytes(typ, start, length);
  return b !== null ? b : new ArrayBuffer(0);
}

/** Replaces `length` bytes at `start` of a buffer (proxy_set_buffer_bytes; an addition of pwasm, as in the G-Core fork). */
export function set_buffer_bytes(typ: BufferTypeValues, start: u32, length: u32, data: ArrayBuffer): WasmResultValues {
  return <WasmResultValues>setBufferBytes(typ, start, length, data);
}

/** The result of get_buffer_status. */
export class BufferStatusResult {
  /** The host status. */
  result: WasmResultValues = WasmResultValues.Ok;
  /** The buffer size in bytes. */
  length: usize = 0;
  /** Buffer flags (always 0 in Envoy). */
  flags: u32 = 0;
}

/** Size and flags of a buffer (proxy_get_buffer_status). */
export function get_buffer_status(typ: BufferTypeValues): BufferStatusResult {
  const r = new BufferStatusResult();
  r.result = <WasmResultValues>proxy_get_buffer_status(typ, OUT_PTR, OUT_AUX);
  if (r.result == WasmResultValues.Ok) {
    r.length = load<u32>(OUT_PTR);
    r.flags = load<u32>(OUT_AUX);
  }
  return r;
}

// ---- metrics -------------------------------------------------------------------------------------

/** The result of define_metric. */
export class MetricResult {
  /** The host status. */
  result: WasmResultValues = WasmResultValues.Ok;
  /** The metric id, when Ok. */
  metric_id: u32 = 0;
}

/** Defines a metric (proxy_define_metric). */
export function define_metric(typ: MetricTypeValues, name: string): MetricResult {
  const n = encodeString(name);
  const r = new MetricResult();
  r.result = <WasmResultValues>proxy_define_metric(typ, changetype<usize>(n), <usize>n.byteLength, OUT_PTR);
  if (r.result == WasmResultValues.Ok) r.metric_id = load<u32>(OUT_PTR);
  return r;
}

/** Adds to a counter or gauge (proxy_increment_metric). */
export function increment_metric(metric_id: u32, offset: i64): WasmResultValues {
  return <WasmResultValues>proxy_increment_metric(metric_id, offset);
}

/** Records a value (proxy_record_metric). */
export function record_metric(metric_id: u32, value: u64): WasmResultValues {
  return <WasmResultValues>proxy_record_metric(metric_id, value);
}

/** The result of get_metric. */
export class MetricData {
  /** The host status. */
  result: WasmResultValues = WasmResultValues.Ok;
  /** The value, when Ok. */
  data: u64 = 0;
}

/** Reads a counter or gauge (proxy_get_metric). */
export function get_metric(metric_id: u32): MetricData {
  const r = new MetricData();
  r.result = <WasmResultValues>proxy_get_metric(metric_id, OUT_PTR);
  if (r.result == WasmResultValues.Ok) r.data = load<u64>(OUT_PTR);
  return r;
}

/** A metric defined by name at construction. */
export class Metric {
  /** The host's id of the metric (0 if the host refused it). */
  metric_id: u32;
  constructor(typ: MetricTypeValues, name: string) {
    this.metric_id = define_metric(typ, name).metric_id;
  }
}

/** A gauge. */
export class Gauge extends Metric {
  constructor(name: string) {
    super(MetricTypeValues.Gauge, name);
  }
  /** Adds `offset` (may be negative). */
  increment(offset: i64): WasmResultValues { return increment_metric(this.metric_id, offset); }
  /** Sets metric `metric_id` (proxy-runtime's signature). */
  record(metric_id: u32, value: u64): WasmResultValues { return record_metric(metric_id, value); }
}

/** A histogram. */
export class Histogram extends Metric {
  constructor(name: string) {
    super(MetricTypeValues.Histogram, name);
  }
  /** Not meaningful for histograms (the host answers BadArgument); kept from proxy-runtime. */
  increment(offset: i64): WasmResultValues { return increment_metric(this.metric_id, offset); }
  /** Records a sample on metric `metric_id` (proxy-runtime's signature). */
  record(metric_id: u32, value: u64): WasmResultValues { return record_metric(metric_id, value); }
}

/** A counter. */
export class Counter extends Metric {
  constructor(name: string) {
    super(MetricTypeValues.Counter, name);
  }
  /** Adds `offset` (> 0). */
  increment(offset: u32): WasmResultValues { return increment_metric(this.metric_id, offset); }
}

// ---- context, foreign functions ------------------------------------------------------------------

/** Tells the host a root that returned false from onDone has finished (proxy_done). */
export function done(): WasmResultValues {
  return <WasmResultValues>proxy_done();
}

/** Redirects later host calls of this callback to context `_id` (proxy_set_effective_context). */
export function proxy_set_effective_context(_id: u32): WasmResultValues {
  return <WasmResultValues>proxy_set_effective_context_import(_id);
}

/** Calls a host function by name with a text argument (proxy_call_foreign_function); its result bytes. */
export function call_foreign_function(function_name: string, argument: string): ArrayBuffer {
  const n = encodeString(function_name);
  const a = encodeString(argument);
  if (proxy_call_foreign_function(changetype<usize>(n), <usize>n.byteLength, changetype<usize>(a), <usize>a.byteLength, OUT_PTR, OUT_LEN) != WasmResultValues.Ok) {
    return new ArrayBuffer(0);
  }
  return takeBuffer();
}
