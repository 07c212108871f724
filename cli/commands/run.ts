// `pwasm run <plugin...>`: the embedded dev proxy, with Envoy's plugin settings as flags.
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import inspector from "node:inspector";
import { relative, resolve } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { formatEnvoyLog, parseLogLevel } from "../../host/services/logs.js";
import type { PropertyLiteral } from "../../host/values/stream_info.js";
import { startDevProxy, type DevProxy, type DevProxyOptions, type DevProxyPlugin } from "../../host/proxy/dev_proxy.js";
import type { FailurePolicy } from "../../host/vm/runtime.js";
import { looksLikeWasm } from "../../host/wasm/binary.js";
import { compileWithProgress } from "../build/progress.js";
import { devProxySwap, watchPlugins } from "../watch/watch.js";
import { DEFAULT_ENVOY_IMAGE } from "../envoy/container.js";
import { runInEnvoy } from "../envoy/run_envoy.js";
import { ENVOY_IMAGE_ENV } from "../envoy/launch.js";
import { ENVOY_BIN_ENV } from "../envoy/local_envoy.js";
import { UserError } from "../errors.js";
import { hostPort, httpUrl, keyValue, positiveInt, repeatable, textOrFile, wholeNumber } from "../options.js";
import type { NodeInfo } from "../../host/values/envoy_messages.js";
import type { JsonObject } from "../../host/values/protobuf.js";
import { printBuild } from "./build.js";

/** Options of `pwasm run`, as parsed. */
export interface RunOptions {
  listen: { host: string; port: number };
  admin: { host: string; port: number } | false;
  upstream?: string;
  directResponse: string;
  config?: string[];
  rootId?: string[];
  name?: string[];
  vmId?: string[];
  vmConfig?: string[];
  /** Per plugin: http (default) or network. */
  type?: string[];
  failurePolicy?: FailurePolicy;
  failOpen?: boolean;
  env?: string[];
  cluster?: string[];
  property?: string[];
  nodeMetadata?: string;
  nodeId?: string;
  nodeCluster?: string;
  listenerDirection?: "inbound" | "outbound";
  reloadBackoff?: number;
  concurrency: number;
  logLevel: string;
  debug?: boolean;
  /** `--inspect[=host:port]`: Node's inspector for a debugger (true: 127.0.0.1:9229). */
  inspect?: boolean | { host: string; port: number };
  /** `--callback-time-limit <ms>`: the dev proxy's limit on one plugin callback (0: none). */
  callbackTimeLimit?: number;
  /** `--stream-idle-timeout <ms>`: Envoy's stream_idle_timeout (0: none). */
  streamIdleTimeout?: number;
  watch?: boolean;
  envoy?: boolean;
  envoyImage?: string;
  envoyBin?: string;
}

/**
 * A plugin argument of run, envoy-config, bench and push: a .wasm file, or a project directory
 * built first (build line on stderr, so a command's own output stays clean). Returns the module's
 * path; a file that is not WebAssembly is refused here, before anything is started or written.
 */
export async function resolvePluginArg(arg: string, debug = false): Promise<string> {
  const path = resolve(arg);
  if (!existsSync(path)) throw new UserError(`no such plugin: ${arg} (expected a .wasm file or a project directory)`);
  if (statSync(path).isDirectory()) {
    // A build takes seconds: say it started, then what it produced.
    const r = await compileWithProgress({ dir: path, target: debug ? "debug" : "release" }, process.stderr);
    printBuild(r, process.stderr);
    return r.outFile;
  }
  const head = Buffer.alloc(8);
  const fd = openSync(path, "r");
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  assertWasm(head, arg);
  return path;
}

/** Refuses bytes that do not start as a WebAssembly module does; `name` is what the user gave. */
export function assertWasm(bytes: Uint8Array, name: string): void {
  if (!looksLikeWasm(bytes)) throw new UserError(`${name} is not a WebAssembly module (no \\0asm magic and version 1)`);
}

// The k-th value of a repeatable option belongs to the k-th plugin.
function nth(values: string[] = [], i: number, count: number, flag: string): string | undefined {
  if (values.length > count) throw new UserError(`${flag} was given ${values.length} times for ${count} plugin(s)`);
  return values[i];
}

