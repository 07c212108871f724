// The order test files start in. vitest starts the longest files first when it has timings from a
// previous run; a clean clone (CI) has none, and then one long file started late (the package
// installs take minutes) runs alone at the end while the other worker is idle. These files, longest
// first, start before the rest; the rest keep vitest's order.
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** The suite's longest files, longest first (a clean-clone `.ci/run` on a 2-core machine). */
export const LONGEST = [
  "test/package/install.test.ts",
  "test/differential/failures.test.ts",
  "test/bench/pwasm_bench_envoy.test.ts",
  "test/oci/layouts.test.ts",
  "test/oci/push_pull.test.ts",
  "test/oci/hostile/bounds.test.ts",
  "test/differential/http.test.ts",
  "test/scaffold/test_envoy.test.ts",
  "test/proxy/flow_control.test.ts",
  "test/differential/istio.test.ts",
  "test/oci/istio_deploy.test.ts",
  "test/plugins/metadata_exchange.test.ts",
  "test/differential/lifecycle.test.ts",
  "test/sdk/memory.test.ts",
  "test/fuzz/module_fuzz.test.ts",
  "test/envoy/run_envoy.test.ts",
  "test/oci/manifest.test.ts",
  "test/scaffold/project_test.test.ts",
  "test/compile/outputs.test.ts",
  "test/scaffold/init.test.ts",
];

/** vitest's sequencer, with LONGEST moved to the front. */
export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST.indexOf(relative(f.project.config.root, f.moduleId));
      return i < 0 ? LONGEST.length : i;
    };
    // Array.prototype.sort is stable: the rest keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
