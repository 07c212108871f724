// compat-auth-callout: examples/auth-callout in proxy-runtime's API, written the way
// proxy-runtime's auth example is. Only the import paths differ from a proxy-runtime plugin.
export * from "pwasm/sdk/compat/proxy";
import {
  RootContext, Context, BaseContext, registerRootContext, log, LogLevelValues, FilterHeadersStatusValues,
  FilterDataStatusValues, FilterTrailersStatusValues, GrpcStatusValues, WasmResultValues, stream_context,
  send_local_response, continue_request, get_buffer_bytes, BufferTypeValues,
} from "pwasm/sdk/compat";

class AuthRoot extends RootContext {
  createContext(context_id: u32): Context {
    return new Auth(context_id, this);
  }
}

class Auth extends Context {
  allow: bool = false;

  constructor(context_id: u32, root_context: AuthRoot) {
    super(context_id, root_context);
  }

  onRequestHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const cluster = this.root_context.getConfiguration();
    const result = this.root_context.httpCall(cluster,
      // the auth service decides from our headers
      stream_context.headers.request.get_headers(),
      // no body or trailers; one second
      new ArrayBuffer(0), [], 1000,
      // the callback gets this context back
      this,
      (origin_context: BaseContext, headers: u32, body_size: usize, trailers: u32) => {
        const context = origin_context as Auth;
        let allow = false;
        if (headers != 0) {
          const status = stream_context.headers.http_callback.get(":status");
          if (status == "200") allow = true;
        }
        const buf = get_buffer_bytes(BufferTypeValues.HttpCallResponseBody, 0, <u32>body_size);
        log(LogLevelValues.debug, "auth body: " + String.UTF8.decode(buf));
        if (allow) {
          stream_context.headers.request.add("added-header", "authorized");
          context.allow = true;
          continue_request();
        } else {
          send_local_response(401, "not authorized", new ArrayBuffer(0), [], GrpcStatusValues.Unauthenticated);
        }
      });

    if (result != WasmResultValues.Ok) {
      send_local_response(500, "internal server error", new ArrayBuffer(0), [], GrpcStatusValues.Internal);
      return FilterHeadersStatusValues.StopIteration;
    }
    return FilterHeadersStatusValues.StopIteration;
  }

  onResponseHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    stream_context.headers.response.add("hello", "wasm!");
    return FilterHeadersStatusValues.Continue;
  }

  onRequestBody(body_buffer_length: usize, end_of_stream: bool): FilterDataStatusValues {
    return this.allow ? FilterDataStatusValues.Continue : FilterDataStatusValues.StopIterationAndBuffer;
  }

  onRequestTrailers(a: u32): FilterTrailersStatusValues {
    return this.allow ? FilterTrailersStatusValues.Continue : FilterTrailersStatusValues.StopIteration;
  }
}

registerRootContext((context_id: u32) => { return new AuthRoot(context_id); }, "auth");
