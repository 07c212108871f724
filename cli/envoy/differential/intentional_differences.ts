// The differences between the embedded dev proxy and Envoy that pwasm keeps on purpose, each with
// its reason. The differential suite fails on any difference not listed here.
import type { IntentionalDifference } from "./compare.js";

export const INTENTIONAL_DIFFERENCES: readonly IntentionalDifference[] = [
  {
    pattern: /: response header server: embedded absent, envoy "envoy"$/,
    reason: "Envoy names itself in `server` (server_name); the dev proxy sends no server header, so a plugin that sets or reads it is not misled into thinking it runs in Envoy",
  },
  {
    pattern: /: log line \d+: embedded "(.*)(.*)", envoy "\1, server=envoy\2"$/,
    reason: "the same `server` header, seen by a plugin that logs the final response headers in proxy_on_log: Envoy adds it after the filters, the dev proxy on purpose does not (the line is otherwise identical)",
  },
  {
    pattern: /: log line \d+: embedded "([^"]*) xds\.node\.extensions OK 0 items", envoy "\1 xds\.node\.extensions OK \d+ items"$/,
    scenario: /^properties: /,
    reason: "xds.node.extensions: Envoy lists every extension compiled into its binary (516 in the 1.40.0 build); the dev proxy has none of them and lists none (the rest of xds.node is compared; docs/envoy/properties.md)",
  },
  {
    pattern: /^proxy( \d+)? startup: log: embedded ×\d+, envoy ×\d+: [^"]*: configure xds\.node\.extensions OK \d+ items$/,
    scenario: /^properties: /,
    reason: "the same extension list, read at on_configure",
  },
];
