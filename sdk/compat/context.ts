// proxy-runtime's context classes. They ARE the native SDK's classes (RootContext extends the
// native RootContext, Context extends HttpContext), so the native dispatcher drives them and a
// compat plugin may use native API too. proxy-runtime's callback names already match the native
// ones; the rest (createContext, onStart, getConfiguration, httpCall with a callback) is mapped here.
import { httpCallPairsFor } from "../callouts";
import { BaseContext, HttpContext, RootContext as NativeRootContext, StreamContext } from "../context";
import { getPluginConfiguration } from "../buffers";
import { getContext, registerRootContext as registerNativeRootContext, RootContextFactory } from "../dispatcher";
import { proxy_continue_stream, proxy_set_effective_context } from "../imports";
import { logDebug, logError } from "../log";
import { lastResult } from "../result";
import { decodeBuffer } from "../utf8";
import { Headers, serializeHeaderPairs } from "./runtime";
import { FilterMetadataStatusValues, StreamTypeValues, WasmResultValues } from "./values";

export { BaseContext };

/** The callback of an httpCall: (origin context, header count, body size, trailer count); 0 headers = failed. */
export type HttpCallbackFunction = (origin_context: BaseContext, headers: u32, body_size: usize, trailers: u32) => void;

/** A pending httpCall: the context to resume and the function to call with the response. */
export class HttpCallback {
  /** The context the call was made for. */
  origin_context: BaseContext;
  /** Called with the response. */
  cb: HttpCallbackFunction;
  constructor(origin_context: BaseContext, cb: HttpCallbackFunction) {
    this.origin_context = origin_context;
    this.cb = cb;
  }
}

/**
 * A plugin configuration (proxy-runtime's RootContext). Override createContext to handle streams,
 * onConfigure/onStart/onTick/onQueueReady/onDone for plugin events.
 */
export class RootContext extends NativeRootContext {
  private configuration_: string = "";
  private http_calls_: Map<u32, HttpCallback> = new Map();

  constructor(context_id: u32) {
    super(context_id);
  }

  /** The context id (proxy-runtime's name for contextId). */
  get context_id(): u32 {
    return this.contextId;
  }

  /** The plugin configuration as read by the default onConfigure ("" until then). */
  getConfiguration(): string {
    return this.configuration_;
  }

  /** Creates the context of a new stream; override it. The default logs an error and passes traffic through. */
  createContext(context_id: u32): Context {
    logError("Base createContext called - this should never happen!");
    return new Context(context_id, this);
  }

  /** Native hook: every new stream gets createContext. */
  createHttpContext(contextId: u32): StreamContext | null {
    return this.createContext(contextId);
  }

  /** Calls every pending httpCall callback as failed (0 headers) and forgets them; done by onDelete. */
  cancelPendingRequests(): void {
    const callbacks = this.http_calls_.values();
    this.http_calls_.clear();
    for (let i = 0; i < callbacks.length; i++) {
      const c = unchecked(callbacks[i]);
      c.cb(c.origin_context, 0, 0, 0);
    }
  }

  /** Validates a configuration (not called by Envoy on the normal path). */
  validateConfiguration(configuration_size: usize): bool {
    return true;
  }

  /** Reads the plugin configuration into getConfiguration(); override and call super to keep that. */
  onConfigure(configuration_size: u32): bool {
    if (configuration_size == 0) return true;
    this.configuration_ = decodeBuffer(getPluginConfiguration());
    return true;
  }

  /** The VM started (proxy_on_vm_start). */
  onStart(vm_configuration_size: usize): bool {
    return true;
  }

  /** Native hook: proxy_on_vm_start goes to onStart. */
  onVmStart(vmConfigurationSize: u32): bool {
    return this.onStart(vmConfigurationSize);
  }

  /**
   * The host forgets the plugin (after onDone): pending callouts are cancelled. Here rather than in
   * onDone, which a plugin's build exports only when a class overrides it: Envoy calls an exported
   * proxy_on_done for every stream too (docs/envoy/callbacks.md).
   */
  onDelete(): void {
    this.cancelPendingRequests();
  }

  /** Kept from proxy-runtime, where it only logs; call the free function done() to finish an asynchronous onDone. */
  done(): void {
    logDebug("context id: " + this.contextId.toString() + ": done()");
  }

