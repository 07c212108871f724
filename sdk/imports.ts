// Raw Proxy-Wasm ABI 0.2.1 host calls (module `env`), named and typed exactly as the spec names them.
// Declaring an import costs nothing: the compiler only emits imports a plugin actually calls, so a
// plugin's import list stays as small as what it uses. Pointers and sizes are u32 (wasm32);
// every call returns a proxy_status_t (see WasmResult in ./types).

// ---- logging, time, configuration, context ---------------------------------------------------

/** Writes `message` at `level` to the host's log. */
@external("env", "proxy_log")
export declare function proxy_log(level: u32, message_data: usize, message_size: usize): u32;

/** Reads the host's current log level for this plugin (0.2.1). */
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(return_level: usize): u32;

/** Wall-clock time in nanoseconds since the Unix epoch. */
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(return_time: usize): u32;

/** Sets the tick period of the calling root context; 0 disables the timer. */
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(period: u32): u32;

/** Redirects later host calls of this VM call to `context_id`. */
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(context_id: u32): u32;

/** Tells the host that a root context that returned false from on_done has finished. */
@external("env", "proxy_done")
export declare function proxy_done(): u32;

/** Status of the last callout of the root context (gRPC close status, or a failed HTTP call). */
@external("env", "proxy_get_status")
export declare function proxy_get_status(return_code: usize, return_message_data: usize, return_message_size: usize): u32;

/** Calls a host-registered foreign function. */
@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  function_name_data: usize, function_name_size: usize,
  arguments_data: usize, arguments_size: usize,
  return_results_data: usize, return_results_size: usize,
): u32;

// ---- buffers -----------------------------------------------------------------------------------

/** Copies `max_size` bytes from `start` of a buffer into memory the host allocates in this module. */
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(buffer_type: u32, start: usize, max_size: usize, return_buffer_data: usize, return_buffer_size: usize): u32;

/** Size and flags of a buffer. */
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(buffer_type: u32, return_buffer_size: usize, return_flags: usize): u32;

/** Replaces `size` bytes at `start` of a buffer with the given bytes. */
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(buffer_type: u32, start: usize, size: usize, buffer_data: usize, buffer_size: usize): u32;

// ---- header / trailer / metadata maps ----------------------------------------------------------

/** All pairs of a map, serialized (count, lengths, NUL-terminated keys and values). */
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(map_type: u32, return_map_data: usize, return_map_size: usize): u32;

/** Replaces every pair of a map with the serialized pairs given. */
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(map_type: u32, map_data: usize, map_size: usize): u32;

/** The first value of `key`; NOT_FOUND when absent. */
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(map_type: u32, key_data: usize, key_size: usize, return_value_data: usize, return_value_size: usize): u32;

/** Appends another `key: value` entry. */
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(map_type: u32, key_data: usize, key_size: usize, value_data: usize, value_size: usize): u32;

/** Sets `key` to the single value given (adds it when absent). */
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(map_type: u32, key_data: usize, key_size: usize, value_data: usize, value_size: usize): u32;

/** Removes every value of `key`. */
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(map_type: u32, key_data: usize, key_size: usize): u32;

/** Byte size of a map (Envoy: sum of key and value lengths). */
@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(map_type: u32, return_size: usize): u32;

// ---- stream control and local replies ----------------------------------------------------------

/** Resumes a paused stream once the current callback returns. */
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(stream_type: u32): u32;

/** Closes (resets) a stream. */
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(stream_type: u32): u32;

/** Answers the request locally instead of forwarding it. */
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  status_code: u32,
  status_code_details_data: usize, status_code_details_size: usize,
  body_data: usize, body_size: usize,
  headers_data: usize, headers_size: usize,
  grpc_status: i32,
): u32;

// ---- HTTP and gRPC callouts --------------------------------------------------------------------

