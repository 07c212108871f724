// Envoy in a container, headless: the bootstrap and the .wasm files mounted read-only, the image
// pulled when missing, admin /ready awaited, Envoy's `wasm` log lines (and its warnings) streamed,
// and the container removed on stop.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { UserError } from "../errors.js";
import { bootstrapYaml, envoyBootstrap, mountedWasmName, type EnvoyBootstrapOptions, type JsonMap } from "./bootstrap.js";
import { runCommand, type ContainerEngine } from "./engine.js";

/** The image `pwasm run --envoy` uses unless told: the Envoy release whose API the configs are validated against. */
export const DEFAULT_ENVOY_IMAGE = "envoyproxy/envoy:v1.40-latest";

/** Where things live inside the container. */
const CONFIG_PATH = "/etc/envoy/envoy.yaml";
const WASM_DIR = "/etc/envoy/wasm";
const RUN_DIR = "/run/pwasm";
/** Ports Envoy binds inside the container on a bridge network. */
const BRIDGE_LISTENER_PORT = 10000;
const BRIDGE_ADMIN_PORT = 9901;

/** Envoy's log line with our --log-format: `[time][level][component] message`. */
const LOG_FORMAT = "[%Y-%m-%d %T.%e][%l][%n] %v";
const LOG_LINE = /^\[[^\]]*\]\[(\w+)\]\[([\w.]+)\] /;
/** Output lines kept for error reports: a long run with chatty plugins must not grow without bound. */
const OUTPUT_LINES_KEPT = 200;

/** How to run Envoy. */
export interface EnvoyContainerOptions {
  engine: ContainerEngine;
  /** The proxy to run, as for the dev proxy. Listener and admin addresses are where they appear on this machine. */
  proxy: EnvoyBootstrapOptions;
  image?: string;
  /** "host": share this machine's network (Linux engines); "bridge": publish ports. Default: host when the engine allows it. */
  network?: "host" | "bridge";
  /** Level of the `wasm` component (plugin logs): trace … critical. Default info. */
  logLevel?: string;
  /** Envoy worker threads (one VM per plugin each). Default 1. */
  concurrency?: number;
  /** Plugin log lines (component wasm) and Envoy's warnings and errors, as Envoy prints them. */
  onLog?: (line: string) => void;
  /** Progress messages (pulling the image, …). */
  onProgress?: (message: string) => void;
  /** How long to wait for /ready after the container started. Default 60 s. */
  readyTimeoutMs?: number;
  /** Container name; default pwasm-envoy-<random>. */
  name?: string;
}

/** A running Envoy container. */
export interface EnvoyContainer {
  readonly name: string;
  readonly image: string;
  /** http://host:port of the listener, as reachable from this machine. */
  readonly url: string;
  /** http://host:port of the admin listener. */
  readonly adminUrl: string;
  /** Envoy's last output lines (up to OUTPUT_LINES_KEPT), for diagnostics. */
  readonly output: readonly string[];
  /** Resolves with Envoy's exit code when the container ends. */
  readonly exited: Promise<number | null>;
  /** Removes the container (idempotent). */
  stop(): Promise<void>;
}

/** A fresh container name. */
export function newContainerName(): string {
  return `pwasm-envoy-${randomBytes(4).toString("hex")}`;
}

/** What `docker run` needs: a plan, computed without side effects so it can be checked. */
export interface EnvoyRunPlan {
  /** Arguments after the engine command. */
  args: string[];
  network: "host" | "bridge";
  /** The bootstrap Envoy gets. */
  config: JsonMap;
  warnings: string[];
}

/** Envoy's name for a log level (its flags take `warning`, not `warn`). */
function envoyLevel(level: string): string {
  const l = level.toLowerCase();
  const names: Record<string, string> = { trace: "trace", debug: "debug", info: "info", warn: "warning", warning: "warning", error: "error", critical: "critical", off: "off" };
  const n = names[l];
  if (!n) throw new UserError(`unknown log level '${level}' (trace, debug, info, warn, error, critical)`);
  return n;
}

/**
 * The `run` arguments and bootstrap for a container named `name` whose scratch directory (config,
 * admin address file) is `runDir` on this machine.
 */
