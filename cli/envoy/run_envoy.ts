// `pwasm run --envoy`: the same plugins and proxy settings as `pwasm run`, served by Envoy in a
// container instead of the embedded dev proxy.
import { spawnSync } from "node:child_process";
import { relative } from "node:path";
import { UserError } from "../errors.js";
import type { RunOptions } from "../commands/run.js";
import { DEFAULT_ENVOY_IMAGE, newContainerName, startEnvoyContainer } from "./container.js";
import { detectContainerEngine } from "./engine.js";
import { envoyOptionsFromArgs } from "./options.js";

/** Runs the plugins in Envoy until Ctrl-C (or until Envoy exits, which is an error). */
export async function runInEnvoy(args: string[], o: RunOptions): Promise<void> {
  if (o.watch) throw new UserError("--watch does not work with --envoy (Envoy does not reload .wasm files); rerun after rebuilding");
  const probe = await detectContainerEngine();
  if (!probe.ok) throw new UserError(probe.reason);
  const { engine } = probe;
  const proxy = await envoyOptionsFromArgs(args, o);
  const image = o.envoyImage ?? DEFAULT_ENVOY_IMAGE;
  const name = newContainerName();
  // Ctrl-C while the image is pulled or Envoy starts: remove the container, then leave.
  const abort = () => {
    process.stderr.write("pwasm: interrupted, removing the Envoy container\n");
    spawnSync(engine.command, ["rm", "-f", name], { stdio: "ignore", timeout: 30_000 });
    process.exit(130);
  };
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  process.stderr.write(`pwasm: starting Envoy (${image}) with ${engine.command} ${engine.version}…\n`);
  let envoy;
  try {
    envoy = await startEnvoyContainer({
      engine, proxy, image, name, logLevel: o.logLevel, concurrency: o.concurrency,
      onLog: (line) => process.stderr.write(`${line}\n`),
      onProgress: (m) => process.stderr.write(`pwasm: ${m}\n`),
    });
  } finally {
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
  }
  for (const [i, p] of proxy.plugins.entries()) {
    process.stderr.write(`pwasm: plugin ${i + 1}: ${relative(process.cwd(), String(p.wasm))} (root_id "${p.rootId ?? ""}", ${p.type ?? "http"} filter)\n`);
  }
  process.stderr.write(`pwasm: Envoy listening on ${envoy.url} → ${o.upstream ?? `direct response ${proxy.directResponse?.status ?? 200}`}\n`);
  process.stderr.write(`pwasm: admin on ${envoy.adminUrl} (/ready, /stats/prometheus, /config_dump); container ${envoy.name}\n`);
  await new Promise<void>((done) => {
    let stopping = false;
    const stop = () => {
      stopping = true;
      process.stderr.write("pwasm: shutting down, removing the Envoy container\n");
      void envoy.stop().then(done);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    void envoy.exited.then((code) => {
      if (stopping) return;
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.stderr.write(`pwasm: Envoy exited (code ${code}); last output: ${envoy.output.at(-1) ?? "none"}\n`);
      process.exitCode = 1;
      void envoy.stop().then(done);
    });
  });
}
