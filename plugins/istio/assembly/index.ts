// metadata-exchange and stats in one module, so that Envoy runs both filters in one VM per worker
// instead of two: Envoy shares a VM between filters whose vm_config is the same (vm_id, code and
// VM configuration), and each filter keeps its own root_id and plugin configuration. Each VM costs
// about 1 MiB per worker before a plugin keeps anything (README, "In Envoy").
//
// Root ids: `metadata_exchange`, or none, is the metadata-exchange root; any other (Istio's
// `stats_inbound` and `stats_outbound`, or another id that follows the listener direction) is the
// stats root, as plugins/stats reads it.
import { RootContext, registerRootContext } from "pwasm/sdk";
import { MetadataExchangeRoot } from "../../metadata-exchange/assembly/metadata_exchange";
import { StatsRoot } from "../../stats/assembly/stats";
export * from "pwasm/sdk/exports";

/** The metadata-exchange filter's root id in the combined module (a filter without one gets it too). */
const METADATA_EXCHANGE_ROOT_ID = "metadata_exchange";

// Registered first: a host that sets no root id gets the first root registered.
registerRootContext((id: u32): RootContext => new MetadataExchangeRoot(id), METADATA_EXCHANGE_ROOT_ID);
registerRootContext((id: u32): RootContext => new StatsRoot(id));
