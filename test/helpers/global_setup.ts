// Builds every example and plugin (release and debug) once before the suites run, and the CLI, so
// tests exercise what a user would build and run.
import { execFileSync } from "node:child_process";
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { compileProject } from "../../cli/build/compile.js";

const ROOT = join(import.meta.dirname, "..", "..");

export default async function setup(): Promise<void> {
  const dirs = ["examples", "plugins"].flatMap((top) =>
    existsSync(join(ROOT, top))
      ? readdirSync(join(ROOT, top)).map((d) => join(ROOT, top, d)).filter((d) => existsSync(join(d, "asconfig.json")))
      : [],
  );
  for (const dir of dirs) {
    for (const target of ["release", "debug"]) await compileProject({ dir, target });
  }
  // The CLI tests run the compiled CLI, as a user would.
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
}
