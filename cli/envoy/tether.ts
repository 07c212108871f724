// Envoy must not outlive pwasm, even when pwasm is killed with SIGKILL (a test timeout, an OOM
// kill), where no exit handler runs. A tiny shell watcher holds one end of a pipe whose other end
// only pwasm holds; when pwasm dies for any reason the kernel closes it, the watcher's `read` sees
// end of file, and it stops Envoy (or removes its container).
import { spawn, type ChildProcess } from "node:child_process";

/** A watcher that stops something when this process dies. */
export interface Tether {
  /** The thing ended normally: the watcher goes away without acting. */
  release(): void;
}

/**
 * Starts a watcher that runs `command args…` once this process is gone. The watcher does not keep
 * this process alive and ignores terminal signals (its own process group).
 */
export function tetherCommand(command: string, args: string[]): Tether {
  // `read` returns at end of file only: nothing is ever written to the pipe.
  const script = 'while read -r _; do :; done; exec "$@" >/dev/null 2>&1';
  let watcher: ChildProcess | undefined;
  try {
    watcher = spawn("/bin/sh", ["-c", script, "pwasm-tether", command, ...args], { stdio: ["pipe", "ignore", "ignore"], detached: true });
    watcher.on("error", () => undefined);
    watcher.unref();
    // The pipe must not keep Node's event loop alive either.
    (watcher.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  } catch {
    // No /bin/sh: run without the safety net (normal shutdown still stops Envoy).
  }
  return {
    release() {
      if (!watcher || watcher.exitCode !== null) return;
      try {
        process.kill(-watcher.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    },
  };
}

/** Stops a local process when this process dies: SIGTERM, then SIGKILL after `graceMs`. */
export function tetherProcess(pid: number, graceMs = 5000): Tether {
  return tetherCommand("/bin/sh", ["-c", `kill -TERM ${pid} 2>/dev/null; sleep ${Math.ceil(graceMs / 1000)}; kill -KILL ${pid} 2>/dev/null`]);
}
