// A plugin that does nothing, built with the pwasm SDK: the dev proxy's plugin overhead in
// bench/suite.ts is measured with it.
import { HttpContext, RootContext, registerRootContext } from "pwasm/sdk";
export * from "pwasm/sdk/exports";

class NoopRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext {
    return new HttpContext(contextId, this);
  }
}

registerRootContext((contextId: u32): RootContext => new NoopRoot(contextId));
