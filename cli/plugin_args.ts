// The plugin and proxy arguments that `pwasm run`, `pwasm envoy-config`, `pwasm bench` and `pwasm
// push` share: a plugin argument (a .wasm file or a project built first), the per-plugin settings
// (--config/@file, --root-id, --vm-id, …), the failure policy, the node, properties, clusters and
// the upstream; their flags, and how they become the dev proxy's options. One module, so every
// command reads them alike (docs/architecture.md, "CLI").
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { parseLogLevel } from "../host/services/logs.js";
import type { NodeInfo } from "../host/values/envoy_messages.js";
import type { JsonObject } from "../host/values/protobuf.js";
import type { PropertyLiteral } from "../host/values/stream_info.js";
import type { DevProxyOptions, DevProxyPlugin } from "../host/proxy/dev_proxy.js";
import type { FailurePolicy } from "../host/vm/runtime.js";
import { looksLikeWasm } from "../host/wasm/binary.js";
import { compileWithProgress, printBuild } from "./build/progress.js";
import { UserError } from "./errors.js";
import { hostPort, httpUrl, keyValue, repeatable, textOrFile, wholeNumber } from "./options.js";

/** The plugin and proxy options, as commander parses them (attribute names of the flags). */
export interface PluginArgs {
  listen: { host: string; port: number };
  admin: { host: string; port: number } | false;
  upstream?: string;
  directResponse: string;
  /** `--config`, as given (`@file` kept, so the file can be watched); read by pluginsFromArgs. */
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
  /** `--stream-idle-timeout <ms>`: Envoy's stream_idle_timeout (0: none). */
  streamIdleTimeout?: number;
  /** `--access-log`: an access log line per request on stdout, in Envoy's default format. */
  accessLog?: boolean;
  /** Build project directories with the debug target. */
  debug?: boolean;
  /** VMs per plugin (`pwasm run --concurrency`; default 1). */
  concurrency?: number;
  /** Plugin log level (`pwasm run --log-level`; default info). */
  logLevel?: string;
  /** `--inspect[=host:port]` (dev proxy only): Node's inspector for a debugger (true: 127.0.0.1:9229). */
  inspect?: boolean | { host: string; port: number };
  /** `--callback-time-limit <ms>` (dev proxy only): the limit on one plugin callback (0: none). */
  callbackTimeLimit?: number;
}

