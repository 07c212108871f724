// Files the CLI reads and writes for the user: a failure is one line naming the file (UserError),
// and a write goes through a temporary file and a rename, so it never leaves a half-written file;
// nor a temporary one when Ctrl-C (SIGINT) or SIGTERM ends the process in the middle of it.
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, statSync, unlinkSync, writeFile as writeFd } from "node:fs";
import { readFile, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { UserError } from "./errors.js";

const reason = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** Reads a file the user named; `cannot read <path>: <code>` when it cannot be read. */
export async function readUserFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${reason(err)}`);
  }
}

/** Writes `data` to `path` through a temporary file next to it and a rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  pendingTemp(tmp, true);
  let created = false;
  try {
    // Created synchronously, so no thread-pool open can create it after a signal removed it.
    const fd = openSync(tmp, "wx");
    created = true;
    try {
      await promisify(writeFd)(fd, data);
    } finally {
      closeSync(fd);
    }
    await rename(tmp, path);
  } catch (err) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw new UserError(`cannot write ${path}: ${reason(err)}`);
  } finally {
    pendingTemp(tmp, false);
  }
}

// Temporary files being written. While there are any, SIGINT and SIGTERM first remove them; then,
// when no one else handles the signal, the process ends as the signal would have ended it.
const pending = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function onSignal(signal: NodeJS.Signals): void {
  for (const tmp of pending) {
    try {
      unlinkSync(tmp);
    } catch {
      // not created yet, or already renamed
    }
  }
  pending.clear();
  for (const s of SIGNALS) process.off(s, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** Registers (or forgets) a temporary file to remove if the process is interrupted. */
function pendingTemp(tmp: string, writing: boolean): void {
  if (writing) {
    if (pending.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
    pending.add(tmp);
    return;
  }
  pending.delete(tmp);
  if (pending.size === 0) for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Fails as writeFileAtomic would when `path` is a directory or its directory is missing: for a
 * command that must not start work (a push) whose result it could not then write.
 */
export function checkWritable(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) throw new UserError(`cannot write ${path}: ENOENT`);
  if (!statSync(dir).isDirectory()) throw new UserError(`cannot write ${path}: ENOTDIR`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(`cannot write ${path}: EISDIR`);
}
