// Envoy in a container, headless: the bootstrap and the .wasm files mounted read-only, the image
// pulled when missing, admin /ready awaited, Envoy's `wasm` log lines (and its warnings) streamed,
// and the container removed on stop (and by a watcher if pwasm itself dies: tether.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { UserError } from "../errors.js";
import { bootstrapYaml, envoyBootstrap, mountedWasmName, type JsonMap } from "./bootstrap.js";
import { runCommand, type ContainerEngine } from "./engine.js";
import { EnvoyOutput, envoyFlags, firstListenerUrl, waitUntilReady, type EnvoyRunOptions, type RunningEnvoy } from "./instance.js";
import { tetherCommand } from "./tether.js";

export { isInterestingLogLine } from "./instance.js";

/** The image `pwasm run --envoy` uses unless told: the Envoy release whose API the configs are validated against. */
export const DEFAULT_ENVOY_IMAGE = "envoyproxy/envoy:v1.40-latest";

/** Where things live inside the container. */
const CONFIG_PATH = "/etc/envoy/envoy.yaml";
const WASM_DIR = "/etc/envoy/wasm";
const RUN_DIR = "/run/pwasm";
/** Ports Envoy binds inside the container on a bridge network. */
const BRIDGE_LISTENER_PORT = 10000;
const BRIDGE_ADMIN_PORT = 9901;

/** How to run Envoy in a container. */
export interface EnvoyContainerOptions extends EnvoyRunOptions {
  engine: ContainerEngine;
  image?: string;
  /** "host": share this machine's network (Linux engines); "bridge": publish ports. Default: host when the engine allows it. */
  network?: "host" | "bridge";
  /** Container name; default pwasm-envoy-<random>. */
  name?: string;
}

/** A running Envoy container. */
export interface EnvoyContainer extends RunningEnvoy {
  readonly name: string;
  readonly image: string;
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
  const built = envoyBootstrap({
    ...p,
    // On a bridge network Envoy binds fixed ports on all of the container's interfaces; the engine
    // publishes them on the requested host addresses.
    ...(bridge ? { host: "0.0.0.0", port: BRIDGE_LISTENER_PORT, admin: { host: "0.0.0.0", port: BRIDGE_ADMIN_PORT } } : {}),
    loopbackHost: bridge ? (o.engine.kind === "podman" ? "host.containers.internal" : "host.docker.internal") : p.loopbackHost,
    wasmPath: (plugin, i) => `${WASM_DIR}/${mountedWasmName(plugin, i)}`,
  });
  const config = o.editConfig ? o.editConfig(built.config) : built.config;
  const args = ["run", "--rm", "--name", name, "--label", "dev.pwasm.role=envoy", ...(o.engine.runArgs ?? [])];
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
  for (const m of o.mounts ?? []) args.push("-v", `${resolve(m.host)}:${m.envoy}`);
  args.push(o.image ?? DEFAULT_ENVOY_IMAGE);
  // Arguments starting with "-" go to envoy in both the default and the distroless images.
  args.push(...envoyFlags({ configPath: CONFIG_PATH, adminAddressPath: `${RUN_DIR}/admin-address`, logLevel: o.logLevel, concurrency: o.concurrency }), ...(o.extraArgs ?? []));
  return { args, network, config, warnings: built.warnings };
}

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
  const output = new EnvoyOutput(o.onLog, o.onOutputLine);
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let stopped: Promise<void> | undefined;
  // If pwasm dies without stopping it, the watcher removes the container.
  const tether = tetherCommand(o.engine.command, ["rm", "-f", name]);
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await runCommand(o.engine.command, ["rm", "-f", name], { timeoutMs: 30_000 });
      child?.kill("SIGKILL");
      tether.release();
      rmSync(runDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    const plan = planEnvoyRun({ ...o, image }, name, runDir);
    for (const w of plan.warnings) o.onProgress?.(`warning: ${w}`);
    writeFileSync(join(runDir, "envoy.yaml"), bootstrapYaml(plan.config, [`pwasm run --envoy (${name})`]), { mode: 0o644 });
    await ensureImage(o.engine, image, o.onProgress);

    // Its own process group: a terminal's Ctrl-C reaches pwasm, which removes the container, and
    // not the engine CLI, which would stop Envoy behind pwasm's back.
    child = spawn(o.engine.command, plan.args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let exitCode: number | null | undefined;
    exited = new Promise<number | null>((done) => {
      child!.on("error", () => done((exitCode = null)));
      child!.on("close", (code) => {
        output.end();
        done((exitCode = code));
      });
    });
    child.stdout!.on("data", output.write);
    child.stderr!.on("data", output.write);

    const bridge = plan.network === "bridge";
    let adminUrl: string | undefined;
    adminUrl = await waitUntilReady({
      adminUrl: async () => {
        if (adminUrl) return adminUrl;
        try {
          adminUrl = bridge
            ? `http://${await publishedAddress(o.engine, name, BRIDGE_ADMIN_PORT)}`
            : `http://${readFileSync(join(runDir, "admin-address"), "utf8").trim()}`;
        } catch {
          // not bound yet
        }
        return adminUrl;
      },
      exitCode: () => exitCode,
      output,
      signal: o.signal,
      timeoutMs: o.readyTimeoutMs ?? 60_000,
      what: image,
    });
    const url = bridge ? `http://${await publishedAddress(o.engine, name, BRIDGE_LISTENER_PORT)}` : await firstListenerUrl(adminUrl);
    return { how: `${o.engine.command} ${o.engine.version}, image ${image}`, name, image, url, adminUrl, output: output.lines, exited, pid: undefined, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
