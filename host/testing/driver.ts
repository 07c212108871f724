// What a test stream or connection needs from the test host that opened it: the plugin it runs
// through, and a way to run work posted during a call (queue notifications, callout answers).
// TestHost implements it; the streams take this rather than TestHost, which opens them.
import type { Plugin } from "../plugin/plugin.js";

/** The test host as its streams and connections see it. */
export interface TestDriver {
  readonly plugin: Plugin;
  /** Runs posted work; throws CallbackTimeoutError for a callback stopped by its time limit. */
  runPending(): void;
}
