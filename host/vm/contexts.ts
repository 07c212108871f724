// Host-side contexts: what host functions act on. A root context per plugin, an HttpStream per
// HTTP stream (streams/http_stream.ts), a TcpConnection per connection. The base class answers
// what every context shares, such as reading the root's callout response; subclasses add their maps,
// buffers and stream controls.
import { BufferType, MapType, WasmResult, type LogLevel } from "../abi/constants.js";
import type { HeaderMap } from "../values/header_map.js";
import type { PropertyScope } from "../values/stream_info.js";
import type { PluginVm } from "./plugin_vm.js";
import type { HostServices } from "../services/host_services.js";
import type { ResolvedPluginConfig } from "./runtime.js";

/** The kinds of context. */
export type ContextKind = "root" | "http" | "tcp";

/** A local reply as proxy_send_local_response asked for it. */
export interface LocalReply {
  statusCode: number;
  /** Response code details (whitespace replaced by `_`, as Envoy does). */
  details: string;
  /** Body bytes. */
  body: Buffer;
  /** Extra headers (byte strings, keys lower-cased). */
  headers: Array<[string, string]>;
  /** gRPC status 0–16, or undefined for none. */
  grpcStatus: number | undefined;
}

/** The response to an HTTP callout, visible inside proxy_on_http_call_response. */
export interface CalloutResponse {
  headers: HeaderMap;
  body: Buffer;
  trailers: HeaderMap;
}

export abstract class HostContext {
  abstract readonly kind: ContextKind;

  /**
   * The root context of the plugin this stream or connection belongs to, set by the plugin that
   * opens it (several plugins' roots may live in one VM).
   */
  rootContext: RootContextState | undefined;

  constructor(readonly vm: PluginVm, readonly id: number) {}

  /** The root context this context belongs to (itself for a root). */
  get root(): RootContextState {
    return this.rootContext ?? this.vm.root;
  }

  /** A header map, or undefined when it is not available in this context now. */
  headerMap(type: MapType): HeaderMap | undefined {
    const r = this.root;
    if (type === MapType.HttpCallResponseHeaders) return r.calloutResponse?.headers;
    if (type === MapType.HttpCallResponseTrailers) return r.calloutResponse?.trailers;
    if (type === MapType.GrpcReceiveInitialMetadata) return r.grpcInitialMetadata;
    if (type === MapType.GrpcReceiveTrailingMetadata) return r.grpcTrailingMetadata;
    return undefined;
  }

  /**
   * The map to edit (add/replace/remove/set pairs), or undefined when it cannot be edited now.
   * Callout responses and gRPC metadata never can; HTTP streams override this.
   */
  writableHeaderMap(type: MapType): HeaderMap | undefined {
    return undefined;
  }

  /**
   * True while proxy_on_log runs: an unavailable map then reads as NOT_FOUND instead of
   * BAD_ARGUMENT (Envoy's access-log phase).
   */
  get accessLogPhase(): boolean {
    return false;
  }

  /** Notifies the context that a writable map changed (Envoy clears the route cache on request headers). */
  headerMapChanged(type: MapType): void {}

  /** proxy_clear_route_cache (0.1.0) and the clear_route_cache foreign function; a no-op outside streams. */
  clearRouteCache(): void {}

  /** The bytes of a buffer, or undefined when it is not available now (NOT_FOUND). */
  buffer(type: BufferType): Buffer | undefined {
    const r = this.root;
    switch (type) {
      case BufferType.VmConfiguration:
        return r.vmConfiguration ?? this.vm.runtime.vmConfiguration;
      case BufferType.PluginConfiguration:
        return r.pluginConfiguration;
      case BufferType.HttpCallResponseBody:
        return r.calloutResponse?.body;
      case BufferType.GrpcReceiveBuffer:
        return r.grpcReceiveBuffer;
      case BufferType.CallData:
        return r.foreignCallArgs;
      default:
        return undefined;
    }
  }

  /**
   * Edits a buffer (proxy_set_buffer_bytes, Envoy's rules: start 0 drops `size` leading bytes then
   * prepends; start ≥ length appends; anything else BAD_ARGUMENT). Immutable buffers: BAD_ARGUMENT.
   */
  setBuffer(type: BufferType, start: number, size: number, data: Buffer): number {
    return WasmResult.BadArgument;
  }

