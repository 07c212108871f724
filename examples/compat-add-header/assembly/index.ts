// compat-add-header: examples/add-header written against proxy-runtime's API, the way
// proxy-runtime's own add-header example is written. Only the two import paths differ from a
// proxy-runtime plugin ("@solo-io/proxy-runtime" → "pwasm/sdk/compat", ".../proxy" →
// "pwasm/sdk/compat/proxy"). Same behaviour as examples/add-header: adds the configured response
// header ("name: value"; default "x-pwasm: add-header") and counts requests.
export * from "pwasm/sdk/compat/proxy";
import {
  RootContext, Context, Counter, registerRootContext, FilterHeadersStatusValues, stream_context,
} from "pwasm/sdk/compat";

class AddHeaderRoot extends RootContext {
  headerName: string = "x-pwasm";
  headerValue: string = "add-header";
  requests: Counter | null = null;

  onConfigure(configuration_size: u32): bool {
    super.onConfigure(configuration_size);
    this.requests = new Counter("add_header.requests_total");
    const configuration = this.getConfiguration();
    if (configuration == "") return true;
    const colon = configuration.indexOf(":");
    if (colon <= 0) return false;
    let start = colon + 1;
    if (start < configuration.length && configuration.charAt(start) == " ") start++; // one optional space
    this.headerName = configuration.substring(0, colon);
    this.headerValue = configuration.substring(start);
    return true;
  }

  createContext(context_id: u32): Context {
    return new AddHeader(context_id, this);
  }
}

class AddHeader extends Context {
  constructor(context_id: u32, root_context: AddHeaderRoot) {
    super(context_id, root_context);
  }

  onRequestHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const root_context = this.root_context as AddHeaderRoot;
    root_context.requests!.increment(1);
    return FilterHeadersStatusValues.Continue;
  }

  onResponseHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const root_context = this.root_context as AddHeaderRoot;
    stream_context.headers.response.add(root_context.headerName, root_context.headerValue);
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new AddHeaderRoot(context_id); }, "add_header");
