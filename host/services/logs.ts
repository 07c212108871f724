// Plugin log lines (proxy_log, WASI fd_write) and the host's own messages about a plugin.
import { LOG_LEVEL_NAMES, LogLevel, type LogLevelName } from "../abi/constants.js";

/** One log line. */
export interface LogEntry {
  level: LogLevel;
  message: string;
  /** Envoy's prefix parts: plugin name, root id, vm id. */
  plugin: string;
  rootId: string;
  vmId: string;
  /** Milliseconds since the epoch. */
  time: number;
  /**
   * Who wrote it: a plugin (the default; `wasm log <prefix>: …`), the host about a VM (Envoy's own
   * `[wasm]` lines, such as a VM failure: no `wasm log` prefix), or the dev proxy itself.
   */
  source?: "plugin" | "host" | "proxy";
}

/** Where log lines go: kept for tests, and/or handed to a printer. */
export class LogSink {
  /** Lines below this level are dropped, and proxy_get_log_level reports it (Envoy's `wasm` logger level). */
  level: LogLevel;
  /** Kept lines (when `keep` is true). */
  readonly entries: LogEntry[] = [];
  /** Also sees every line that passes the level while set (the dev proxy's request inspector). */
  tap: ((entry: LogEntry) => void) | null = null;

  constructor(
    options: { level?: LogLevel | LogLevelName; keep?: boolean; onLog?: (entry: LogEntry) => void } = {},
  ) {
    this.level = parseLogLevel(options.level ?? LogLevel.Info);
    this.keep = options.keep ?? true;
    this.onLog = options.onLog;
  }

  private readonly keep: boolean;
  private readonly onLog: ((entry: LogEntry) => void) | undefined;

  /** Records a line if its level is enabled. */
  write(entry: LogEntry): void {
    if (entry.level < this.level) return;
    if (this.keep) this.entries.push(entry);
    this.onLog?.(entry);
    if (this.tap) this.tap(entry);
  }

  /** Messages at exactly `level`. */
  at(level: LogLevel | LogLevelName): string[] {
    const l = parseLogLevel(level);
    return this.entries.filter((e) => e.level === l).map((e) => e.message);
  }

  /** Forgets kept lines. */
  clear(): void {
    this.entries.length = 0;
  }
}

/** Parses a level name (`info`, `warning`, …) or number. */
export function parseLogLevel(level: LogLevel | LogLevelName | string | number): LogLevel {
  if (typeof level === "number") {
    if (level >= 0 && level <= 6 && Number.isInteger(level)) return level as LogLevel;
    throw new Error(`unknown log level ${level}`);
  }
  const name = level.toLowerCase() === "warning" ? "warn" : level.toLowerCase();
  const i = (LOG_LEVEL_NAMES as readonly string[]).indexOf(name);
  if (i < 0) throw new Error(`unknown log level '${level}' (expected one of ${LOG_LEVEL_NAMES.join(", ")})`);
  return i as LogLevel;
}

/** Envoy's log prefix: " name root_id vm_id", empty parts skipped. */
export function logPrefix(e: Pick<LogEntry, "plugin" | "rootId" | "vmId">): string {
  let p = "";
  for (const part of [e.plugin, e.rootId, e.vmId]) if (part) p += ` ${part}`;
  return p;
}

/** Formats a line the way Envoy's application log shows it. */
export function formatEnvoyLog(e: LogEntry): string {
  const t = new Date(e.time).toISOString().replace("T", " ").replace("Z", "");
  // The proxy's own lines are not plugin output: they get their own component, as Envoy's router's do.
  if (e.source === "proxy") return `[${t}][${LOG_LEVEL_NAMES[e.level]}][pwasm] ${e.message}`;
  if (e.source === "host") return `[${t}][${LOG_LEVEL_NAMES[e.level]}][wasm] ${e.message}`;
  return `[${t}][${LOG_LEVEL_NAMES[e.level]}][wasm] wasm log${logPrefix(e)}: ${e.message}`;
}
