// A build thread of the global setup (test/helpers/global_setup.ts): compiles the projects it is
// sent, one at a time, with the CLI's compile as built into dist/, and answers each with the line
// `pwasm build` prints for it.
import { parentPort } from "node:worker_threads";

const { compileProject } = await import("../../dist/cli/build/compile.js");
const { builtLine } = await import("../../dist/cli/build/progress.js");

parentPort.on("message", async ({ dir, target }) => {
  try {
    parentPort.postMessage({ line: builtLine(await compileProject({ dir, target })) });
  } catch (err) {
    parentPort.postMessage({ error: `${dir} (${target}): ${err instanceof Error ? err.message : String(err)}` });
  }
});
