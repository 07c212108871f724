// Runs the compiled pwasm CLI against a HostileNet and measures what the bounds are about: exit,
// output, wall-clock seconds and the process's peak RSS. A run past `timeoutMs` is killed and
// reported as such (a hang is a result here, not a test-runner error).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { CLI } from "../../helpers/cli.js";
import { ROOT } from "../../helpers/paths.js";
import type { HostileNet } from "./net.js";

/** What one run did. */
export interface Measured {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** Peak resident set of the pwasm process in bytes (0 when it did not exit by itself). */
  peakRss: number;
  timedOut: boolean;
}

// PWASM_HOSTILE_CLI runs another build's main.js (e.g. one from before a fix) to compare figures.
const PWASM = process.env.PWASM_HOSTILE_CLI || CLI;

/** `pwasm <args>` with the net's host names, CA and no Docker credentials; `input` on stdin. */
export async function runAgainst(
  net: HostileNet,
  args: string[],
  options: { input?: string; timeoutMs?: number; cwd?: string; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<Measured> {
  const rssFile = net.path(`rss-${randomBytes(4).toString("hex")}`);
  const started = performance.now();
  const child = spawn(process.execPath, [PWASM, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, NO_COLOR: "1", ...net.env(rssFile) } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? "");
  options.onSpawn?.(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on("close", (c, s) => r([c, s])));
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const peakRss = existsSync(rssFile) ? Number(readFileSync(rssFile, "utf8")) : 0;
  rmSync(rssFile, { force: true });
  return { code, signal, stdout, stderr, seconds, peakRss, timedOut };
}

// Progress a push prints before it fails: "pwasm: pushing …", then a line per blob done.
const PROGRESS = /^(pwasm: pushing |  \S)/;

/** "12.3 MB". */
export const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The figures of a run, for the test log. */
export function figures(label: string, r: Measured, extra = ""): string {
  const said = r.code ? `\n  ${r.stderr.trim().split("\n").filter((l) => !PROGRESS.test(l)).slice(0, 3).join("\n  ")}` : "";
  return `${label}: exit ${r.timedOut ? "none (killed: hung)" : r.code}, ${r.seconds.toFixed(1)} s, peak RSS ${mb(r.peakRss)}${extra ? `, ${extra}` : ""}${said}`;
}

/** The error of a failed run: exit 1, exactly one `pwasm: …` line besides progress, no stack trace. */
export function oneLineError(r: Measured): string {
  const lines = r.stderr.trim().split("\n").filter((l) => !PROGRESS.test(l));
  if (r.code !== 1 || lines.length !== 1 || !lines[0]!.startsWith("pwasm: ") || /unexpected error|\n\s+at /.test(r.stderr)) {
    throw new Error(`expected exit 1 with one 'pwasm: ' line, got exit ${r.code}${r.timedOut ? " (killed after hanging)" : ""}:\n${r.stderr}`);
  }
  return lines[0]!;
}
