// remove-headers: removes response headers whose names start with any of the configured prefixes
// (comma-separated, e.g. "x-internal-,server"), so internal details do not leak to clients.
// Without configuration it changes nothing. The same plugin in proxy-runtime's API:
// examples/compat-remove-headers.
import { Action, HttpContext, RootContext, StreamContext, logDebug, registerRootContext } from "pwasm/sdk";
export * from "pwasm/sdk/exports";

class RemoveHeadersRoot extends RootContext {
  prefixes: string[] = [];

  onConfigure(size: u32): bool {
    const config = this.getPluginConfigurationString();
    this.prefixes = config.length > 0 ? config.split(",") : [];
    return true;
  }

  createHttpContext(contextId: u32): StreamContext {
    return new RemoveHeaders(contextId, this);
  }
}

class RemoveHeaders extends HttpContext {
  constructor(contextId: u32, readonly config: RemoveHeadersRoot) {
    super(contextId, config);
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    const prefixes = this.config.prefixes;
    if (prefixes.length == 0) return Action.Continue;
    const headers = this.responseHeaders.getAll();
    for (let i = 0; i < headers.length; i++) {
      const name = headers[i].key;
      for (let j = 0; j < prefixes.length; j++) {
        if (name.startsWith(prefixes[j])) {
          this.responseHeaders.remove(name);
          logDebug("removed response header: " + name);
          break;
        }
      }
    }
    return Action.Continue;
  }
}

registerRootContext((id: u32): RootContext => new RemoveHeadersRoot(id), "remove_headers");
