// A project made by `pwasm init` (http-headers template), served by `pwasm run --watch` in front
// of a test upstream: what the --watch tests edit and query.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { runPwasm, startPwasm, type CliProcess } from "../helpers/cli.js";
import { startUpstream } from "../helpers/upstream.js";

/** A running `pwasm run --watch`. */
export interface WatchedProject {
  /** The project directory. */
  dir: string;
  /** The dev proxy's listener, `http://127.0.0.1:<port>`. */
  url: string;
  proc: CliProcess;
  /** How many times the proxy said it reloaded the plugin. */
  reloads(): number;
  /** Ctrl-C, then the upstream closed. */
  stop(): Promise<void>;
}

/** Inits a project in a temp dir named after `prefix` and starts `pwasm run --watch` on it. */
export async function startWatchedProject(prefix: string): Promise<WatchedProject> {
  const dir = join(mkdtempSync(join(tmpdir(), prefix)), "live");
  expect((await runPwasm(["init", dir, "--template", "http-headers"])).code).toBe(0);
  const upstream = await startUpstream();
  const proc = startPwasm(["run", dir, "--watch", "--root-id", "live", "--upstream", upstream.url, "--listen", "127.0.0.1:0", "--admin", "off"]);
  const url = (await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  await proc.waitFor(/watching .* for changes/);
  return {
    dir,
    url,
    proc,
    reloads: () => proc.output().match(/pwasm: reloaded /g)?.length ?? 0,
    async stop() {
      await proc.stop();
      await upstream.close();
    },
  };
}
