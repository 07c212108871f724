// Shows that a build is under way: compiling takes seconds, and a command that prints nothing that
// long looks stuck. A line when a build starts; on a terminal the line shows the time so far and
// is replaced by the build's result.
import { formatBytes, shownPath } from "../format.js";
import { compileProject, type BuildStart, type CompileOptions, type CompileResult } from "./compile.js";

/** The start line's text: `building build/release.wasm (release, AssemblyScript 0.28.20)…`. */
export function buildStartLine(info: BuildStart): string {
  return `building ${shownPath(info.outFile)} (${info.target}, AssemblyScript ${info.compilerVersion})…`;
}

/** A build's progress line on `stream` (stderr by default, so a command's own output stays clean). */
export class BuildProgress {
  private timer: NodeJS.Timeout | undefined;
  private line = "";

  constructor(private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr) {}

  /** Prints the start line; on a terminal, keeps it updated with the time so far. */
  start(info: BuildStart): void {
    this.line = buildStartLine(info);
    if (!this.stream.isTTY) {
      this.stream.write(`${this.line}\n`);
      return;
    }
    const started = performance.now();
    this.stream.write(this.line);
    // The compiler works in long synchronous stretches: the time moves when it yields.
    this.timer = setInterval(() => this.stream.write(`\r\x1b[2K${this.line} ${((performance.now() - started) / 1000).toFixed(1)} s`), 200);
    this.timer.unref();
  }

  /** Ends the progress line: on a terminal it is erased, for the result or an error to take its place. */
  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.stream.write("\r\x1b[2K");
    }
  }
}

/** compileProject, with its progress shown on `stream` while it runs. */
export async function compileWithProgress(options: CompileOptions, stream?: NodeJS.WritableStream & { isTTY?: boolean }): Promise<CompileResult> {
  const progress = new BuildProgress(stream);
  try {
    return await compileProject({
      ...options,
      onStart: (info) => {
        options.onStart?.(info);
        progress.start(info);
      },
    });
  } finally {
    progress.stop();
  }
}

/** A build's result line: `built build/release.wasm  8,131 bytes  1428 ms`, then (with `detail`) the target and compiler. */
export function builtLine(r: CompileResult, detail = true): string {
  const line = `built ${shownPath(r.outFile)}  ${formatBytes(r.bytes)}  ${r.ms} ms`;
  return detail ? `${line}  (${r.target}, AssemblyScript ${r.compilerVersion})` : line;
}

/**
 * Prints one build line: path, size, time. To stdout for `pwasm build`, whose output it is; other
 * commands that build on the way pass stderr, so their own output (JSON, a config) stays clean.
 */
export function printBuild(r: CompileResult, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(`${builtLine(r)}\n`);
  if (r.warnings) process.stderr.write(`${r.warnings}\n`);
}
