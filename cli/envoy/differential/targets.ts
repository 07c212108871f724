// The two kinds of proxy a scenario runs on: the embedded dev proxy and a real Envoy (a local
// binary or a container), each started from the same bootstrap options and reporting its log lines
// in Envoy's format.
import { startDevProxy } from "../../../host/proxy/dev_proxy.js";
import { formatEnvoyLog } from "../../../host/services/logs.js";
import type { EnvoyBootstrapOptions, JsonMap } from "../bootstrap.js";
import { describeEnvoyTarget, startEnvoy, type EnvoyTarget } from "../launch.js";

/** A running proxy under test. */
export interface ProxyUnderTest {
  url: string;
  adminUrl: string;
  close(): Promise<void>;
}

/** Something that starts proxies from bootstrap options. */
export interface ScenarioTarget {
  /** Short name in reports ("embedded", "envoy"). */
  name: string;
  /** A longer description. */
  description: string;
  /**
   * Starts one proxy; every log line it prints goes to `onLogLine`, in Envoy's format.
   * `envoyConfig` rewrites a real Envoy's bootstrap (ScenarioProxy.envoyConfig).
   */
  start(options: EnvoyBootstrapOptions, onLogLine: (line: string) => void, envoyConfig?: (config: JsonMap) => JsonMap): Promise<ProxyUnderTest>;
}

/** The embedded dev proxy. */
export const embeddedTarget: ScenarioTarget = {
  name: "embedded",
  description: "pwasm's embedded dev proxy",
  async start(options, onLogLine) {
    // One line per output line, as Envoy's output is read (a VM failure's backtrace spans several).
    const proxy = await startDevProxy({ ...options, logLevel: options.logLevel ?? "info", onLog: (e) => formatEnvoyLog(e).split("\n").forEach(onLogLine) });
    return { url: proxy.url, adminUrl: proxy.adminUrl!, close: () => proxy.close() };
  },
};

/** A real Envoy at `target`; its own output goes to `onLogLine` as it prints it. */
export function envoyScenarioTarget(target: EnvoyTarget, o: { logLevel?: string; onProgress?: (m: string) => void } = {}): ScenarioTarget {
  return {
    name: "envoy",
    description: describeEnvoyTarget(target),
    async start(options, onLogLine, envoyConfig) {
      const envoy = await startEnvoy(target, {
        proxy: options, logLevel: o.logLevel ?? "info", concurrency: 1, onOutputLine: onLogLine, onProgress: o.onProgress, readyTimeoutMs: 120_000,
        ...(envoyConfig ? { editConfig: envoyConfig } : {}),
      });
      return { url: envoy.url, adminUrl: envoy.adminUrl, close: () => envoy.stop() };
    },
  };
}
