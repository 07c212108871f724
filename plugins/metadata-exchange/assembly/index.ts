// The metadata-exchange plugin's entry: its root serves every root id (metadata_exchange.ts).
// plugins/istio builds the same root into one module with the stats plugin's.
import { RootContext, registerRootContext } from "pwasm/sdk";
import { MetadataExchangeRoot } from "./metadata_exchange";
export * from "pwasm/sdk/exports";

registerRootContext((id: u32): RootContext => new MetadataExchangeRoot(id));
