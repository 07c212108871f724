// auth-callout: asks an authorization service about every request before letting it through.
// The configuration is the cluster of the service. Each request's headers are sent to it (an HTTP
// callout); a 200 lets the request go on with `added-header: authorized`, anything else (or a failed
// callout) answers 401 locally, and a callout that cannot be sent (no such cluster) 500. Body and
// trailers wait until the answer. Responses get `hello: wasm!`. The same plugin in proxy-runtime's
// API: examples/compat-auth-callout.
import {
  Action, GrpcStatus, HttpContext, RootContext, StreamContext, httpCallResponseBody, httpCallResponseHeaders,
  logDebug, registerRootContext,
} from "pwasm/sdk";
export * from "pwasm/sdk/exports";

class AuthRoot extends RootContext {
  cluster: string = "";

  onConfigure(size: u32): bool {
    this.cluster = this.getPluginConfigurationString();
    return true;
  }

  createHttpContext(contextId: u32): StreamContext {
    return new Auth(contextId, this);
  }
}

class Auth extends HttpContext {
  allow: bool = false;

  constructor(contextId: u32, readonly auth: AuthRoot) {
    super(contextId, auth);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    // The service decides from our headers; no body, no trailers, one second.
    const token = this.dispatchHttpCall(this.auth.cluster, this.requestHeaders.getAll(), null, null, 1000);
    if (token == 0) {
      this.sendLocalResponse(500, "internal server error", "", null, GrpcStatus.Internal);
    }
    return Action.Pause;
  }

  // The SDK calls this with this stream as the effective context: its headers are ours to edit.
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    // No headers: the callout failed.
    const status = numHeaders != 0 ? httpCallResponseHeaders.get(":status") : null;
    logDebug("auth body: " + httpCallResponseBody.getString());
    if (status !== null && status == "200") {
      this.requestHeaders.add("added-header", "authorized");
      this.allow = true;
      this.continueRequest();
    } else {
      this.sendLocalResponse(401, "not authorized", "", null, GrpcStatus.Unauthenticated);
    }
  }

  onRequestBody(bodySize: usize, endOfStream: bool): Action {
    return this.allow ? Action.Continue : Action.Pause;
  }

  onRequestTrailers(numTrailers: u32): Action {
    return this.allow ? Action.Continue : Action.Pause;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    this.responseHeaders.add("hello", "wasm!");
    return Action.Continue;
  }
}

registerRootContext((id: u32): RootContext => new AuthRoot(id), "auth");
