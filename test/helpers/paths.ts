// Paths of the repository and its built plugins, for tests.
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../cli/package_root.js";

/** The repository (found from this file whether it runs from sources or compiled into dist/, as the benchmarks use it). */
export const ROOT = PACKAGE_ROOT;

/** The built .wasm of an example or plugin (built by the global setup). */
export function built(project: string, target: "release" | "debug" = "release"): string {
  return join(ROOT, project, "build", `${target}.wasm`);
}
