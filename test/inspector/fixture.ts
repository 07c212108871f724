// The inspector tests' plugin (fixture/assembly/index.ts), built from source for the test run.
import { join } from "node:path";
import { compileProject } from "../../cli/build/compile.js";

export const FIXTURE_DIR = join(import.meta.dirname, "fixture");

/** Builds the fixture's `target`; resolves with the module's path. */
export async function buildFixture(target: "release" | "debug"): Promise<string> {
  return (await compileProject({ dir: FIXTURE_DIR, target })).outFile;
}
