// add-header: adds a configurable header to every response and counts the requests it saw.
//
// Configuration (JSON-free on purpose, to stay tiny): "name: value", e.g. "x-hello: world".
// Default: "x-pwasm: add-header".
import { Action, Counter, HttpContext, RootContext, registerRootContext } from "pwasm/sdk";
export * from "pwasm/sdk/exports";

class AddHeaderRoot extends RootContext {
  headerName: string = "x-pwasm";
  headerValue: string = "add-header";
  requests: Counter = new Counter(0);

  onConfigure(size: u32): bool {
    this.requests = Counter.define("add_header.requests_total");
    if (size == 0) return true;
    const config = this.getPluginConfigurationString();
    const colon = config.indexOf(":");
    if (colon <= 0) return false; // reject: Envoy refuses this configuration (a running proxy keeps its previous one)
    let start = colon + 1;
    if (start < config.length && config.charCodeAt(start) == 32) start++; // one optional space
    this.headerName = config.substring(0, colon); // the host lower-cases header names
    this.headerValue = config.substring(start);
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new AddHeader(contextId, this);
  }
}

class AddHeader extends HttpContext {
  constructor(contextId: u32, readonly config: AddHeaderRoot) {
    super(contextId, config);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    this.config.requests.increment();
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    this.responseHeaders.add(this.config.headerName, this.config.headerValue);
    return Action.Continue;
  }
}

registerRootContext((id: u32): RootContext => new AddHeaderRoot(id), "add_header");