  /** proxy_continue_stream. */
  continueStream(type: number): number {
    return type > 3 ? WasmResult.BadArgument : WasmResult.NotFound;
  }

  /** proxy_close_stream. */
  closeStream(type: number): number {
    return type > 3 ? WasmResult.BadArgument : WasmResult.NotFound;
  }

  /** proxy_send_local_response (a no-op outside HTTP streams, as in Envoy). */
  sendLocalResponse(reply: LocalReply): number {
    return WasmResult.Ok;
  }

  /**
   * What property lookups may read in this context, and where proxy_set_property writes filter
   * state; undefined for roots (stream attributes are NOT_FOUND, set_property is NOT_FOUND).
   */
  propertyScope(): PropertyScope | undefined {
    return undefined;
  }
}

/** A pending HTTP callout owned by a root context. */
export interface PendingCallout {
  token: number;
  /** Cancels the transport's request (root deleted, VM failed). */
  cancel(): void;
}

/** The root context of one plugin in a VM. */
export class RootContextState extends HostContext {
  readonly kind = "root" as const;
  /** Plugin configuration, set only while proxy_on_configure runs. */
  pluginConfiguration: Buffer | undefined;
  /** VM configuration, set while proxy_on_vm_start runs. */
  vmConfiguration: Buffer | undefined;
  /** The callout response being delivered, while proxy_on_http_call_response runs. */
  calloutResponse: CalloutResponse | undefined;
  /** A gRPC stream's initial metadata, while proxy_on_grpc_receive_initial_metadata runs. */
  grpcInitialMetadata: HeaderMap | undefined;
  /** A gRPC stream's trailing metadata, while proxy_on_grpc_receive_trailing_metadata runs. */
  grpcTrailingMetadata: HeaderMap | undefined;
  /** The gRPC message being delivered, while proxy_on_grpc_receive runs. */
  grpcReceiveBuffer: Buffer | undefined;
  /** Foreign-function arguments, while proxy_on_foreign_function runs. */
  foreignCallArgs: Buffer | undefined;
  /** Last callout status for proxy_get_status: code and message. */
  status: { code: number; message: string } = { code: 0, message: "" };
  /** Tick period in ms (0 = off). */
  tickPeriodMs = 0;
  /** HTTP callouts in flight, by token. */
  readonly callouts = new Map<number, PendingCallout>();
  /** True after on_done returned false: the plugin will call proxy_done. */
  pendingDone = false;
  /** Properties declared with the declare_property foreign function, by path (byte string). */
  readonly declaredProperties = new Map<string, { readonly: boolean }>();

  constructor(vm: PluginVm, id: number, readonly plugin: PluginRuntime) {
    super(vm, id);
  }

  override get root(): RootContextState {
    return this;
  }

  /** A timer tick (services/timers.ts): proxy_on_tick, a failure handled by the failure policy. */
  tick(): void {
    this.plugin.deliverTick(this.vm, this);
  }
}

/** The plugin side of a root context. */
export interface PluginRuntime {
  readonly config: ResolvedPluginConfig;
  readonly services: HostServices;
  /**
   * Envoy's plugin key (root_id, configuration, name): plugins with the same key in one VM share
   * one root context.
   */
  readonly key: string;
  /**
   * Writes a plugin log line with Envoy's prefix: name, root id and vm id from a stream or
   * connection; root id and vm id only from the root context (`fromRoot`).
   */
  log(level: LogLevel, message: string, fromRoot?: boolean): void;
  /** Called once when a VM holding this plugin's root fails. */
  onVmFailed(vm: PluginVm, root: RootContextState): void;
  /** Delivers proxy_on_tick to a root (a failure is handled by the failure policy, not thrown). */
  deliverTick(vm: PluginVm, root: RootContextState): void;
  /** Delivers proxy_on_queue_ready to a root. */
  deliverQueueReady(vm: PluginVm, root: RootContextState, queueId: number): void;
  /** Deletes a root context (proxy_on_delete) once it finished (proxy_done). */
  deleteRoot(vm: PluginVm, root: RootContextState): void;
}
