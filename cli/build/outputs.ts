// Writes what one build produced (the module, and for debug targets its source map and text form)
// as a set: every file goes to a temporary file beside its target first, and only when all of them
// are written are they renamed into place, the module last. A failed write, or Ctrl-C, leaves the
// previous outputs as they were and removes the temporary files, so a module never sits beside a
// source map of another build (its backtraces would point at the wrong lines).
import { renameSync, rmSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { constants } from "node:os";
import { dirname } from "node:path";
import { UserError } from "../errors.js";
import { shownPath } from "../format.js";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The temporary file an output is written to before it is renamed into place. */
export function temporaryPath(path: string): string {
  // Builds in one process run one at a time (compileProject's queue), so the pid makes it unique.
  return `${path}.tmp-${process.pid}`;
}

const reason = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/**
 * Writes `outputs` (path → contents) together, `main` (the module) renamed into place last.
 * Throws UserError naming the file that could not be written; nothing is replaced then.
 */
export async function writeOutputs(outputs: ReadonlyMap<string, Uint8Array | string>, main: string): Promise<void> {
  const order = [...outputs.keys()].filter((p) => p !== main);
  if (outputs.has(main)) order.push(main);
  const temps: string[] = [];
  // Kept in the list after a signal: a write under way then may still create its file.
  const removeTemps = () => {
    for (const t of temps) rmSync(t, { force: true });
  };
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = signal;
    removeTemps();
    // With no other handler (as in `pwasm build`), end the process as the signal would have.
    if (process.listenerCount(signal) === 1) {
      detach();
      process.kill(process.pid, signal);
      process.exit(128 + constants.signals[signal]);
    }
  };
  const detach = () => {
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  let current = main;
  let renamed = 0;
  try {
    for (const path of order) {
      current = path;
      await mkdir(dirname(path), { recursive: true });
      const tmp = temporaryPath(path);
      temps.push(tmp);
      await writeFile(tmp, outputs.get(path)!);
      if (interrupted) throw new UserError(`build interrupted (${interrupted}): ${shownPath(main)} was not replaced`);
    }
    for (const path of order) {
      current = path;
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    }
    // Synchronous: no signal handler runs between the renames, so the set is replaced whole.
    for (; renamed < order.length; renamed++) {
      current = order[renamed]!;
      renameSync(temps[renamed]!, current);
    }
  } catch (err) {
    removeTemps();
    if (err instanceof UserError) throw err;
    const kept = renamed === 0
      ? `nothing was replaced: ${shownPath(main)} is as it was`
      : `${order.slice(0, renamed).map(shownPath).join(", ")} replaced, ${shownPath(main)} not`;
    throw new UserError(`cannot write ${shownPath(current)}: ${reason(err)} (${kept})`);
  } finally {
    detach();
  }
}
