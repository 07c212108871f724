// The differences between the embedded dev proxy and Envoy that pwasm keeps on purpose, each with
// its reason. The differential suite fails on any difference not listed here.
import type { IntentionalDifference } from "./compare.js";

export const INTENTIONAL_DIFFERENCES: readonly IntentionalDifference[] = [
  {
    pattern: /: response header server: embedded absent, envoy "envoy"$/,
    reason: "Envoy names itself in `server` (server_name); the dev proxy sends no server header, so a plugin that sets or reads it is not misled into thinking it runs in Envoy",
  },
];