/** Parses `--property path=value`: numbers become int64, true/false booleans, else strings. */
export function parseProperty(spec: string): [string, PropertyLiteral] {
  const [k, v] = keyValue(spec, "--property", "path=value");
  if (/^-?\d+$/.test(v)) return [k, BigInt(v)];
  if (v === "true" || v === "false") return [k, v === "true"];
  return [k, v];
}

// `--cluster name=url`: the URL must be http(s).
function clusterArg(spec: string): [string, string] {
  const [name, url] = keyValue(spec, "--cluster", "name=url");
  httpUrl(url, `--cluster ${name}`);
  return [name, url];
}

// A whole number of milliseconds, 1 or more (Envoy's backoff needs a positive base interval).
function positiveMs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of milliseconds ≥ 1, got '${value}'`);
  return n;
}

// `--upstream`: an http(s) URL; for network plugins the TCP address, written tcp://host:port (or
// http://host:port) and passed on as http://host:port, the form both proxies' settings take.
function upstreamArg(spec: string, plugins: DevProxyPlugin[]): string {
  if (!plugins.some((p) => p.type === "network")) {
    httpUrl(spec, "--upstream");
    return spec;
  }
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new UserError(`--upstream is not a URL: ${spec}`);
  }
  if (url.protocol !== "tcp:" && url.protocol !== "http:") throw new UserError(`--upstream for network plugins must be tcp://host:port, got ${spec}`);
  if (!url.port) throw new UserError(`--upstream for network plugins needs a port: ${spec}`);
  if (url.pathname.replace(/^\/$/, "") || url.search) throw new UserError(`--upstream for network plugins is an address, not a URL with a path: ${spec}`);
  return `http://${url.host}`;
}