/** Sends an HTTP request to a cluster; the answer arrives in proxy_on_http_call_response. */
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  upstream_data: usize, upstream_size: usize,
  headers_data: usize, headers_size: usize,
  body_data: usize, body_size: usize,
  trailers_data: usize, trailers_size: usize,
  timeout_milliseconds: u32, return_callout_id: usize,
): u32;

/** Starts a unary gRPC call. */
@external("env", "proxy_grpc_call")
export declare function proxy_grpc_call(
  upstream_data: usize, upstream_size: usize,
  service_name_data: usize, service_name_size: usize,
  method_name_data: usize, method_name_size: usize,
  initial_metadata_data: usize, initial_metadata_size: usize,
  message_data: usize, message_size: usize,
  timeout_milliseconds: u32, return_callout_id: usize,
): u32;

/** Opens a gRPC stream. */
@external("env", "proxy_grpc_stream")
export declare function proxy_grpc_stream(
  upstream_data: usize, upstream_size: usize,
  service_name_data: usize, service_name_size: usize,
  method_name_data: usize, method_name_size: usize,
  initial_metadata_data: usize, initial_metadata_size: usize,
  return_stream_id: usize,
): u32;

/** Sends a message on a gRPC stream. */
@external("env", "proxy_grpc_send")
export declare function proxy_grpc_send(stream_id: u32, message_data: usize, message_size: usize, end_stream: u32): u32;

/** Cancels a gRPC call or resets a gRPC stream. */
@external("env", "proxy_grpc_cancel")
export declare function proxy_grpc_cancel(callout_id: u32): u32;

/** Cancels a gRPC call or half-closes a gRPC stream. */
@external("env", "proxy_grpc_close")
export declare function proxy_grpc_close(callout_id: u32): u32;

// ---- shared data, shared queues, metrics, properties -------------------------------------------

/** Reads shared data and its CAS value. */
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(key_data: usize, key_size: usize, return_value_data: usize, return_value_size: usize, return_cas: usize): u32;

/** Writes shared data; a non-zero `cas` must match the stored CAS value. */
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(key_data: usize, key_size: usize, value_data: usize, value_size: usize, cas: u32): u32;

/** Creates (or reopens) a shared queue owned by the calling root context. */
@external("env", "proxy_register_shared_queue")
export declare function proxy_register_shared_queue(name_data: usize, name_size: usize, return_queue_id: usize): u32;

/** Looks up a queue registered by `vm_id`. */
@external("env", "proxy_resolve_shared_queue")
export declare function proxy_resolve_shared_queue(vm_id_data: usize, vm_id_size: usize, name_data: usize, name_size: usize, return_queue_id: usize): u32;

/** Removes the oldest item of a queue. */
@external("env", "proxy_dequeue_shared_queue")
export declare function proxy_dequeue_shared_queue(queue_id: u32, return_value_data: usize, return_value_size: usize): u32;

/** Appends an item to a queue. */
@external("env", "proxy_enqueue_shared_queue")
export declare function proxy_enqueue_shared_queue(queue_id: u32, value_data: usize, value_size: usize): u32;

/** Defines a counter, gauge or histogram. */
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metric_type: u32, name_data: usize, name_size: usize, return_metric_id: usize): u32;

/** Adds `offset` to a counter or gauge. */
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metric_id: u32, offset: i64): u32;

/** Sets a gauge, adds to a counter, or records a histogram sample. */
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metric_id: u32, value: u64): u32;

/** Reads a counter or gauge. */
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(metric_id: u32, return_value: usize): u32;

/** Reads a property; the path's segments are separated by NUL bytes. */
@external("env", "proxy_get_property")
export declare function proxy_get_property(path_data: usize, path_size: usize, return_value_data: usize, return_value_size: usize): u32;

/** Writes a property (Envoy stores it as filter state `wasm.<path>`). */
@external("env", "proxy_set_property")
export declare function proxy_set_property(path_data: usize, path_size: usize, value_data: usize, value_size: usize): u32;
