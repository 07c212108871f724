// add-header written with @gcoredev/proxy-wasm-sdk-as (the maintained AssemblyScript SDK on
// AssemblyScript 0.28), for the SDK comparison in bench/suite.ts. Same behaviour as
// examples/add-header: a configured response header ("name: value") and a request counter.
export * from "@gcoredev/proxy-wasm-sdk-as/assembly/proxy";
import {
  Context, FilterHeadersStatusValues, RootContext, registerRootContext, stream_context,
} from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { Counter } from "@gcoredev/proxy-wasm-sdk-as/assembly/runtime";

class AddHeaderRoot extends RootContext {
  headerName: string = "x-pwasm";
  headerValue: string = "add-header";
  requests: Counter | null = null;

  onConfigure(configurationSize: u32): bool {
    super.onConfigure(configurationSize);
    this.requests = new Counter("add_header.requests_total");
    const config = this.getConfiguration();
    const colon = config.indexOf(":");
    if (colon > 0) {
      this.headerName = config.substring(0, colon);
      let start = colon + 1;
      if (start < config.length && config.charCodeAt(start) == 32) start++;
      this.headerValue = config.substring(start);
    }
    return true;
  }

  createContext(contextId: u32): Context {
    return new AddHeader(contextId, this);
  }
}

class AddHeader extends Context {
  constructor(contextId: u32, readonly config: AddHeaderRoot) {
    super(contextId, config);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatusValues {
    this.config.requests!.increment(1);
    return FilterHeadersStatusValues.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatusValues {
    stream_context.headers.response.add(this.config.headerName, this.config.headerValue);
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((contextId: u32) => {
  return new AddHeaderRoot(contextId);
}, "add_header");
