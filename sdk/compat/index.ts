// proxy-runtime's API (@solo-io/proxy-runtime), on the pwasm SDK: a plugin written for
// proxy-runtime compiles with only its imports changed —
//   "@solo-io/proxy-runtime" (or ".../assembly")        → "pwasm/sdk/compat"
//   "@solo-io/proxy-runtime/proxy" (or ".../assembly/proxy") → "pwasm/sdk/compat/proxy"
// Its classes are the native SDK's, so native API (gRPC, TCP wrappers, …) can be mixed in.
export * from "./values";
export * from "./runtime";
export {
  BaseContext, HttpCallback, HttpCallbackFunction, RootContext, Context, CompatRootContextFactory,
  registerRootContext, getRootContext, getCompatContext as getContext,
} from "./context";
