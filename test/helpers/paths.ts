// Paths of the repository and its built plugins, for tests.
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");

/** The built .wasm of an example or plugin (built by the global setup). */
export function built(project: string, target: "release" | "debug" = "release"): string {
  return join(ROOT, project, "build", `${target}.wasm`);
}