/** Parses `--node-metadata` JSON as the node's metadata Struct (nested values kept as they are). */
export function parseNodeMetadataJson(json: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new UserError(`--node-metadata is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UserError("--node-metadata must be a JSON object");
  return parsed as JsonObject;
}

// `--config text` or `--config @file`: kept as given by the option parser, so the files can be
// watched (configFilesFromArgs); read here.
function configurationArg(spec: string | undefined): string | undefined {
  if (spec === undefined) return undefined;
  try {
    return textOrFile(spec);
  } catch (err) {
    throw new UserError(`--config: ${(err as Error).message}`);
  }
}

/** The file each plugin's configuration comes from (`--config @file`), by position; undefined for inline text. */
export function configFilesFromArgs(o: Pick<RunOptions, "config">): Array<string | undefined> {
  return (o.config ?? []).map((c) => (c.startsWith("@") ? resolve(c.slice(1)) : undefined));
}

/** Builds the dev proxy's plugin list from the arguments and options. */
export async function pluginsFromArgs(args: string[], o: RunOptions): Promise<DevProxyPlugin[]> {
  const failurePolicy: FailurePolicy | undefined = o.failOpen ? "FAIL_OPEN" : o.failurePolicy;
  for (const t of o.type ?? []) if (t !== "http" && t !== "network") throw new UserError(`--type must be http or network, got '${t}'`);
  const environment = Object.fromEntries((o.env ?? []).map((e) => keyValue(e, "--env", "KEY=VALUE")));
  const out: DevProxyPlugin[] = [];
  for (let i = 0; i < args.length; i++) {
    const n = args.length;
    out.push({
      wasm: await resolvePluginArg(args[i]!, o.debug),
      configuration: configurationArg(nth(o.config, i, n, "--config")),
      rootId: nth(o.rootId, i, n, "--root-id"),
      name: nth(o.name, i, n, "--name"),
      vmId: nth(o.vmId, i, n, "--vm-id"),
      vmConfiguration: nth(o.vmConfig, i, n, "--vm-config"),
      type: nth(o.type, i, n, "--type") as DevProxyPlugin["type"],
      failurePolicy,
      reloadBackoffMs: o.reloadBackoff,
      environment,
      concurrency: o.concurrency,
    });
  }
  return out;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run plugins in the embedded dev proxy: an HTTP/1.1 listener, the plugins as a filter chain, then an upstream or a direct response")
    .argument("<plugins...>", ".wasm files or project directories (built first), in filter order")
    .addOption(new Option("-l, --listen <host:port>", "listener address").argParser(hostPort).default({ host: "127.0.0.1", port: 10000 }, "127.0.0.1:10000"))
    .addOption(new Option("--admin <host:port|off>", "admin listener (/ready, /stats/prometheus)").argParser((v: string) => (v === "off" ? false : hostPort(v))).default({ host: "127.0.0.1", port: 9901 }, "127.0.0.1:9901"))
    .option("-u, --upstream <url>", "forward requests to this http(s) URL (network plugins: the tcp://host:port to forward connections to)")
    .option("--direct-response <status[:body]>", "reply when there is no --upstream", "200")
    .addOption(repeatable("-c, --config <text|@file>", "plugin configuration (per plugin; with --watch a @file is watched and reloaded)"))
    .addOption(repeatable("--root-id <id>", "root id (Envoy root_id; per plugin)"))
    .addOption(repeatable("--name <name>", "plugin name (Envoy name; per plugin)"))
    .addOption(repeatable("--vm-id <id>", "VM id (Envoy vm_config.vm_id; per plugin)"))
    .addOption(repeatable("--vm-config <text|@file>", "VM configuration (per plugin)", textOrFile))
    .addOption(repeatable("--type <http|network>", "filter type (per plugin): http, or network — a TCP filter: the listener then proxies TCP to --upstream (tcp://host:port), as Envoy's tcp_proxy (default: http)"))
    .addOption(new Option("--failure-policy <policy>", "what a trap does to streams (default: FAIL_RELOAD)").choices(["FAIL_RELOAD", "FAIL_CLOSED", "FAIL_OPEN"]))
    .option("--fail-open", "same as --failure-policy FAIL_OPEN")
    .addOption(repeatable("--env <KEY=VALUE>", "environment variable for the plugins"))
    .option("--reload-backoff <ms>", "FAIL_RELOAD: least time between VM reloads (Envoy reload_config.backoff.base_interval) (default: 1000)", positiveMs)
    .option("--stream-idle-timeout <ms>", "end a stream with no data either way for this long, as Envoy's stream_idle_timeout: a stream a plugin never resumes, a client or upstream that stopped reading; 0 = never (default: 300000, Envoy's)", wholeNumber)
    .addOption(repeatable("--cluster <name=url>", "cluster for callouts: proxy_http_call over HTTP/1.1, proxy_grpc_call/stream over HTTP/2 (h2c for http://)"))
    .addOption(repeatable("--property <path=value>", "pin a property, e.g. request.id=abc (numbers are int64)"))
    .option("--node-metadata <json|@file>", "the node's metadata Struct as a JSON object (node.metadata.*, e.g. Istio's NAME, LABELS)", textOrFile)
    .option("--node-id <id>", "the node's id (node.id; Istio sidecars: sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local)")
    .option("--node-cluster <name>", "the node's cluster (node.cluster)")
    .addOption(new Option("--listener-direction <direction>", "listener_direction the plugins see").choices(["inbound", "outbound"]))
    .option("--concurrency <n>", "VMs per plugin (Envoy: one per worker)", positiveInt, 1)
    .option("--callback-time-limit <ms>", "fail a plugin's VM when one callback runs longer than this (the failure policy applies); every connection waits while a callback runs; 0 = no limit (default: 1000; none with --inspect)", wholeNumber)
    .option("--log-level <level>", "plugin log level: trace, debug, info, warn, error, critical", "info")
    .option("--debug", "build project directories with the debug target")
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
    .action(async (args: string[], o: RunOptions) => {
      if (o.envoy || o.envoyImage || o.envoyBin) {
        if (o.inspect) throw new UserError("--inspect debugs plugins in the dev proxy; Envoy has no debugger for them (drop --envoy)");
        if (o.callbackTimeLimit !== undefined) throw new UserError("--callback-time-limit applies to the dev proxy; Envoy's V8 runtime has no callback time limit (drop --envoy)");
        return runInEnvoy(args, o, configFilesFromArgs(o));
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
    });
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
  const name = (i: number) => relative(process.cwd(), watched[i]!.projectDir ?? String(watched[i]!.options.wasm)) || ".";
  const file = (i: number) => relative(process.cwd(), watched[i]!.configFile ?? "");
  process.stderr.write(`pwasm: watching ${watched.map((w, i) => `${name(i)}${w.configFile ? ` and ${file(i)}` : ""}`).join(", ")} for changes\n`);
  return watchPlugins(devProxySwap(proxy), watched, {
    onRebuildStart: (i, what) => process.stderr.write(what === "sources" ? `pwasm: ${name(i)} changed, rebuilding…\n` : `pwasm: ${file(i)} changed, reloading plugin ${i + 1}…\n`),
    onSwapped: (i, d) => process.stderr.write(
      `pwasm: reloaded ${name(i)}${d.bytes !== undefined ? ` (${d.bytes.toLocaleString("en-US")} bytes)` : ""} in ${d.ms} ms; new requests use the new VM${d.inFlight ? `, ${d.inFlight} in flight finish on the old one` : ""}\n`,
    ),
    onError: (i, message) => process.stderr.write(`pwasm: ${name(i)} not reloaded, the previous version keeps serving:\n${message}\n`),
  }, debug);
}

/** The dev proxy's options from `pwasm run`'s arguments (plugins built first); `--envoy` uses the same. */
export async function devProxyOptionsFromArgs(args: string[], o: RunOptions): Promise<DevProxyOptions> {
  let logLevel;
  try {
    logLevel = parseLogLevel(o.logLevel);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const plugins = await pluginsFromArgs(args, o);
  const m = /^(\d{3})(?::([\s\S]*))?$/.exec(o.directResponse);
  if (!m) throw new UserError(`--direct-response must be <status>[:<body>], got '${o.directResponse}'`);
  const properties: Record<string, PropertyLiteral> = Object.fromEntries((o.property ?? []).map(parseProperty));
  const node: NodeInfo = {
    ...(o.nodeId !== undefined ? { id: o.nodeId } : {}),
    ...(o.nodeCluster !== undefined ? { cluster: o.nodeCluster } : {}),
    ...(o.nodeMetadata ? { metadata: parseNodeMetadataJson(o.nodeMetadata) } : {}),
  };
  return {
    plugins,
    host: o.listen.host, port: o.listen.port,
    admin: o.admin === false ? false : { host: o.admin.host, port: o.admin.port },
    upstream: o.upstream === undefined ? undefined : upstreamArg(o.upstream, plugins),
    directResponse: { status: Number(m[1]), body: m[2] ?? "" },
    clusters: Object.fromEntries((o.cluster ?? []).map((c) => clusterArg(c))),
    properties,
    node,
    listenerDirection: o.listenerDirection,
    logLevel,
    ...(o.inspect ? { debugging: true } : {}),
    ...(o.callbackTimeLimit !== undefined ? { callbackTimeLimitMs: o.callbackTimeLimit } : {}),
    ...(o.streamIdleTimeout !== undefined ? { streamIdleTimeoutMs: o.streamIdleTimeout } : {}),
  };
}

/** Starts the dev proxy for `pwasm run` and prints where it listens. */
export async function startFromOptions(args: string[], o: RunOptions): Promise<{ proxy: DevProxy; plugins: DevProxyPlugin[] }> {
  const options = await devProxyOptionsFromArgs(args, o);
  const plugins = options.plugins;
  const network = plugins.some((p) => p.type === "network");
  if (network && plugins.some((p) => p.type !== "network")) {
    throw new UserError("the dev proxy runs either HTTP plugins or network plugins on its listener, not both (run them separately, or with --envoy)");
  }
  let proxy: DevProxy;
  try {
    proxy = await startDevProxy({ ...options, onLog: (e) => process.stderr.write(`${formatEnvoyLog(e)}\n`) });
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
    process.stderr.write(`pwasm: plugin ${i + 1}: ${relative(process.cwd(), String(plugins[i]!.wasm))} (ABI ${p.abiVersion}, root_id "${p.config.rootId}", ${p.concurrency} VM${p.concurrency > 1 ? "s" : ""})\n`);
  }
  const target = network
    ? options.upstream ? `tcp://${new URL(options.upstream).host}` : "direct response (its body, then close)"
    : o.upstream ?? `direct response ${options.directResponse!.status}`;
  process.stderr.write(`pwasm: listening on ${proxy.url} → ${target}\n`);
  if (proxy.adminUrl) process.stderr.write(`pwasm: admin on ${proxy.adminUrl} (/ready, /stats/prometheus)\n`);
  if (proxy.adminUrl && !network) process.stderr.write(`pwasm: request inspector on ${proxy.adminUrl}/inspector\n`);
  return { proxy, plugins };
}