export function planEnvoyRun(o: EnvoyContainerOptions, name: string, runDir: string): EnvoyRunPlan {
  const network = o.network ?? (o.engine.hostNetwork ? "host" : "bridge");
  const p = o.proxy;
  if (p.admin === false) throw new UserError("Envoy in a container needs its admin listener (to know when it is ready); drop --admin off");
  const admin = { host: p.admin?.host ?? "127.0.0.1", port: p.admin?.port ?? 9901 };
  const listen = { host: p.host ?? "127.0.0.1", port: p.port ?? 10000 };
  const bridge = network === "bridge";
  const { config, warnings } = envoyBootstrap({
    ...p,
    // On a bridge network Envoy binds fixed ports on all of the container's interfaces; the engine
    // publishes them on the requested host addresses.
    ...(bridge ? { host: "0.0.0.0", port: BRIDGE_LISTENER_PORT, admin: { host: "0.0.0.0", port: BRIDGE_ADMIN_PORT } } : {}),
    loopbackHost: bridge ? (o.engine.kind === "podman" ? "host.containers.internal" : "host.docker.internal") : p.loopbackHost,
    wasmPath: (plugin, i) => `${WASM_DIR}/${mountedWasmName(plugin, i)}`,
  });
  const args = ["run", "--rm", "--name", name, "--label", "dev.pwasm.role=envoy"];
  if (bridge) {
    // An empty host port lets the engine choose (the port-0 case).
    args.push("-p", `${listen.host}:${listen.port || ""}:${BRIDGE_LISTENER_PORT}`, "-p", `${admin.host}:${admin.port || ""}:${BRIDGE_ADMIN_PORT}`);
    if (o.engine.kind === "docker") args.push("--add-host", "host.docker.internal:host-gateway");
  } else {
    args.push("--network", "host");
  }
  // The official image drops to the envoy user unless ENVOY_UID=0; root reads any mounted file.
  args.push("-e", "ENVOY_UID=0");
  args.push("-v", `${join(runDir, "envoy.yaml")}:${CONFIG_PATH}:ro`, "-v", `${runDir}:${RUN_DIR}`);
  p.plugins.forEach((plugin, i) => {
    if (typeof plugin.wasm === "string") args.push("-v", `${resolve(plugin.wasm)}:${WASM_DIR}/${mountedWasmName(plugin, i)}:ro`);
  });
  args.push(o.image ?? DEFAULT_ENVOY_IMAGE);
  // Arguments starting with "-" go to envoy in both the default and the distroless images.
  args.push(
    "-c", CONFIG_PATH,
    "--log-level", "warning",
    "--component-log-level", `wasm:${envoyLevel(o.logLevel ?? "info")}`,
    "--log-format", LOG_FORMAT,
    "--concurrency", String(o.concurrency ?? 1),
    "--disable-hot-restart",
    "--admin-address-path", `${RUN_DIR}/admin-address`,
  );
  return { args, network, config, warnings };
}

/** Whether an Envoy log line is worth showing: plugin logs and anything at warning or above. */
export function isInterestingLogLine(line: string): boolean {
  const m = LOG_LINE.exec(line);
  if (!m) return line.trim() !== "";
  return m[2] === "wasm" || ["warning", "error", "critical"].includes(m[1]!);
}

