// The build variants the SDK supports — AssemblyScript 0.28 and 0.27, minimal (default) and
// incremental runtime — and a helper that builds a project in one of them into a temporary file,
// so every behavioural suite can run against each variant.
import { join } from "node:path";
import { compileProject } from "../../cli/build/compile.js";
import { isStale } from "../../cli/build/stale.js";
import { ROOT } from "../helpers/paths.js";

/** One way of building a plugin. */
export interface BuildVariant {
  /** Human name, used in test titles. */
  name: string;
  /** File name of the build output (in the project's build/ directory). */
  slug: string;
  /** AssemblyScript installation (default: pwasm's, 0.28). */
  compilerDir?: string;
  /** Extra compiler arguments. */
  extraArgs?: string[];
}

const AS_027 = join(ROOT, "node_modules", "assemblyscript-0.27");
const INCREMENTAL = ["--runtime", "incremental"];

export const AS_028_MINIMAL: BuildVariant = { name: "AssemblyScript 0.28, minimal runtime", slug: "as028-minimal" };
export const AS_027_MINIMAL: BuildVariant = { name: "AssemblyScript 0.27, minimal runtime", slug: "as027-minimal", compilerDir: AS_027 };
export const AS_028_INCREMENTAL: BuildVariant = { name: "AssemblyScript 0.28, incremental runtime", slug: "as028-incremental", extraArgs: INCREMENTAL };
export const AS_027_INCREMENTAL: BuildVariant = { name: "AssemblyScript 0.27, incremental runtime", slug: "as027-incremental", compilerDir: AS_027, extraArgs: INCREMENTAL };

/** Every supported variant. */
export const VARIANTS: BuildVariant[] = [AS_028_MINIMAL, AS_027_MINIMAL, AS_028_INCREMENTAL, AS_027_INCREMENTAL];

/**
 * Builds `dir` (release target) in `variant` to `<dir>/build/<slug>.wasm`, unless that file is
 * newer than the project's and the SDK's sources; returns its path. Writes are atomic, so suites
 * running in parallel may share the output.
 */
export async function buildVariant(dir: string, variant: BuildVariant): Promise<string> {
  const outFile = join(dir, "build", `${variant.slug}.wasm`);
  if (!isStale(dir, outFile)) return outFile;
  const r = await compileProject({ dir, target: "release", outFile, compilerDir: variant.compilerDir, extraArgs: variant.extraArgs });
  return r.outFile;
}