// A whole number of milliseconds, 1 or more (Envoy's backoff needs a positive base interval).
function positiveMs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of milliseconds ≥ 1, got '${value}'`);
  return n;
}

/**
 * The flags `pwasm run` and `pwasm envoy-config` share, by attribute name: each command makes its
 * own Option objects from here, so both describe and parse a flag the same way.
 */
const SHARED_FLAGS = {
  listen: () => new Option("-l, --listen <host:port>", "listener address").argParser(hostPort).default({ host: "127.0.0.1", port: 10000 }, "127.0.0.1:10000"),
  admin: () => new Option("--admin <host:port|off>", "admin listener (/ready, /stats/prometheus)").argParser((v: string) => (v === "off" ? false : hostPort(v))).default({ host: "127.0.0.1", port: 9901 }, "127.0.0.1:9901"),
  upstream: () => new Option("-u, --upstream <url>", "forward requests to this http(s) URL (network plugins: the tcp://host:port to forward connections to)"),
  directResponse: () => new Option("--direct-response <status[:body]>", "reply when there is no --upstream").default("200"),
  config: () => repeatable("-c, --config <text|@file>", "plugin configuration (per plugin; with --watch a @file is watched and reloaded)"),
  rootId: () => repeatable("--root-id <id>", "root id (Envoy root_id; per plugin)"),
  name: () => repeatable("--name <name>", "plugin name (Envoy name; per plugin)"),
  vmId: () => repeatable("--vm-id <id>", "VM id (Envoy vm_config.vm_id; per plugin)"),
  vmConfig: () => repeatable("--vm-config <text|@file>", "VM configuration (per plugin)", textOrFile),
  failurePolicy: () => new Option("--failure-policy <policy>", "what a trap does to streams (default: FAIL_RELOAD)").choices(["FAIL_RELOAD", "FAIL_CLOSED", "FAIL_OPEN"]),
  failOpen: () => new Option("--fail-open", "same as --failure-policy FAIL_OPEN"),
  env: () => repeatable("--env <KEY=VALUE>", "environment variable for the plugins"),
  reloadBackoff: () => new Option("--reload-backoff <ms>", "FAIL_RELOAD: least time between VM reloads (Envoy reload_config.backoff.base_interval) (default: 1000)").argParser(positiveMs),
  streamIdleTimeout: () => new Option("--stream-idle-timeout <ms>", "end a stream with no data either way for this long, as Envoy's stream_idle_timeout: a stream a plugin never resumes, a client or upstream that stopped reading; 0 = never (default: 300000, Envoy's)").argParser(wholeNumber),
  cluster: () => repeatable("--cluster <name=url>", "cluster for callouts: proxy_http_call over HTTP/1.1, proxy_grpc_call/stream over HTTP/2 (h2c for http://)"),
  property: () => repeatable("--property <path=value>", "pin a property, e.g. request.id=abc (numbers are int64)"),
  nodeMetadata: () => new Option("--node-metadata <json|@file>", "the node's metadata Struct as a JSON object (node.metadata.*, e.g. Istio's NAME, LABELS)").argParser(textOrFile),
  listenerDirection: () => new Option("--listener-direction <direction>", "listener_direction the plugins see").choices(["inbound", "outbound"]),
  accessLog: () => new Option("--access-log", "print an access log line per request on stdout, in Envoy's default format (Envoy's stdout access logger)"),
  debug: () => new Option("--debug", "build project directories with the debug target"),
} satisfies Record<string, () => Option>;

/** A flag `pwasm run` and `pwasm envoy-config` share, by the attribute it sets. */
export type SharedFlag = keyof typeof SHARED_FLAGS;

/** Adds the shared flags `names` to `cmd`, in that order (the order of its help). */
export function addPluginOptions(cmd: Command, names: readonly SharedFlag[]): Command {
  for (const n of names) cmd.addOption(SHARED_FLAGS[n]());
  return cmd;
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

/** The `i`-th of `count` plugins' value of a repeatable per-plugin option (`flag`); more values than plugins is an error. */
export function perPlugin(values: string[] = [], i: number, count: number, flag: string): string | undefined {
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
export function configFilesFromArgs(o: Pick<PluginArgs, "config">): Array<string | undefined> {
  return (o.config ?? []).map((c) => (c.startsWith("@") ? resolve(c.slice(1)) : undefined));
}

/** Builds the dev proxy's plugin list from the arguments and options. */
export async function pluginsFromArgs(args: string[], o: PluginArgs): Promise<DevProxyPlugin[]> {
  const failurePolicy: FailurePolicy | undefined = o.failOpen ? "FAIL_OPEN" : o.failurePolicy;
  for (const t of o.type ?? []) if (t !== "http" && t !== "network") throw new UserError(`--type must be http or network, got '${t}'`);
  const environment = Object.fromEntries((o.env ?? []).map((e) => keyValue(e, "--env", "KEY=VALUE")));
  const out: DevProxyPlugin[] = [];
  for (let i = 0; i < args.length; i++) {
    const n = args.length;
    out.push({
      wasm: await resolvePluginArg(args[i]!, o.debug),
      configuration: configurationArg(perPlugin(o.config, i, n, "--config")),
      rootId: perPlugin(o.rootId, i, n, "--root-id"),
      name: perPlugin(o.name, i, n, "--name"),
      vmId: perPlugin(o.vmId, i, n, "--vm-id"),
      vmConfiguration: perPlugin(o.vmConfig, i, n, "--vm-config"),
      type: perPlugin(o.type, i, n, "--type") as DevProxyPlugin["type"],
      failurePolicy,
      reloadBackoffMs: o.reloadBackoff,
      environment,
      concurrency: o.concurrency ?? 1,
    });
  }
  return out;
}

/**
 * The dev proxy's options from the plugin arguments (plugins built first): what `pwasm run` serves,
 * and what `pwasm envoy-config` and `pwasm run --envoy` write for Envoy (cli/envoy/options.ts), so
 * the two read every shared option the same way.
 *
 * `--node-id`, `--node-cluster` and `--node-metadata` set the node; a `--property node.…` pin is
 * more specific and wins over them, in both proxies: the dev proxy answers the pin, and the Envoy
 * bootstrap folds the pin into the node it declares (cli/envoy/bootstrap.ts, with the dev proxy's
 * own fold, host/services/property_pins.ts).
 */
export async function devProxyOptionsFromArgs(args: string[], o: PluginArgs): Promise<DevProxyOptions> {
  let logLevel;
  try {
    logLevel = parseLogLevel(o.logLevel ?? "info");
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

