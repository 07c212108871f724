// Compiles an AssemblyScript plugin project through the compiler's programmatic API, using the
// project's asconfig.json targets. The pwasm SDK resolves from this package when the project has
// no node_modules/pwasm of its own, and a build's outputs are written together or not at all
// (cli/build/outputs.ts).
import { readdir, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { PACKAGE_ROOT } from "../package_root.js";
import { UserError } from "../errors.js";
import { readUserFile } from "../files.js";
import { shownPath } from "../format.js";
import { exportCallbacksTransform } from "./export_callbacks.js";
import { writeOutputs } from "./outputs.js";

/** What to build. */
export interface CompileOptions {
  /** Project directory (holds asconfig.json). */
  dir: string;
  /** asconfig target; default "release". */
  target?: string;
  /** Directory of an AssemblyScript installation to compile with (default: pwasm's own). */
  compilerDir?: string;
  /** Extra compiler arguments (e.g. ["--runtime", "incremental"]). */
  extraArgs?: string[];
  /** Override the output file (relative to `dir`). */
  outFile?: string;
  /** Called when compiling starts (after the project's configuration was read), for progress. */
  onStart?: (info: BuildStart) => void;
  /**
   * Keep every Proxy-Wasm callback the SDK exports, as builds did before pwasm exported only the
   * callbacks a plugin's classes override (cli/build/export_callbacks.ts). For comparisons.
   */
  keepAllCallbacks?: boolean;
}

/** What a build that is starting will produce. */
export interface BuildStart {
  /** Absolute path of the .wasm it will write. */
  outFile: string;
  target: string;
  compilerVersion: string;
}

/** What a build produced. */
export interface CompileResult {
  /** Absolute path of the .wasm written. */
  outFile: string;
  /** Size in bytes. */
  bytes: number;
  /** Wall time in ms. */
  ms: number;
  target: string;
  /** Compiler version used. */
  compilerVersion: string;
  /** Compiler warnings (text), if any. */
  warnings: string;
  /**
   * The SDK's callback exports this build left out because no class of the plugin overrides them
   * (empty when the module is not built with the pwasm SDK, or with keepAllCallbacks).
   */
  callbacksLeftOut: string[];
}

interface AsConfig {
  extends?: string;
  entries?: string[];
  targets?: Record<string, { outFile?: string } & Record<string, unknown>>;
  options?: Record<string, unknown>;
}

// Follows `extends` to find the target's outFile, resolved against the file that sets it.
/** The absolute outFile of a project's target (following `extends`), or undefined when it has none. */
export function projectOutFile(dir: string, target: string): Promise<string | undefined> {
  return findOutFile(join(resolve(dir), "asconfig.json"), target);
}

async function findOutFile(configPath: string, target: string): Promise<string | undefined> {
  const text = (await readUserFile(configPath)).toString("utf8");
  let cfg: AsConfig;
  try {
    cfg = JSON.parse(text) as AsConfig;
  } catch (err) {
    throw new UserError(`${configPath} is not valid JSON: ${(err as Error).message}`);
  }
  const out = cfg.targets?.[target]?.outFile;
  if (out) return resolve(dirname(configPath), out);
  if (cfg.extends) return findOutFile(resolve(dirname(configPath), cfg.extends), target);
  return undefined;
}

const SDK_MARKER = `node_modules${sep}pwasm${sep}`;

type AscModule = typeof import("assemblyscript/asc");

// pwasm's own compiler, found as Node finds any dependency of this file: npm puts it beside pwasm
// (hoisted into the project's node_modules) or inside it (node_modules/pwasm/node_modules).
function defaultCompilerDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve("assemblyscript/package.json"));
  } catch {
    throw new UserError(`AssemblyScript compiler not found: the package assemblyscript, a dependency of pwasm (${PACKAGE_ROOT}), is not installed (run npm install)`);
  }
}

async function loadCompiler(compilerDir?: string): Promise<{ asc: AscModule; version: string }> {
  const dir = compilerDir ?? defaultCompilerDir();
  const pkgPath = join(dir, "package.json");
  if (!existsSync(pkgPath)) throw new UserError(`AssemblyScript compiler not found in ${dir}`);
  const version = (JSON.parse(await readFile(pkgPath, "utf8")) as { version: string }).version;
  const asc = (await import(pathToFileURL(join(dir, "dist", "asc.js")).href)) as AscModule;
  return { asc: (asc as unknown as { default?: AscModule }).default ?? asc, version };
}

