// What every way of running Envoy shares: the handle callers get, Envoy's output (kept bounded,
// interesting lines streamed), and readiness from the admin API (`/ready` says LIVE once every
// listener and Wasm VM of a static bootstrap loaded; a plugin that fails to load stops Envoy).
import { UserError } from "../errors.js";
import { httpGet } from "../http_client.js";
import type { EnvoyBootstrapOptions, JsonMap } from "./bootstrap.js";

/** How to run Envoy, wherever it runs. */
export interface EnvoyRunOptions {
  /** The proxy to run, as for the dev proxy (listener and admin addresses as seen from this machine). */
  proxy: EnvoyBootstrapOptions;
  /** Level of the `wasm` component (plugin logs): trace … critical. Default info. */
  logLevel?: string;
  /** Envoy worker threads (one VM per plugin each). Default 1. */
  concurrency?: number;
  /** Plugin log lines (component wasm) and Envoy's warnings and errors, as Envoy prints them. */
  onLog?: (line: string) => void;
  /** Every output line (for tools that read Envoy's whole log, such as the differential suite). */
  onOutputLine?: (line: string) => void;
  /** Progress and warnings for the user. */
  onProgress?: (message: string) => void;
  /** How long to wait for /ready. Default 60 s. */
  readyTimeoutMs?: number;
  /** More Envoy flags (after pwasm's own). */
  extraArgs?: string[];
  /** Aborts the start (Ctrl-C while waiting for /ready): Envoy is stopped and the promise rejects. */
  signal?: AbortSignal;
  /** Rewrites the bootstrap before it is written (tools that need more than `proxy` expresses). */
  editConfig?: (config: JsonMap) => JsonMap;
  /**
   * Directories Envoy must see at a path of its own (read-write): a container mounts them there; a
   * local process sees `host` itself, so `envoy` must equal `host` for it.
   */
  mounts?: Array<{ host: string; envoy: string }>;
}

/** A running Envoy, as a local process or in a container. */
export interface RunningEnvoy {
  /** How it runs, for messages: "envoy 1.40.0 (/path/to/envoy)" or "podman 4.3.1, image …". */
  readonly how: string;
  /** http://host:port of the first listener, as reachable from this machine. */
  readonly url: string;
  /** http://host:port of the admin listener. */
  readonly adminUrl: string;
  /** Envoy's last output lines (bounded), for diagnostics. */
  readonly output: readonly string[];
  /** Resolves with Envoy's exit code when it ends (null: killed by a signal or never started). */
  readonly exited: Promise<number | null>;
  /** Process id of Envoy on this machine, when known (a local process; a container's is not). */
  readonly pid: number | undefined;
  /** Stops Envoy and removes what was made for it (idempotent). */
  stop(): Promise<void>;
}

/** Envoy's log line with pwasm's --log-format: `[time][level][component] message`. */
export const LOG_FORMAT = "[%Y-%m-%d %T.%e][%l][%n] %v";
const LOG_LINE = /^\[[^\]]*\]\[(\w+)\]\[([\w.]+)\] /;
/** Output lines kept for error reports: a long run with chatty plugins must not grow without bound. */
const OUTPUT_LINES_KEPT = 200;

/** Envoy's name for a log level (its flags take `warning`, not `warn`). */
export function envoyLevel(level: string): string {
  const names: Record<string, string> = { trace: "trace", debug: "debug", info: "info", warn: "warning", warning: "warning", error: "error", critical: "critical", off: "off" };
  const n = names[level.toLowerCase()];
  if (!n) throw new UserError(`unknown log level '${level}' (trace, debug, info, warn, error, critical)`);
  return n;
}

/** Envoy's own command-line flags pwasm passes, wherever Envoy runs. */
export function envoyFlags(o: { configPath: string; adminAddressPath: string; logLevel?: string; concurrency?: number }): string[] {
  return [
    "-c", o.configPath,
    "--log-level", "warning",
    "--component-log-level", `wasm:${envoyLevel(o.logLevel ?? "info")}`,
    "--log-format", LOG_FORMAT,
    "--concurrency", String(o.concurrency ?? 1),
    // No shared memory: several Envoys (and containers) run side by side without --base-id.
    "--disable-hot-restart",
    "--admin-address-path", o.adminAddressPath,
  ];
}

