// From the plugin arguments to an Envoy bootstrap's options: the same plugin and proxy settings
// the dev proxy gets (devProxyOptionsFromArgs, with its precedence rules), plus what only Envoy needs.
import { devProxyOptionsFromArgs, type PluginArgs } from "../plugin_args.js";
import type { EnvoyBootstrapOptions, JsonMap } from "./bootstrap.js";

/** Options `pwasm envoy-config` adds to the shared plugin options. */
export interface EnvoyOnlyOptions {
  runtime?: string;
}

/**
 * Builds the bootstrap options from `pwasm run --envoy` / `pwasm envoy-config` arguments (plugin
 * projects are built first). The node and the properties pass as the dev proxy takes them: the
 * bootstrap folds `node.*` pins into the node it declares, so a `--property node.metadata.X` wins
 * over `--node-metadata`'s X in Envoy as it does in the dev proxy.
 */
export async function envoyOptionsFromArgs(args: string[], o: PluginArgs & EnvoyOnlyOptions): Promise<EnvoyBootstrapOptions> {
  // Log level and concurrency are Envoy command-line flags, not bootstrap fields. Project
  // directories are built there, with the build line on stderr (the bootstrap may go to stdout).
  const base = await devProxyOptionsFromArgs(args, o);
  const { id, cluster, metadata } = base.node ?? {};
  return {
    ...base,
    plugins: base.plugins.map((p) => ({ ...p, type: p.type ?? "http" })),
    node: { id, cluster, metadata: metadata as JsonMap | undefined },
    runtime: o.runtime,
    accessLog: o.accessLog,
  };
}
