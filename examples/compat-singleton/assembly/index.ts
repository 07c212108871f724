// compat-singleton: examples/singleton in proxy-runtime's API, written the way proxy-runtime's
// singleton example is. Only the import paths differ from a proxy-runtime plugin.
export * from "pwasm/sdk/compat/proxy";
import {
  RootContext, Context, BaseContext, registerRootContext, Headers, makeHeaderPair, log, BufferTypeValues,
  LogLevelValues, FilterHeadersStatusValues, GrpcStatusValues, WasmResultValues, stream_context,
  send_local_response, set_tick_period_milliseconds, get_buffer_bytes, set_shared_data, get_shared_data,
} from "pwasm/sdk/compat";

class AuthSingleton extends RootContext {
  onConfigure(configuration_size: u32): bool {
    super.onConfigure(configuration_size);
    set_tick_period_milliseconds(1000);
    return true;
  }

  onTick(): void {
    this.updateConfig();
  }

  updateConfig(): void {
    const h: Headers = [];
    h.push(makeHeaderPair(":path", "/fetch"));
    h.push(makeHeaderPair(":method", "GET"));
    h.push(makeHeaderPair(":authority", "foo"));
    const cluster = this.getConfiguration();
    this.httpCall(cluster, h, new ArrayBuffer(0), [], 1000, this,
      (origin_context: BaseContext, headers: u32, body_size: usize, trailers: u32) => {
        if (headers == 0) return; // failed: keep the last token
        const bytes = get_buffer_bytes(BufferTypeValues.HttpCallResponseBody, 0, <u32>body_size);
        set_shared_data("data", bytes);
        log(LogLevelValues.info, "singleton: token updated");
      });
  }
}

class AuthRoot extends RootContext {
  token: string = "";

  createContext(context_id: u32): Context {
    return new Auth(context_id, this);
  }

  onConfigure(configuration_size: u32): bool {
    set_tick_period_milliseconds(1000);
    return true;
  }

  onTick(): void {
    this.syncConfig();
  }

  syncConfig(): void {
    const data = get_shared_data("data");
    if (data.result != WasmResultValues.Ok) return;
    const bytes = data.value;
    if (bytes == null || bytes.byteLength == 0) return;
    this.token = String.UTF8.decode(bytes);
  }
}

class Auth extends Context {
  constructor(context_id: u32, root_context: AuthRoot) {
    super(context_id, root_context);
  }

  onRequestHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const root_context = this.root_context as AuthRoot;
    const value = stream_context.headers.request.get("x-auth");
    if (root_context.token != "" && value == root_context.token) {
      return FilterHeadersStatusValues.Continue;
    }
    send_local_response(401, "not authorized", new ArrayBuffer(0), [], GrpcStatusValues.Internal);
    return FilterHeadersStatusValues.StopIteration;
  }
}

registerRootContext((context_id: u32) => { return new AuthRoot(context_id); }, "auth");
registerRootContext((context_id: u32) => { return new AuthSingleton(context_id); }, "auth_singleton");
