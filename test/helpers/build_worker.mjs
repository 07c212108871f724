// A build thread of the global setup (test/helpers/global_setup.ts): compiles the projects it is
// sent, one at a time, with the CLI's compile as built into dist/, and answers each with its line.
import { parentPort } from "node:worker_threads";

const { compileProject } = await import("../../dist/cli/build/compile.js");

parentPort.on("message", async ({ dir, target }) => {
  try {
    const r = await compileProject({ dir, target });
    parentPort.postMessage({ outFile: r.outFile, bytes: r.bytes, compilerVersion: r.compilerVersion });
  } catch (err) {
    parentPort.postMessage({ error: `${dir} (${target}): ${err instanceof Error ? err.message : String(err)}` });
  }
});
