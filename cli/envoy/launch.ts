// Where Envoy runs for `pwasm run --envoy`, `pwasm test --envoy` and the differential suite: a
// local binary when there is one (--envoy-bin, $PWASM_ENVOY_BIN, `envoy` on PATH), else a
// container (--envoy-image, docker or podman). An explicit choice is never silently replaced.
import { UserError } from "../errors.js";
import { DEFAULT_ENVOY_IMAGE, startEnvoyContainer } from "./container.js";
import { detectContainerEngine, type ContainerEngine } from "./engine.js";
import type { EnvoyRunOptions, RunningEnvoy } from "./instance.js";
import { ENVOY_BIN_ENV, findLocalEnvoy, startLocalEnvoy, type LocalEnvoy } from "./local_envoy.js";

/** The environment variable naming an Envoy image. */
export const ENVOY_IMAGE_ENV = "PWASM_ENVOY_IMAGE";

/** Where Envoy will run. */
export type EnvoyTarget =
  | { kind: "local"; envoy: LocalEnvoy }
  | { kind: "container"; engine: ContainerEngine; image: string };

/** What the user asked for. */
export interface EnvoyChoice {
  /** --envoy-bin: this binary. */
  bin?: string;
  /** --envoy-image: a container with this image. */
  image?: string;
}

/** One line naming where Envoy runs. */
export function describeEnvoyTarget(t: EnvoyTarget): string {
  return t.kind === "local"
    ? `local Envoy ${t.envoy.version} (${t.envoy.path})`
    : `Envoy in a container (${t.image}) with ${t.engine.command} ${t.engine.version}`;
}

/** Picks where Envoy runs, or says in one line (UserError) why it cannot run anywhere. */
export async function chooseEnvoy(choice: EnvoyChoice = {}, env: NodeJS.ProcessEnv = process.env): Promise<EnvoyTarget> {
  if (choice.bin && choice.image) throw new UserError("--envoy-bin and --envoy-image name two different Envoys; give one");
  const image = choice.image ?? env[ENVOY_IMAGE_ENV]?.trim();
  if (choice.image || (image && !choice.bin && !env[ENVOY_BIN_ENV])) {
    const probe = await detectContainerEngine(env);
    if (!probe.ok) throw new UserError(`cannot run Envoy image ${image}: ${probe.reason}`);
    return { kind: "container", engine: probe.engine, image: image! };
  }
  const local = await findLocalEnvoy(choice.bin, env);
  if (local.ok) return { kind: "local", envoy: local.envoy };
  if (choice.bin || env[ENVOY_BIN_ENV]) throw new UserError(local.reason);
  const probe = await detectContainerEngine(env);
  if (probe.ok) return { kind: "container", engine: probe.engine, image: image ?? DEFAULT_ENVOY_IMAGE };
  throw new UserError(`no Envoy to run: ${local.reason}; ${probe.reason}`);
}

/** How to start Envoy, wherever it runs. */
export type StartEnvoyOptions = EnvoyRunOptions;

/** Starts Envoy at `target`; resolves once admin /ready says LIVE. */
export function startEnvoy(target: EnvoyTarget, o: StartEnvoyOptions): Promise<RunningEnvoy> {
  return target.kind === "local"
    ? startLocalEnvoy({ ...o, envoy: target.envoy })
    : startEnvoyContainer({ ...o, engine: target.engine, image: target.image });
}
