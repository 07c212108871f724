// `pwasm build [dirs...]`: compile AssemblyScript plugin projects with their asconfig.json targets.
import type { Command } from "commander";
import type { CompileResult } from "../build/compile.js";
import { compileWithProgress, printBuild } from "../build/progress.js";
import { setExitStatus, UserError } from "../errors.js";

/** Options of `pwasm build`, as parsed. */
export interface BuildOptions {
  debug?: boolean;
  target?: string;
  compiler?: string;
  json?: boolean;
}

/** Declares `pwasm build`: arguments, flags, help; the action runs buildCommand. */
export function registerBuild(program: Command): void {
  program
    .command("build")
    .description("compile AssemblyScript plugin projects (each a directory with asconfig.json) to .wasm")
    .argument("[dirs...]", "project directories", ["."])
    .option("--debug", "build the debug target (names and source map, for readable backtraces)")
    .option("-t, --target <name>", "asconfig.json target to build (default: release)")
    .option("--compiler <dir>", "AssemblyScript installation to compile with (default: the one pwasm ships)")
    .option("--json", "print results as JSON")
    .addHelpText("after", "\nExample:\n  $ pwasm build examples/add-header\n  built examples/add-header/build/release.wasm  6,721 bytes  1428 ms  (release, AssemblyScript 0.28.20)\n")
    .action(async (dirs: string[], o: BuildOptions) => setExitStatus(await buildCommand(dirs, o)));
}

/** `pwasm build`'s work: compiles each project, prints a line per build (or JSON). Returns 0 (a failed build throws). */
export async function buildCommand(dirs: string[], opts: BuildOptions): Promise<number> {
  if (opts.debug && opts.target && opts.target !== "debug") throw new UserError(`--debug and --target ${opts.target} name two targets: give one`);
  const target = opts.target ?? (opts.debug ? "debug" : "release");
  const results: CompileResult[] = [];
  for (const dir of dirs) {
    const r = await compileWithProgress({ dir, target, compilerDir: opts.compiler });
    results.push(r);
    if (!opts.json) printBuild(r);
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return 0;
}
