// Example projects and how the example suites build them: each behavioural suite runs against the
// native example and its proxy-runtime-style twin (sdk/compat), compiled with AssemblyScript 0.28
// and 0.27, so both APIs and both compilers pass the same checks.
import { join } from "node:path";
import { ROOT } from "../helpers/paths.js";
import { AS_027_MINIMAL, AS_028_MINIMAL, buildVariant, type BuildVariant } from "../sdk/variants.js";

/** A plugin build under test: which project, which compiler. */
export interface ExampleBuild {
  /** e.g. "compat-auth-callout, AssemblyScript 0.27, minimal runtime". */
  name: string;
  project: string;
  variant: BuildVariant;
}

/** The compilers every example is checked with. */
export const EXAMPLE_VARIANTS: BuildVariant[] = [AS_028_MINIMAL, AS_027_MINIMAL];

/** Every (project, compiler) pair for the given example projects (names under examples/). */
export function exampleBuilds(...projects: string[]): ExampleBuild[] {
  return projects.flatMap((project) => EXAMPLE_VARIANTS.map((variant) => ({ name: `${project}, ${variant.name}`, project, variant })));
}

/** Builds one example build (cached in the project's build/ directory); returns the .wasm path. */
export function buildExample(b: ExampleBuild): Promise<string> {
  return buildVariant(join(ROOT, "examples", b.project), b.variant);
}
