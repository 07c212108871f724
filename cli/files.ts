// Files the CLI reads and writes for the user: a failure is one line naming the file (UserError),
// and a write goes through a temporary file and a rename, so it never leaves a half-written file.
import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
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
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new UserError(`cannot write ${path}: ${reason(err)}`);
  }
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