function get(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pulls `image` unless the engine has it; progress goes to `onProgress`. */
export async function ensureImage(engine: ContainerEngine, image: string, onProgress?: (m: string) => void): Promise<void> {
  const inspect = await runCommand(engine.command, ["image", "inspect", image], { timeoutMs: 30_000 });
  if (inspect.code === 0) return;
  onProgress?.(`pulling ${image} (first run only)…`);
  const code = await new Promise<number | null>((done) => {
    const child = spawn(engine.command, ["pull", image], { stdio: ["ignore", "pipe", "pipe"] });
    let last = "";
    const onData = (d: Buffer) => {
      for (const line of d.toString().split(/\r?\n/)) if (line.trim()) last = line.trim();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", () => done(null));
    child.on("close", (c) => {
      if (c !== 0) onProgress?.(`pull failed: ${last}`);
      done(c);
    });
  });
  if (code !== 0) throw new UserError(`cannot pull ${image} with ${engine.command} (try \`${engine.command} pull ${image}\`)`);
}

/** The listener's address on this machine: from the admin API (host network) or the engine's port map (bridge). */
async function listenerUrl(o: EnvoyContainerOptions, name: string, adminUrl: string, bridge: boolean): Promise<string> {
  if (bridge) return `http://${await publishedAddress(o.engine, name, BRIDGE_LISTENER_PORT)}`;
  const r = await get(`${adminUrl}/listeners?format=json`);
  const parsed = JSON.parse(r.body) as { listener_statuses?: Array<{ local_address?: { socket_address?: { address?: string; port_value?: number } } }> };
  const a = parsed.listener_statuses?.[0]?.local_address?.socket_address;
  if (!a?.address || !a.port_value) throw new UserError(`Envoy reported no listener address (${r.body.slice(0, 200)})`);
  return `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port_value}`;
}

async function publishedAddress(engine: ContainerEngine, name: string, port: number): Promise<string> {
  const r = await runCommand(engine.command, ["port", name, `${port}/tcp`], { timeoutMs: 10_000 });
  const line = r.stdout.split("\n").map((l) => l.trim()).find((l) => /^[\d.]+:\d+$/.test(l)) ?? r.stdout.trim().split("\n")[0]?.trim();
  if (r.code !== 0 || !line) throw new UserError(`cannot tell where ${engine.command} published port ${port} of ${name}: ${r.stderr.trim() || r.stdout.trim()}`);
  return line.replace(/^0\.0\.0\.0:/, "127.0.0.1:");
}

/**
 * Starts Envoy in a container and resolves once its admin /ready says LIVE (so every Wasm VM
 * loaded: with static config a plugin that fails to load stops Envoy). Throws UserError with
 * Envoy's own last complaint when it exits first.
 */
export async function startEnvoyContainer(o: EnvoyContainerOptions): Promise<EnvoyContainer> {
  const image = o.image ?? DEFAULT_ENVOY_IMAGE;
  const name = o.name ?? newContainerName();
  const runDir = mkdtempSync(join(tmpdir(), "pwasm-envoy-"));
  // The container user must read the config and write the admin address file.
  chmodSync(runDir, 0o777);
  let child: ChildProcess | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await runCommand(o.engine.command, ["rm", "-f", name], { timeoutMs: 30_000 });
      child?.kill("SIGKILL");
      rmSync(runDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    const plan = planEnvoyRun({ ...o, image }, name, runDir);
    for (const w of plan.warnings) o.onProgress?.(`warning: ${w}`);
    writeFileSync(join(runDir, "envoy.yaml"), bootstrapYaml(plan.config, [`pwasm run --envoy (${name})`]), { mode: 0o644 });
    await ensureImage(o.engine, image, o.onProgress);

    const output: string[] = [];
    // Its own process group: a terminal's Ctrl-C reaches pwasm, which removes the container, and
    // not the engine CLI, which would stop Envoy behind pwasm's back.
    child = spawn(o.engine.command, plan.args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const exited = new Promise<number | null>((done) => {
      child!.on("error", () => done(null));
      child!.on("close", (code) => done(code));
    });
    let partial = "";
    const onData = (d: Buffer) => {
      const lines = (partial + d.toString()).split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) {
        output.push(line);
        if (output.length > OUTPUT_LINES_KEPT) output.shift();
        if (isInterestingLogLine(line)) o.onLog?.(line);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    let exitCode: number | null | undefined;
    void exited.then((c) => (exitCode = c));

    const bridge = plan.network === "bridge";
    const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
    let adminUrl: string | undefined;
    for (;;) {
      if (exitCode !== undefined) {
        const complaint = [...output].reverse().find((l) => /\[(critical|error)\]/.test(l)) ?? output.at(-1) ?? "";
        throw new UserError(`Envoy exited (code ${exitCode}) before it was ready: ${complaint.replace(LOG_LINE, "").trim() || "no output"}`);
      }
      if (Date.now() > deadline) throw new UserError(`Envoy was not ready within ${Math.round((o.readyTimeoutMs ?? 60_000) / 1000)} s (${image}); last output: ${output.at(-1) ?? "none"}`);
      try {
        adminUrl ??= bridge
          ? `http://${await publishedAddress(o.engine, name, BRIDGE_ADMIN_PORT)}`
          : `http://${readFileSync(join(runDir, "admin-address"), "utf8").trim()}`;
        const r = await get(`${adminUrl}/ready`);
        if (r.status === 200 && r.body.trim() === "LIVE") break;
      } catch {
        // not up yet
      }
      await sleep(200);
    }
    const url = await listenerUrl(o, name, adminUrl, bridge);
    return { name, image, url, adminUrl, output, exited, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