// The compiler keeps files of a project's `lib` directories in a module-level table (its
// `libraryFiles`) and parses them again in every later compile of the process; and compiles that
// overlap would share that table. So compiles run one at a time, and each removes what it added.
let compileQueue: Promise<unknown> = Promise.resolve();

/** Compiles one project target. Throws UserError with the compiler's diagnostics on failure. */
export function compileProject(options: CompileOptions): Promise<CompileResult> {
  const run = compileQueue.then(() => compileOne(options));
  compileQueue = run.catch(() => undefined);
  return run;
}

async function compileOne(options: CompileOptions): Promise<CompileResult> {
  const dir = resolve(options.dir);
  const target = options.target ?? "release";
  const configPath = join(dir, "asconfig.json");
  if (!existsSync(configPath)) throw new UserError(`no asconfig.json in ${dir}: not an AssemblyScript project (try \`pwasm init\`)`);
  const outFile = options.outFile ? resolve(dir, options.outFile) : await findOutFile(configPath, target);
  if (!outFile) throw new UserError(`asconfig.json has no outFile for target "${target}" in ${dir}`);
  const { asc, version } = await loadCompiler(options.compilerDir);
  options.onStart?.({ outFile, target, compilerVersion: version });

  const stderr: string[] = [];
  const outputs = new Map<string, Uint8Array | string>();
  const started = performance.now();
  const args = ["--baseDir", dir, "--config", "asconfig.json", "--target", target, ...(options.extraArgs ?? [])];
  if (options.outFile) args.push("--outFile", relative(dir, outFile));
  const libraryFiles = (asc as unknown as { libraryFiles?: Record<string, string> }).libraryFiles ?? {};
  const stdLibrary = new Set(Object.keys(libraryFiles));
  let result: Awaited<ReturnType<AscModule["main"]>>;
  let callbacksLeftOut: string[] = [];
  const transforms = options.keepAllCallbacks ? [] : [exportCallbacksTransform((r) => { callbacksLeftOut = r.removed; })];
  try {
    result = await asc.main(args, {
      transforms: transforms as never,
      stdout: { write: (s: string | Uint8Array) => { stderr.push(String(s)); return true; } } as never,
      stderr: { write: (s: string | Uint8Array) => { stderr.push(String(s)); return true; } } as never,
      readFile: async (name: string, baseDir: string) => {
        const full = isAbsolute(name) ? name : resolve(baseDir, name);
        try {
          return await readFile(full, "utf8");
        } catch {
          // The SDK comes from this pwasm package when the project does not have it installed.
          const i = full.lastIndexOf(SDK_MARKER);
          if (i < 0) return null;
          try {
            return await readFile(join(PACKAGE_ROOT, full.slice(i + SDK_MARKER.length)), "utf8");
          } catch {
            return null;
          }
        }
      },
      // Collected, then written after a successful compile.
      writeFile: async (name: string, contents: Uint8Array | string, baseDir: string) => {
        outputs.set(isAbsolute(name) ? name : resolve(baseDir, name), contents);
      },
      // Needed for `lib` directories (e.g. @assemblyscript/wasi-shim).
      listFiles: async (dirname: string, baseDir: string) => {
        try {
          return (await readdir(isAbsolute(dirname) ? dirname : resolve(baseDir, dirname))).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
        } catch {
          return null;
        }
      },
    });
  } finally {
    for (const name of Object.keys(libraryFiles)) if (!stdLibrary.has(name)) delete libraryFiles[name];
  }
  const ms = Math.round(performance.now() - started);
  const text = stderr.join("");
  if (result.error) {
    throw new UserError(`build failed (${shownPath(dir)}, target ${target}):\n${text.trim() || result.error.message}`);
  }
  if (!outputs.has(outFile)) throw new UserError(`the compiler produced no ${shownPath(outFile)}`);
  // The module, its source map and text form are replaced together, the module last; a failure or
  // Ctrl-C leaves the previous set and no temporary files.
  await writeOutputs(outputs, outFile);
  const bytes = (outputs.get(outFile) as Uint8Array).length;
  // Binaryen reports this on every converge build; it is not a problem of the plugin.
  const warnings = text.split("\n").filter((l) => l.trim() && !l.includes("Last converge was suboptimal")).join("\n");
  return { outFile, bytes, ms, target, compilerVersion: version, warnings, callbacksLeftOut };
}
