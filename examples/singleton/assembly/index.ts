// singleton: a token server polled by one plugin and checked by another, sharing the token through
// shared data. Root id "auth_singleton" (the singleton) fetches GET /fetch from the cluster named
// in its configuration every second and stores the body as shared data "data". Root id "auth"
// (the HTTP filter) re-reads "data" every second and lets through only requests whose `x-auth`
// header equals it; the others — and every request before a token arrived — get a local 401.
// Both run in one VM id, so they share the data. The same plugin in proxy-runtime's API:
// examples/compat-singleton.
import {
  Action, GrpcStatus, HeaderPair, HttpContext, RootContext, StreamContext, getSharedData, httpCallResponseBody,
  logInfo, registerRootContext, setSharedData,
} from "pwasm/sdk";
export * from "pwasm/sdk/exports";

class TokenSingleton extends RootContext {
  cluster: string = "";

  onConfigure(size: u32): bool {
    this.cluster = this.getPluginConfigurationString();
    this.setTickPeriod(1000);
    return true;
  }

  onTick(): void {
    const headers = [new HeaderPair(":path", "/fetch"), new HeaderPair(":method", "GET"), new HeaderPair(":authority", "foo")];
    this.dispatchHttpCall(this.cluster, headers, null, null, 1000);
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    if (numHeaders == 0) return; // failed: keep the last token
    setSharedData("data", httpCallResponseBody.get());
    logInfo("singleton: token updated");
  }
}

class AuthRoot extends RootContext {
  token: string = "";

  onConfigure(size: u32): bool {
    this.setTickPeriod(1000);
    return true;
  }

  onTick(): void {
    const data = getSharedData("data");
    if (data === null || data.value.byteLength == 0) return;
    this.token = String.UTF8.decode(data.value);
  }

  createHttpContext(contextId: u32): StreamContext {
    return new Auth(contextId, this);
  }
}

class Auth extends HttpContext {
  constructor(contextId: u32, readonly auth: AuthRoot) {
    super(contextId, auth);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const value = this.requestHeaders.get("x-auth");
    const token = this.auth.token;
    if (token != "" && value !== null && value == token) return Action.Continue;
    this.sendLocalResponse(401, "not authorized", "", null, GrpcStatus.Internal);
    return Action.Pause;
  }
}

registerRootContext((id: u32): RootContext => new AuthRoot(id), "auth");
registerRootContext((id: u32): RootContext => new TokenSingleton(id), "auth_singleton");
