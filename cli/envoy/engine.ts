// Finds a container engine that can actually run containers: `docker` or `podman` on PATH whose
// engine answers `info`. A CLI that answers `--version` is not enough (a docker client without a
// daemon is common in CI and sandboxes).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/** A container engine that answered `info`. */
export interface ContainerEngine {
  /** The command to run (docker, podman, or a path). */
  command: string;
  /** Which CLI dialect it speaks (podman-docker answers as podman). */
  kind: "docker" | "podman";
  /** Engine (server) version. */
  version: string;
  /** Whether containers share this machine's network stack on request (`--network host`). */
  hostNetwork: boolean;
  /** Arguments every `run` needs on this machine (an OCI runtime, resource limits); see podmanRunArgs. */
  runArgs?: string[];
}

/** The outcome of looking for an engine: one, or the reason there is none (one line). */
export type EngineProbe = { ok: true; engine: ContainerEngine } | { ok: false; reason: string };

/** Output of a finished command. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not be started (ENOENT: not installed) or timed out. */
  error?: "ENOENT" | "EACCES" | "TIMEOUT" | string;
}

/** Runs a command to completion, bounded by `timeoutMs`; never throws. */
export function runCommand(command: string, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let settled = false;
    const done = (r: CommandResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done({ code: null, stdout, stderr, error: "TIMEOUT" });
    }, options.timeoutMs ?? 15_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err: NodeJS.ErrnoException) => done({ code: null, stdout, stderr, error: err.code ?? err.message }));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

// The first line worth showing from an engine's complaint.
function firstLine(text: string): string {
  const line = text.split("\n").map((l) => l.trim()).find((l) => l && !/^(Client|Server):?$/.test(l) && !/^WARNING/.test(l));
  return (line ?? "").replace(/^(ERROR|Error):\s*/, "").slice(0, 200);
}

/** Asks one engine CLI whether its engine runs; the reason (one line) when not. */
export async function probeEngine(command: string, env?: NodeJS.ProcessEnv): Promise<EngineProbe> {
  const version = await runCommand(command, ["--version"], { timeoutMs: 10_000, env });
  if (version.error === "ENOENT") return { ok: false, reason: `${command} is not installed` };
  if (version.error || version.code !== 0) return { ok: false, reason: `${command} --version failed (${version.error ?? `exit ${version.code}`})` };
  const kind = /podman/i.test(version.stdout) ? "podman" : "docker";
  // One template per dialect: the server version and where the engine runs.
  const format = kind === "podman"
    ? "{{.Version.Version}}|{{.Host.OS}}|{{.Host.RemoteSocket.Exists}}|{{.Host.OCIRuntime.Name}}|{{.Host.CgroupsVersion}}"
    : "{{.ServerVersion}}|{{.OSType}}|{{.OperatingSystem}}";
  const info = await runCommand(command, ["info", "--format", format], { timeoutMs: 20_000, env });
  if (info.error === "TIMEOUT") return { ok: false, reason: `${command} is installed but its engine did not answer \`${command} info\` within 20 s` };
  const [serverVersion = "", os = "", where = "", ociRuntime = "", cgroups = ""] = info.stdout.trim().split("|");
  if (info.code !== 0 || !serverVersion || serverVersion === "<no value>") {
    const why = firstLine(info.stderr) || firstLine(info.stdout) || `exit ${info.code}`;
    return { ok: false, reason: `${command} is installed but its engine is not reachable (${why})` };
  }
  // Docker Desktop and podman machine run containers in a VM: --network host is not this machine.
  const inVm = /Docker Desktop/i.test(where) || process.platform !== "linux" || os !== "linux";
  const runArgs = kind === "podman" && !inVm ? await podmanRunArgs(ociRuntime, cgroups, env) : [];
  return { ok: true, engine: { command, kind, version: serverVersion, hostNetwork: !inVm, ...(runArgs.length ? { runArgs } : {}) } };
}

/** A process's hard limit for one resource, from /proc/self/limits (Linux); undefined when unknown or unlimited. */
export function hardLimit(limits: string, name: "Max open files" | "Max processes"): number | undefined {
  const m = new RegExp(`^${name}\\s+\\S+\\s+(\\d+)`, "m").exec(limits);
  return m ? Number(m[1]) : undefined;
}

/**
 * What podman needs on this machine to start a container (docs/envoy/container.md, "podman as root in a sandbox"):
 * - crun fails on a hybrid cgroup v1 host ("cgroups in hybrid mode not supported"): use runc when
 *   it is installed;
 * - rootful podman without CAP_SYS_RESOURCE (a container or sandbox running pwasm) cannot raise the
 *   container's open-files and process limits to its default 1048576, so `run` fails with
 *   "error setting rlimit": pass limits this process may grant (its own hard limits; processes
 *   capped at the kernel's pid_max, which runc's setrlimit cannot exceed either).
 * On a usual host (rootless, or root with all capabilities) nothing is added.
 */
export async function podmanRunArgs(ociRuntime: string, cgroups: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const args: string[] = [];
  if (ociRuntime === "crun" && cgroups === "v1") {
    const runc = await runCommand("runc", ["--version"], { timeoutMs: 10_000, env });
    if (runc.code === 0) args.push("--runtime", "runc");
  }
  if (process.platform !== "linux" || process.getuid?.() !== 0) return args;
  let status = "";
  let limits = "";
  try {
    status = readFileSync("/proc/self/status", "utf8");
    limits = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return args;
  }
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
  const CAP_SYS_RESOURCE = 24n;
  if (capEff === undefined || (BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n) return args;
  const nofile = hardLimit(limits, "Max open files");
  let nproc = hardLimit(limits, "Max processes");
  try {
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
    if (pidMax > 0) nproc = Math.min(nproc ?? pidMax, pidMax);
  } catch {
    // keep the process limit
  }
  if (nofile) args.push("--ulimit", `nofile=${nofile}:${nofile}`);
  if (nproc) args.push("--ulimit", `nproc=${nproc}:${nproc}`);
  return args;
}

/** Engine commands to try: $PWASM_CONTAINER_ENGINE alone when set, else docker then podman. */
export function engineCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const chosen = env.PWASM_CONTAINER_ENGINE?.trim();
  return chosen ? [chosen] : ["docker", "podman"];
}

/** Finds the first engine that runs containers, or says in one line why there is none. */
export async function detectContainerEngine(env: NodeJS.ProcessEnv = process.env): Promise<EngineProbe> {
  const reasons: string[] = [];
  for (const command of engineCandidates(env)) {
    const probe = await probeEngine(command, env);
    if (probe.ok) return probe;
    reasons.push(probe.reason);
  }
  return { ok: false, reason: `no container engine to run Envoy: ${reasons.join("; ")}` };
}
