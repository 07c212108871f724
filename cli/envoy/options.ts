// From `pwasm run`'s arguments to an Envoy bootstrap's options: the same plugin and proxy settings
// the dev proxy gets (devProxyOptionsFromArgs), plus what only Envoy needs.
import { UserError } from "../errors.js";
import { devProxyOptionsFromArgs, parseNodeMetadataJson, type RunOptions } from "../commands/run.js";
import type { EnvoyBootstrapOptions, EnvoyFilterKind, JsonMap } from "./bootstrap.js";

/** Options `pwasm envoy-config` adds to `pwasm run`'s. */
export interface EnvoyOnlyOptions {
  /** Per plugin: http (default) or network. */
  type?: string[];
  nodeId?: string;
  nodeCluster?: string;
  runtime?: string;
}

/** Parses `--node-metadata` JSON as a Struct, with `pwasm run`'s checks and messages. */
export function parseNodeMetadata(json: string): JsonMap {
  return parseNodeMetadataJson(json) as JsonMap;
}

/** Builds the bootstrap options from `pwasm run` / `pwasm envoy-config` arguments (plugin projects are built first). */
export async function envoyOptionsFromArgs(args: string[], o: RunOptions & EnvoyOnlyOptions): Promise<EnvoyBootstrapOptions> {
  const types = o.type ?? [];
  if (types.length > args.length) throw new UserError(`--type was given ${types.length} times for ${args.length} plugin(s)`);
  for (const t of types) if (t !== "http" && t !== "network") throw new UserError(`--type must be http or network, got '${t}'`);
  // Log level and concurrency are Envoy command-line flags, not bootstrap fields. Project
  // directories are built there, with the build line on stderr (the bootstrap may go to stdout).
  const base = await devProxyOptionsFromArgs(args, { ...o, logLevel: o.logLevel ?? "info", concurrency: o.concurrency ?? 1 });
  const metadata = o.nodeMetadata ? parseNodeMetadata(o.nodeMetadata) : undefined;
  // The dev proxy takes node metadata as node.metadata.* properties (nested values as JSON text);
  // Envoy takes the Struct itself.
  const properties = { ...base.properties };
  for (const k of Object.keys(metadata ?? {})) delete properties[`node.metadata.${k}`];
  return {
    ...base,
    properties,
    plugins: base.plugins.map((p, i) => ({ ...p, type: (types[i] ?? "http") as EnvoyFilterKind })),
    node: { id: o.nodeId, cluster: o.nodeCluster, metadata },
    runtime: o.runtime,
  };
}
