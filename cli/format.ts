// How the CLI writes numbers, sizes and paths for people: one place, so every command prints them
// alike. (host/ formats its own messages, e.g. a module's memory limit in host/plugin/validate.ts.)
import { relative } from "node:path";

/** A count with thousands separators: "10,000". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** A byte count, exact: "8,131 bytes" (module sizes, which users compare byte for byte). */
export function formatBytes(n: number): string {
  return `${formatCount(n)} bytes`;
}

/** A byte count, rounded to binary units: "812 B", "3.4 KiB", "3.4 MiB" (blobs, transfers). */
export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** `word` for one, `word`s otherwise: "1 plugin", "2 plugins". */
export function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

/** A path as the user sees it: relative to the working directory, "." for the directory itself. */
export function shownPath(path: string): string {
  return relative(process.cwd(), path) || ".";
}
