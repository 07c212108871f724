// Builds the modules the benchmark suites compare, from source, into .cache/bench/ (never into the
// work tree): add-header with the pwasm SDK, @gcoredev/proxy-wasm-sdk-as, @solo-io/proxy-runtime,
// the hand-written WAT floor, the Go SDK and C (test/fixtures/build.ts builds those two, as the
// tests do), and the Istio plugins.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";
import { compileProject, type CompileOptions } from "../cli/build/compile.js";
import { PACKAGE_ROOT } from "../cli/package_root.js";
import { buildCFixture, buildGoFixture } from "../test/fixtures/build.js";

/** The repository. */
export const ROOT = PACKAGE_ROOT;
/** Where the suites build to. */
export const BENCH_CACHE = join(ROOT, ".cache", "bench");

/** A built module. */
export interface BuiltModule {
  path: string;
  bytes: number;
}

function built(path: string): BuiltModule {
  return { path, bytes: statSync(path).size };
}

/** Builds an AssemblyScript project (release target) into .cache/bench/<name>.wasm. */
export async function buildProject(project: string, name: string, options: Partial<CompileOptions> = {}): Promise<BuiltModule> {
  mkdirSync(BENCH_CACHE, { recursive: true });
  const r = await compileProject({ ...options, dir: join(ROOT, project), target: "release", outFile: join(BENCH_CACHE, `${name}.wasm`) });
  return built(r.outFile);
}

/** examples/add-header with the pwasm SDK. */
export function buildPwasmAddHeader(options: Partial<CompileOptions> = {}, name = "pwasm-add-header"): Promise<BuiltModule> {
  return buildProject("examples/add-header", name, options);
}

/** add-header with @gcoredev/proxy-wasm-sdk-as (AssemblyScript 0.28). */
export function buildGcoreAddHeader(): Promise<BuiltModule> {
  return buildProject("bench/peers/gcore-add-header", "gcore-add-header");
}

/** add-header with @solo-io/proxy-runtime: its npm release needs AssemblyScript 0.14, whose compiler has only the old CLI. */
export function buildProxyRuntimeAddHeader(): BuiltModule {
  mkdirSync(BENCH_CACHE, { recursive: true });
  const out = join(BENCH_CACHE, "proxy-runtime-add-header.wasm");
  execFileSync(process.execPath, [
    join(ROOT, "node_modules", "assemblyscript-0.14", "bin", "asc"), "assembly/index.ts", "-b", out,
    "--use", "abort=abort_proc_exit", "-O3", "--shrinkLevel", "1", "--converge", "--noAssert",
  ], { cwd: join(ROOT, "bench", "peers", "proxy-runtime-add-header"), stdio: ["ignore", "ignore", "pipe"] });
  return built(out);
}

/** The hand-written WAT floor (bench/peers/floor-add-header.wat), assembled with wabt. */
export async function buildFloorAddHeader(): Promise<BuiltModule> {
  const wabt = await wabtInit();
  const wat = wabt.parseWat("floor.wat", readFileSync(join(ROOT, "bench", "peers", "floor-add-header.wat"), "utf8"));
  try {
    wat.resolveNames();
    wat.validate();
    mkdirSync(BENCH_CACHE, { recursive: true });
    const out = join(BENCH_CACHE, "floor-add-header.wasm");
    writeFileSync(out, Buffer.from(wat.toBinary({}).buffer));
    return built(out);
  } finally {
    wat.destroy();
  }
}

/** add-header on the Go SDK (test/fixtures/go/add_header), built as the tests build Go fixtures. */
export async function buildGoAddHeader(): Promise<BuiltModule> {
  return built((await buildGoFixture("add_header")).path);
}

/** add-header in C on the raw ABI (test/fixtures/c/add_header). */
export async function buildCAddHeader(): Promise<BuiltModule> {
  return built((await buildCFixture("add_header")).path);
}