  /** Resumes the effective stream's request. */
  continueRequest(): void {
    proxy_continue_stream(StreamTypeValues.Request);
  }

  /**
   * Sends an HTTP request to `cluster`; `cb` runs with the response, `origin_context` made
   * effective first (when it is still alive). Headers must include :method, :path, :authority.
   */
  httpCall(
    cluster: string, headers: Headers, body: ArrayBuffer, trailers: Headers, timeout_milliseconds: u32,
    origin_context: BaseContext, cb: HttpCallbackFunction,
  ): WasmResultValues {
    const t = trailers.length > 0 ? serializeHeaderPairs(trailers) : null;
    const token = httpCallPairsFor(this.contextId, cluster, serializeHeaderPairs(headers), body.byteLength > 0 ? body : null, t, timeout_milliseconds);
    if (token == 0) return <WasmResultValues>lastResult();
    this.http_calls_.set(token, new HttpCallback(origin_context, cb));
    return WasmResultValues.Ok;
  }

  /** Native hook: the response to an httpCall, handed to its callback. */
  onHttpCallResponse(token: u32, headers: u32, body_size: u32, trailers: u32): void {
    if (!this.http_calls_.has(token)) {
      logError("onHttpCallResponse: Token " + token.toString() + " not found.");
      return;
    }
    const callback = this.http_calls_.get(token);
    this.http_calls_.delete(token);
    const origin = callback.origin_context;
    if (origin.contextId != this.contextId) {
      // The stream may be gone (the call belongs to the root in the host): then nothing to resume.
      if (getContext(origin.contextId) === null) {
        logDebug("onHttpCallResponse: the context that made the call is gone");
        return;
      }
      proxy_set_effective_context(origin.contextId);
    }
    callback.cb(origin, headers, body_size, trailers);
  }

  /** Kept from proxy-runtime (which had no gRPC); use the native dispatchGrpcCall/openGrpcStream instead. */
  on_grpc_receive_initial_metadata(token: u32, headers: u32): void {}
  /** Kept from proxy-runtime; never called. */
  on_grpc_trailing_metadata(token: u32, trailers: u32): void {}
  /** Kept from proxy-runtime; never called. */
  on_grpc_receive(token: u32, response_size: u32): void {}
  /** Kept from proxy-runtime; never called. */
  on_grpc_close(token: u32, status_code: u32): void {}
}

/**
 * One HTTP stream or TCP connection (proxy-runtime's Context): override onRequestHeaders,
 * onResponseHeaders, onDownstreamData, … (returning the …StatusValues enums).
 */
export class Context extends HttpContext {
  /** The root context that created this one. */
  root_context: RootContext;

  constructor(context_id: u32, root_context: RootContext) {
    super(context_id, root_context);
    this.root_context = root_context;
  }

  /** The context id (proxy-runtime's name for contextId). */
  get context_id(): u32 {
    return this.contextId;
  }

  /** Request metadata (HTTP/2 METADATA); not part of ABI 0.2.1, never called. */
  onRequestMetadata(a: u32): FilterMetadataStatusValues {
    return FilterMetadataStatusValues.Continue;
  }

  /** Response metadata; not part of ABI 0.2.1, never called. */
  onResponseMetadata(a: u32): FilterMetadataStatusValues {
    return FilterMetadataStatusValues.Continue;
  }
}

/** A function that creates a root context. */
export type CompatRootContextFactory = (context_id: u32) => RootContext;

/**
 * Registers the root context for root id `name` (the plugin's `root_id`). Unlike proxy-runtime, an
 * unregistered root id passes traffic through instead of aborting.
 */
export function registerRootContext(root_context_factory: CompatRootContextFactory, name: string): void {
  // A compat RootContext is a native one: the factory's signature is the same at the wasm level.
  registerNativeRootContext(changetype<RootContextFactory>(root_context_factory), name);
}

/** The context with this id as a Context (proxy-runtime's getContext). */
export function getCompatContext(context_id: u32): Context | null {
  const c = getContext(context_id);
  return c !== null && c instanceof Context ? changetype<Context>(c) : null;
}

/** The root context with this id (proxy-runtime's getRootContext). */
export function getRootContext(context_id: u32): RootContext | null {
  const c = getContext(context_id);
  return c !== null && c instanceof RootContext ? changetype<RootContext>(c) : null;
}
