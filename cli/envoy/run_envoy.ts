// `pwasm run --envoy`: the same plugins and proxy settings as `pwasm run`, served by a real Envoy
// (a local binary, or a container) under pwasm's agent (agent.ts): ready only once the plugins
// loaded, restarted with backoff when it dies, drained on Ctrl-C. With --watch, a source change
// rebuilds the plugin and hands it to the running Envoy through ECDS; a build error or a plugin
// Envoy refuses keeps the previous one serving.
import { resolve } from "node:path";
import { statSync } from "node:fs";
import type { PluginArgs } from "../plugin_args.js";
import type { DevProxyPlugin } from "../../host/proxy/dev_proxy.js";
import { formatBytes, shownPath } from "../format.js";
import { watchPlugins, type PluginSwap, type WatchedPlugin } from "../watch/watch.js";
import { EnvoyAgent } from "./agent.js";
import type { EnvoyPlugin } from "./bootstrap.js";
import { describeEnvoyTarget, chooseEnvoy } from "./launch.js";
import { envoyOptionsFromArgs } from "./options.js";

const say = (m: string) => process.stderr.write(`pwasm: ${m}\n`);
// An access log line in Envoy's default format starts with its start time: [2026-12-02T14:29:51.309Z] "GET …
const ACCESS_LOG_LINE = /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "/;

/** Envoy's swap for the watcher: the agent rewrites the plugin's ECDS resource and waits for Envoy to apply it. */
export function envoySwap(agent: EnvoyAgent, plugins: EnvoyPlugin[]): PluginSwap {
  return async (index, next: DevProxyPlugin) => {
    await agent.updatePlugin(index, { ...plugins[index], ...next });
    // Envoy applied it already: nothing to commit, nothing to take back.
    return { commit: () => ({ inFlight: 0 }), discard: () => undefined };
  };
}

/** `pwasm run --envoy`'s options: the shared plugin options, which Envoy, and whether to watch. */
export interface RunInEnvoyOptions extends PluginArgs {
  envoyBin?: string;
  envoyImage?: string;
  watch?: boolean;
}

/**
 * Runs the plugins in Envoy until Ctrl-C. `configFiles[i]`: the file plugin i's `--config @file`
 * came from (watched with --watch).
 */
export async function runInEnvoy(args: string[], o: RunInEnvoyOptions, configFiles: Array<string | undefined> = []): Promise<void> {
  const target = await chooseEnvoy({ bin: o.envoyBin, image: o.envoyImage });
  const proxy = await envoyOptionsFromArgs(args, o);
  // Ctrl-C while Envoy starts: the start gives up and stops Envoy, then pwasm leaves.
  const interrupt = new AbortController();
  const abort = () => {
    say("interrupted, stopping Envoy");
    process.exitCode = 130;
    interrupt.abort();
  };
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  say(`starting ${describeEnvoyTarget(target)}…`);
  let agent: EnvoyAgent;
  try {
    agent = await EnvoyAgent.start({
      target, proxy, logLevel: o.logLevel, concurrency: o.concurrency,
      // Envoy's stdout access logger (--access-log) to stdout, as the dev proxy writes it; its log to stderr.
      onLog: (line) => (o.accessLog && ACCESS_LOG_LINE.test(line) ? process.stdout : process.stderr).write(`${line}\n`),
      onProgress: say,
      signal: interrupt.signal,
      events: {
        onCrash: (code, tail) => say(`Envoy exited unexpectedly (${code === null ? "killed by a signal" : `code ${code}`}); its last lines:\n${tail.map((l) => `    ${l}`).join("\n")}`),
        onRestarting: (attempt, ms) => say(`restarting Envoy in ${ms} ms (attempt ${attempt})…`),
        onRestarted: (ms) => say(`Envoy serves again (restarted in ${ms} ms)`),
        onRestartFailed: (m) => say(`Envoy did not restart: ${m}`),
      },
    });
  } catch (err) {
    if (interrupt.signal.aborted) return;
    throw err;
  } finally {
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
  }
  for (const [i, p] of proxy.plugins.entries()) {
    say(`plugin ${i + 1}: ${shownPath(String(p.wasm))} (root_id "${p.rootId ?? ""}", ${p.type ?? "http"} filter)`);
  }
  say(`Envoy ready on ${agent.url} → ${o.upstream ?? `direct response ${proxy.directResponse?.status ?? 200}`} (plugins loaded, listener accepting)`);
  const container = agent.current && "name" in agent.current ? `; container ${String(agent.current.name)}` : "";
  say(`admin on ${agent.adminUrl} (/ready, /stats/prometheus, /config_dump)${container}`);
  const stopWatching = o.watch ? watchInEnvoy(agent, args, proxy.plugins, configFiles, o.debug) : undefined;
  await new Promise<void>((done) => {
    const stop = () => {
      say("shutting down: draining Envoy, then stopping it");
      stopWatching?.();
      void agent.stop().then(done);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

// Watches project directories (rebuild), .wasm files and configuration files (reload), and hands
// each new version to Envoy.
function watchInEnvoy(agent: EnvoyAgent, args: string[], plugins: EnvoyPlugin[], configFiles: Array<string | undefined>, debug?: boolean): () => void {
  const watched: WatchedPlugin[] = plugins.map((options, i) => {
    const path = resolve(args[i]!);
    return { options, projectDir: statSync(path).isDirectory() ? path : undefined, configFile: configFiles[i] };
  });
  const name = (i: number) => shownPath(watched[i]!.projectDir ?? String(watched[i]!.options.wasm));
  say(`watching ${watched.map((w, i) => `${name(i)}${w.configFile ? ` and ${shownPath(w.configFile)}` : ""}`).join(", ")} for changes`);
  return watchPlugins(envoySwap(agent, plugins), watched, {
    onRebuildStart: (i, what) => say(what === "sources" ? `${name(i)} changed, rebuilding…` : `${shownPath(watched[i]!.configFile!)} changed, reloading plugin ${i + 1}…`),
    onSwapped: (i, d) => say(`Envoy took the new ${name(i)}${d.bytes !== undefined ? ` (${formatBytes(d.bytes)})` : ""} in ${d.ms} ms; new requests use the new VM, requests in flight finish on the old one`),
    onError: (i, message) => say(`${name(i)} not reloaded, the previous version keeps serving:\n${message}`),
  }, debug);
}
