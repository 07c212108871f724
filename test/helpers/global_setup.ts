// Builds every example and plugin (release and debug) whose sources changed, and the CLI, once
// before the suites run, so tests exercise what a user would build and run.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { compileProject } from "../../cli/build/compile.js";
import { isStale } from "../../cli/build/stale.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** Every project directory (examples/*, plugins/*) with an asconfig.json. */
export function projectDirs(): string[] {
  return ["examples", "plugins"].flatMap((top) =>
    existsSync(join(ROOT, top))
      ? readdirSync(join(ROOT, top)).map((d) => join(ROOT, top, d)).filter((d) => existsSync(join(d, "asconfig.json")))
      : [],
  );
}

export default async function setup(): Promise<void> {
  for (const dir of projectDirs()) {
    for (const target of ["release", "debug"]) {
      if (!isStale(dir, join(dir, "build", `${target}.wasm`))) continue;
      const r = await compileProject({ dir, target });
      // Every build says what it produced, as `pwasm build` does.
      process.stdout.write(`built ${relative(ROOT, r.outFile)}  ${r.bytes.toLocaleString("en-US")} bytes  (${target}, AssemblyScript ${r.compilerVersion})\n`);
    }
  }
  // CLI tests run the compiled CLI, as a user would.
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
}