// Warnings Envoy prints on every run of a pwasm bootstrap that say nothing about the plugins: the
// missing global connection limit (a development proxy sets none) and the SIGTERM pwasm itself
// sends when it stops Envoy.
const ROUTINE_WARNINGS = [/no configured limit to the number of allowed active downstream connections/, /caught ENVOY_SIGTERM/];

/** Whether an Envoy log line is worth showing: plugin logs and anything at warning or above. */
export function isInterestingLogLine(line: string): boolean {
  const m = LOG_LINE.exec(line);
  if (!m) return line.trim() !== "";
  if (m[1] === "warning" && ROUTINE_WARNINGS.some((r) => r.test(line))) return false;
  return m[2] === "wasm" || ["warning", "error", "critical"].includes(m[1]!);
}

/** Envoy's output: lines split across chunks, the last ones kept, interesting ones streamed. */
export class EnvoyOutput {
  readonly lines: string[] = [];
  private partial = "";

  constructor(private readonly onLog?: (line: string) => void, private readonly onAnyLine?: (line: string) => void) {}

  /** Feeds a chunk of stdout or stderr. */
  readonly write = (chunk: Buffer | string): void => {
    const parts = (this.partial + chunk.toString()).split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    for (const line of parts) this.line(line);
  };

  /** Flushes a last line that had no newline. */
  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = "";
  }

  private line(line: string): void {
    this.lines.push(line);
    if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.shift();
    this.onAnyLine?.(line);
    if (isInterestingLogLine(line)) this.onLog?.(line);
  }

  /** Envoy's last complaint (critical or error), or its last line, without the log prefix. */
  complaint(): string {
    const line = [...this.lines].reverse().find((l) => /\[(critical|error)\]/.test(l)) ?? this.lines.at(-1) ?? "";
    return line.replace(LOG_LINE, "").trim() || "no output";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until admin `/ready` answers LIVE. `adminUrl` is asked for each round until it knows the
 * address (Envoy writes it once bound). Throws UserError with Envoy's complaint when it exits first,
 * or when `timeoutMs` passes.
 */
export async function waitUntilReady(o: {
  adminUrl: () => Promise<string | undefined> | string | undefined;
  exitCode: () => number | null | undefined;
  output: EnvoyOutput;
  timeoutMs: number;
  what: string;
  /** Aborted (Ctrl-C while starting): give up at once. */
  signal?: AbortSignal;
}): Promise<string> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.signal?.aborted) throw new UserError("interrupted while Envoy was starting");
    const code = o.exitCode();
    if (code !== undefined) throw new UserError(`Envoy exited (code ${code}) before it was ready: ${o.output.complaint()}`);
    if (Date.now() > deadline) throw new UserError(`Envoy was not ready within ${Math.round(o.timeoutMs / 1000)} s (${o.what}); last output: ${o.output.lines.at(-1) ?? "none"}`);
    try {
      const admin = await o.adminUrl();
      if (admin) {
        const r = await httpGet(`${admin}/ready`);
        if (r.status === 200 && r.body.trim() === "LIVE") return admin;
      }
    } catch {
      // not up yet
    }
    await sleep(100);
  }
}

/** The first listener's address, from the admin API (`/listeners?format=json`). */
export async function firstListenerUrl(adminUrl: string): Promise<string> {
  const r = await httpGet(`${adminUrl}/listeners?format=json`);
  const parsed = JSON.parse(r.body) as { listener_statuses?: Array<{ local_address?: { socket_address?: { address?: string; port_value?: number } } }> };
  const a = parsed.listener_statuses?.[0]?.local_address?.socket_address;
  if (!a?.address || !a.port_value) throw new UserError(`Envoy reported no listener address (${r.body.slice(0, 200)})`);
  return `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port_value}`;
}
