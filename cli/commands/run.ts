// `pwasm run <plugin...>`: the embedded dev proxy, with Envoy's plugin settings as flags.
import { statSync } from "node:fs";
import inspector from "node:inspector";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { formatEnvoyLog } from "../../host/services/logs.js";
import { startDevProxy, type DevProxy, type DevProxyPlugin } from "../../host/proxy/dev_proxy.js";
import { devProxySwap, watchPlugins } from "../watch/watch.js";
import { DEFAULT_ENVOY_IMAGE } from "../envoy/container.js";
import { runInEnvoy } from "../envoy/run_envoy.js";
import { ENVOY_IMAGE_ENV } from "../envoy/launch.js";
import { ENVOY_BIN_ENV } from "../envoy/local_envoy.js";
import { setExitStatus, UserError } from "../errors.js";
import { formatBytes, plural, shownPath } from "../format.js";
import { hostPort, positiveInt, repeatable, wholeNumber } from "../options.js";
import { addPluginOptions, configFilesFromArgs, devProxyOptionsFromArgs, type PluginArgs } from "../plugin_args.js";

/** Options of `pwasm run`, as parsed: the shared plugin options, and how to run them. */
export interface RunOptions extends PluginArgs {
  concurrency: number;
  logLevel: string;
  watch?: boolean;
  envoy?: boolean;
  envoyImage?: string;
  envoyBin?: string;
}

/** Declares `pwasm run`: arguments, flags (the shared ones from cli/plugin_args.ts), help; the action runs runCommand. */
export function registerRun(program: Command): void {
  const cmd = program
    .command("run")
    .description("run plugins in the embedded dev proxy: an HTTP/1.1 listener, the plugins as a filter chain, then an upstream or a direct response")
    .argument("<plugins...>", ".wasm files or project directories (built first), in filter order");
  addPluginOptions(cmd, ["listen", "admin", "upstream", "directResponse", "config", "rootId", "name", "vmId", "vmConfig"])
    .addOption(repeatable("--type <http|network>", "filter type (per plugin): http, or network — a TCP filter: the listener then proxies TCP to --upstream (tcp://host:port), as Envoy's tcp_proxy (default: http)"));
  addPluginOptions(cmd, ["failurePolicy", "failOpen", "env", "reloadBackoff", "streamIdleTimeout", "accessLog", "cluster", "property", "nodeMetadata"])
    .option("--node-id <id>", "the node's id (node.id; Istio sidecars: sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local)")
    .option("--node-cluster <name>", "the node's cluster (node.cluster)");
  addPluginOptions(cmd, ["listenerDirection"])
    .option("--concurrency <n>", "VMs per plugin (Envoy: one per worker)", positiveInt, 1)
    .option("--callback-time-limit <ms>", "fail a plugin's VM when one callback runs longer than this (the failure policy applies); every connection waits while a callback runs; 0 = no limit (default: 1000; none with --inspect)", wholeNumber)
    .option("--log-level <level>", "plugin log level: trace, debug, info, warn, error, critical", "info");
  addPluginOptions(cmd, ["debug"])
    .addOption(new Option("--inspect [host:port]", "open Node's inspector for Chrome DevTools (chrome://inspect) or VS Code: breakpoints in the plugin's AssemblyScript source; builds the debug target (default: 127.0.0.1:9229)").argParser(hostPort))
    .option("-w, --watch", "rebuild on source changes and swap the plugin live (in-flight requests finish on the old VM)")
    .option("--envoy", `run the plugins in a real Envoy instead of the dev proxy: a local binary (--envoy-bin, $${ENVOY_BIN_ENV}, or envoy on PATH), else a container (docker or podman)`)
    .option("--envoy-bin <path>", `the Envoy binary for --envoy (default: $${ENVOY_BIN_ENV}, else envoy on PATH)`)
    .option("--envoy-image <image>", `run Envoy in a container with this image, or $${ENVOY_IMAGE_ENV} (default: ${DEFAULT_ENVOY_IMAGE} when there is no local Envoy)`)
    .addHelpText("after", `
Examples:
  $ pwasm run examples/add-header --root-id add_header --config 'x-hello: world' --upstream http://127.0.0.1:8080
  $ curl -si http://127.0.0.1:10000/
  $ curl -s http://127.0.0.1:9901/stats/prometheus

Options marked "per plugin" apply by position: the first value to the first plugin, and so on.
Options marked (repeatable) may be given several times. Ctrl-C stops the proxy.`)
    .action(async (args: string[], o: RunOptions) => setExitStatus(await runCommand(args, o)));
}

/**
 * `pwasm run`'s work: serves the plugins in the dev proxy (or, with --envoy, in Envoy) until Ctrl-C.
 * Returns 0 once stopped (Ctrl-C while Envoy starts sets 130 itself; bad input throws).
 */
