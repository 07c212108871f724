// Builds the CLI, then every example and plugin (release and debug) whose sources changed, once
// before the suites run, so tests exercise what a user would build and run.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
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

/** A build thread's answer: the build's line, or why it failed. */
type Built = { line: string; error?: undefined } | { error: string };

/**
 * Compiles `jobs` on `threads` build threads (test/helpers/build_worker.mjs), each taking the next
 * job when it is done: a compile is single-threaded, and a thread keeps its compiler warm.
 */
async function buildAll(jobs: Array<{ dir: string; target: string }>, threads: number): Promise<void> {
  const queue = [...jobs];
  const lane = async () => {
    const worker = new Worker(new URL("./build_worker.mjs", import.meta.url));
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const r = await new Promise<Built>((resolve, reject) => {
          worker.once("message", resolve);
          worker.once("error", reject);
          worker.postMessage(job);
        });
        worker.removeAllListeners("error");
        if (r.error !== undefined) throw new Error(`build failed: ${r.error}`);
        // Every build says what it produced, as `pwasm build` does.
        process.stdout.write(`${r.line}\n`);
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(threads, jobs.length) }, lane));
}

export default async function setup(): Promise<void> {
  // CLI tests run the compiled CLI, as a user would; the build threads use its compile.
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
  // Longest first, so no thread is left with a long build at the end: release builds (the
  // optimizer), the plugins before the examples.
  const dirs = projectDirs().sort((a, b) => Number(b.includes("/plugins/")) - Number(a.includes("/plugins/")));
  const jobs = ["release", "debug"].flatMap((target) =>
    dirs.filter((dir) => isStale(dir, join(dir, "build", `${target}.wasm`))).map((dir) => ({ dir, target })),
  );
  await buildAll(jobs, availableParallelism());
}
