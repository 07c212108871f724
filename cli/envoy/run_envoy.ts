// `pwasm run --envoy`: the same plugins and proxy settings as `pwasm run`, served by a real Envoy
// (a local binary, or a container) instead of the embedded dev proxy.
import { relative } from "node:path";
import { UserError } from "../errors.js";
import type { RunOptions } from "../commands/run.js";
import { describeEnvoyTarget, chooseEnvoy, startEnvoy } from "./launch.js";
import type { RunningEnvoy } from "./instance.js";
import { envoyOptionsFromArgs } from "./options.js";

/** Runs the plugins in Envoy until Ctrl-C (or until Envoy exits, which is an error). */
export async function runInEnvoy(args: string[], o: RunOptions): Promise<void> {
  if (o.watch) throw new UserError("--watch does not work with --envoy (Envoy does not reload .wasm files); rerun after rebuilding");
  const target = await chooseEnvoy({ bin: o.envoyBin, image: o.envoyImage });
  const proxy = await envoyOptionsFromArgs(args, o);
  let envoy: RunningEnvoy;
  // Ctrl-C while Envoy starts: the start gives up and stops Envoy, then pwasm leaves.
  const interrupt = new AbortController();
  const abort = () => {
    process.stderr.write("pwasm: interrupted, stopping Envoy\n");
    process.exitCode = 130;
    interrupt.abort();
  };
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  process.stderr.write(`pwasm: starting ${describeEnvoyTarget(target)}…\n`);
  try {
    envoy = await startEnvoy(target, {
      proxy, logLevel: o.logLevel, concurrency: o.concurrency,
      onLog: (line) => process.stderr.write(`${line}\n`),
      onProgress: (m) => process.stderr.write(`pwasm: ${m}\n`),
      signal: interrupt.signal,
    });
  } catch (err) {
    if (interrupt.signal.aborted) return;
    throw err;
  } finally {
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
  }
  for (const [i, p] of proxy.plugins.entries()) {
    process.stderr.write(`pwasm: plugin ${i + 1}: ${relative(process.cwd(), String(p.wasm))} (root_id "${p.rootId ?? ""}", ${p.type ?? "http"} filter)\n`);
  }
  process.stderr.write(`pwasm: Envoy listening on ${envoy.url} → ${o.upstream ?? `direct response ${proxy.directResponse?.status ?? 200}`}\n`);
  process.stderr.write(`pwasm: admin on ${envoy.adminUrl} (/ready, /stats/prometheus, /config_dump)${"name" in envoy ? `; container ${String(envoy.name)}` : ""}\n`);
  const running = envoy;
  await new Promise<void>((done) => {
    let stopping = false;
    const stop = () => {
      stopping = true;
      process.stderr.write(`pwasm: shutting down, stopping Envoy${"name" in running ? " and removing its container" : ""}\n`);
      void running.stop().then(done);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    void running.exited.then((code) => {
      if (stopping) return;
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.stderr.write(`pwasm: Envoy exited (code ${code}); last output: ${running.output.at(-1) ?? "none"}\n`);
      process.exitCode = 1;
      void running.stop().then(done);
    });
  });
}