export async function runCommand(args: string[], o: RunOptions): Promise<number> {
  if (o.envoy || o.envoyImage || o.envoyBin) {
    if (o.inspect) throw new UserError("--inspect debugs plugins in the dev proxy; Envoy has no debugger for them (drop --envoy)");
    if (o.callbackTimeLimit !== undefined) throw new UserError("--callback-time-limit applies to the dev proxy; Envoy's V8 runtime has no callback time limit (drop --envoy)");
    await runInEnvoy(args, o, configFilesFromArgs(o));
    return 0;
  }
  if (o.inspect) {
    o.debug = true; // the debug target carries the source map
    openInspector(o.inspect === true ? { host: "127.0.0.1", port: 9229 } : o.inspect);
  }
  const { proxy, plugins } = await startFromOptions(args, o);
  const stopWatching = o.watch ? startWatching(proxy, args, plugins, configFilesFromArgs(o), o.debug) : undefined;
  await new Promise<void>((done) => {
    const stop = () => {
      process.stderr.write("pwasm: shutting down\n");
      stopWatching?.();
      void proxy.close().then(done);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

// Node's inspector, opened before any plugin loads (so every module is compiled for it) and left
// running: a debugger attaches whenever it likes (docs/debugging.md).
function openInspector(at: { host: string; port: number }): void {
  try {
    inspector.open(at.port, at.host, false);
  } catch (err) {
    throw new UserError(`--inspect: cannot open the inspector on ${at.host}:${at.port}: ${(err as Error).message}`);
  }
  const url = inspector.url();
  if (!url) throw new UserError(`--inspect: the inspector did not open on ${at.host}:${at.port}`);
  const hostPortId = url.replace(/^ws:\/\//, "");
  process.stderr.write(`pwasm: inspector on ${url}\n`);
  process.stderr.write(`pwasm:   Chrome: chrome://inspect (Configure… ${hostPortId.split("/")[0]}), or devtools://devtools/bundled/js_app.html?ws=${hostPortId}\n`);
}

// Watches project directories (rebuild), .wasm files and --config files (reload); reports on stderr.
function startWatching(proxy: DevProxy, args: string[], plugins: DevProxyPlugin[], configFiles: Array<string | undefined>, debug?: boolean): () => void {
  const watched = plugins.map((options, i) => {
    const path = resolve(args[i]!);
    return { options, projectDir: statSync(path).isDirectory() ? path : undefined, configFile: configFiles[i] };
  });
  const name = (i: number) => shownPath(watched[i]!.projectDir ?? String(watched[i]!.options.wasm));
  const file = (i: number) => shownPath(watched[i]!.configFile ?? "");
  process.stderr.write(`pwasm: watching ${watched.map((w, i) => `${name(i)}${w.configFile ? ` and ${file(i)}` : ""}`).join(", ")} for changes\n`);
  return watchPlugins(devProxySwap(proxy), watched, {
    onRebuildStart: (i, what) => process.stderr.write(what === "sources" ? `pwasm: ${name(i)} changed, rebuilding…\n` : `pwasm: ${file(i)} changed, reloading plugin ${i + 1}…\n`),
    onSwapped: (i, d) => process.stderr.write(
      `pwasm: reloaded ${name(i)}${d.bytes !== undefined ? ` (${formatBytes(d.bytes)})` : ""} in ${d.ms} ms; new requests use the new VM${d.inFlight ? `, ${d.inFlight} in flight finish on the old one` : ""}\n`,
    ),
    onError: (i, message) => process.stderr.write(`pwasm: ${name(i)} not reloaded, the previous version keeps serving:\n${message}\n`),
  }, debug);
}

/** Starts the dev proxy for `pwasm run` and prints where it listens. */
async function startFromOptions(args: string[], o: RunOptions): Promise<{ proxy: DevProxy; plugins: DevProxyPlugin[] }> {
  const options = await devProxyOptionsFromArgs(args, o);
  const plugins = options.plugins;
  const network = plugins.some((p) => p.type === "network");
  if (network && plugins.some((p) => p.type !== "network")) {
    throw new UserError("the dev proxy runs either HTTP plugins or network plugins on its listener, not both (run them separately, or with --envoy)");
  }
  let proxy: DevProxy;
  try {
    proxy = await startDevProxy({
      ...options,
      onLog: (e) => process.stderr.write(`${formatEnvoyLog(e)}\n`),
      // Envoy's stdout access logger writes to stdout too (pwasm's own lines go to stderr).
      ...(o.accessLog ? { onAccessLog: (line: string) => process.stdout.write(`${line}\n`) } : {}),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
    if (e.code === "EADDRINUSE") throw new UserError(`address in use: ${e.message.replace(/^listen EADDRINUSE: address already in use /, "")} (choose another with --listen / --admin)`);
    // Not this machine's address (EADDRNOTAVAIL), a privileged port (EACCES), a host name that does not resolve.
    const listenHosts = [o.listen.host, o.admin === false ? undefined : o.admin.host];
    if (e.syscall === "listen" || (e.syscall === "getaddrinfo" && listenHosts.includes(e.hostname))) {
      const where = e.syscall === "listen" ? `${e.address}:${e.port}` : e.hostname;
      throw new UserError(`cannot listen on ${where}: ${e.code} (choose another with --listen / --admin)`);
    }
    throw err;
  }
  for (const [i, p] of proxy.plugins.entries()) {
    process.stderr.write(`pwasm: plugin ${i + 1}: ${shownPath(String(plugins[i]!.wasm))} (ABI ${p.abiVersion}, root_id "${p.config.rootId}", ${p.concurrency} ${plural(p.concurrency, "VM")})\n`);
  }
  const target = network
    ? options.upstream ? `tcp://${new URL(options.upstream).host}` : "direct response (its body, then close)"
    : o.upstream ?? `direct response ${options.directResponse!.status}`;
  process.stderr.write(`pwasm: listening on ${proxy.url} → ${target}\n`);
  if (proxy.adminUrl) process.stderr.write(`pwasm: admin on ${proxy.adminUrl} (/ready, /stats/prometheus)\n`);
  if (proxy.adminUrl && !network) process.stderr.write(`pwasm: request inspector on ${proxy.adminUrl}/inspector\n`);
  return { proxy, plugins };
}
