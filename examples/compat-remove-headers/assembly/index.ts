// compat-remove-headers: examples/remove-headers in proxy-runtime's API, written the way
// proxy-runtime's remove-headers example is. Only the import paths differ from a proxy-runtime plugin.
export * from "pwasm/sdk/compat/proxy";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, stream_context, log, LogLevelValues,
} from "pwasm/sdk/compat";

class RemoveHeadersRoot extends RootContext {
  createContext(context_id: u32): Context {
    return new RemoveHeader(context_id, this);
  }
}

class RemoveHeader extends Context {
  token_str: string;
  rm_tokens: Array<string> = [];

  constructor(context_id: u32, root_context: RemoveHeadersRoot) {
    super(context_id, root_context);
    this.token_str = root_context.getConfiguration();
    if (this.token_str != "") {
      // the prefixes of the response headers to remove
      this.rm_tokens = this.token_str.split(",");
    }
  }

  onResponseHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    if (this.token_str == "") {
      return FilterHeadersStatusValues.Continue;
    }
    const hdr_arr = stream_context.headers.response.get_headers();
    const num_hdrs = hdr_arr.length;
    for (let i = 0; i < num_hdrs; i++) {
      const hdr_key = String.UTF8.decode(hdr_arr[i].key);
      const num_tokens = this.rm_tokens.length;
      for (let j = 0; j < num_tokens; j++) {
        if (hdr_key.startsWith(this.rm_tokens[j])) {
          stream_context.headers.response.remove(hdr_key);
          log(LogLevelValues.debug, "removed response header: " + hdr_key);
          break;
        }
      }
    }
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new RemoveHeadersRoot(context_id); }, "remove_headers");
