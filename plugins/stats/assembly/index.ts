// The stats plugin's entry: its root serves every root id (stats.ts; the root id sets the reporter).
// plugins/istio builds the same root into one module with the metadata-exchange plugin's.
import { RootContext, registerRootContext } from "pwasm/sdk";
import { StatsRoot } from "./stats";
export * from "pwasm/sdk/exports";

registerRootContext((id: u32): RootContext => new StatsRoot(id));
