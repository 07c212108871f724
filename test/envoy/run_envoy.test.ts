// `pwasm run --envoy` against a real Envoy 1.40: as a local process (the binary .ci/run installs)
// and in a container (podman, an image built here FROM scratch with the local binary and the
// libraries ldd names). Each run: says where Envoy runs, serves a request through the plugin,
// shows the plugin's log line, stops on Ctrl-C with exit 0, and leaves nothing running.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { isStale } from "../../cli/build/stale.js";
import { runCommand } from "../../cli/envoy/engine.js";
import { CLI } from "../helpers/cli.js";
import { testEnvoy, testEnvoyImage } from "../helpers/envoy.js";
import { httpRequest } from "../helpers/http.js";
import { ROOT } from "../helpers/paths.js";

const local = await testEnvoy();
const container = local.envoy ? await testEnvoyImage() : { skip: local.skip };
// The checks fixture: adds `x-greeting: <configuration>` to responses and logs its greeting at info.
const project = join(ROOT, "test", "envoy", "fixtures", "checks");
const wasm = join(project, "build", "release.wasm");
beforeAll(async () => {
  if (isStale(project, wasm)) await compileProject({ dir: project, target: "release" });
}, 120_000);

// Child processes of `pid` (Linux /proc).
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (new RegExp(`^PPid:\\s*${pid}$`, "m").test(readFileSync(`/proc/${d}/status`, "utf8"))) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

async function runUntilCtrlC(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [CLI, "run", ...args, wasm, "--root-id", "e2e_checks", "--config", "envoy", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"], { env });
  let out = "";
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("close", r));
  await expect.poll(() => out, { timeout: 60_000 }).toMatch(/Envoy ready on (http:\/\/127\.0\.0\.1:\d+)/);
  const url = /Envoy ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  const admin = /admin on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  return { child, exited, url, admin, output: () => out };
}

describe("pwasm run --envoy with a local Envoy binary", () => {
  it.skipIf(!local.envoy)(`serves through the plugin, shows its logs, stops cleanly${local.skip ? ` — skipped: ${local.skip}` : ""}`, async () => {
    const run = await runUntilCtrlC(["--envoy", "--envoy-bin", local.envoy!.path]);
    expect(run.output()).toContain(`pwasm: starting local Envoy 1.40.0 (${local.envoy!.path})`);
    const r = await httpRequest(`${run.url}/hello`);
    expect(r.status).toBe(200);
    expect(r.headers["x-greeting"]).toBe("envoy");
    expect(r.headers.server).toBe("envoy");
    expect((await httpRequest(`${run.admin}/ready`)).body).toBe("LIVE\n");
    // The plugin's log line as Envoy prints it.
    expect(run.output()).toMatch(/\]\[info\]\[wasm\] wasm log e2e_checks: configured with greeting envoy\n/);
    const envoyPids = childrenOf(run.child.pid!).filter((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--admin-address-path"));
    expect(envoyPids.length).toBe(1);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain("pwasm: shutting down: draining Envoy, then stopping it");
    await expect(httpRequest(run.url)).rejects.toThrow();
    expect(existsSync(`/proc/${envoyPids[0]}`)).toBe(false);
  }, 120_000);

  it.skipIf(!local.envoy)("a SIGKILLed pwasm leaves no Envoy behind", async () => {
    const run = await runUntilCtrlC(["--envoy", "--envoy-bin", local.envoy!.path]);
    const envoyPid = childrenOf(run.child.pid!).find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--admin-address-path"));
    expect(envoyPid).toBeDefined();
    run.child.kill("SIGKILL");
    await run.exited;
    await expect.poll(() => existsSync(`/proc/${envoyPid}`), { timeout: 15_000 }).toBe(false);
    await expect(httpRequest(run.url)).rejects.toThrow();
  }, 120_000);

  it("names a missing --envoy-bin in one line", async () => {
    const child = spawn(process.execPath, [CLI, "run", "--envoy-bin", "/nonexistent/envoy", wasm]);
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(code).toBe(1);
    expect(err).toBe("pwasm: /nonexistent/envoy is not installed\n");
  });
});

// `pwasm run --access-log` and its stdout: the dev proxy, or (args with --envoy) Envoy's stdout access logger.
async function accessLogLines(args: string[]): Promise<string[]> {
  const child = spawn(process.execPath, [CLI, "run", ...args, wasm, "--root-id", "e2e_checks", "--config", "envoy", "--access-log",
    "--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("close", r));
  try {
    await expect.poll(() => err, { timeout: 60_000 }).toMatch(/(Envoy ready|listening) on http:\/\/127\.0\.0\.1:\d+/);
    const url = /(?:Envoy ready|listening) on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)![1]!;
    // A dead upstream: the 503 that used to leave no line on the console.
    expect((await httpRequest(`${url}/orders?id=7`, { headers: { "user-agent": "pwasm-test/1", "x-forwarded-for": "10.0.0.9" } })).status).toBe(503);
    expect((await httpRequest(`${url}/`, { method: "POST", body: "12345" })).status).toBe(503);
    await expect.poll(() => out.split("\n").filter(Boolean).length, { timeout: 10_000 }).toBe(2);
  } finally {
    child.kill("SIGINT");
  }
  expect(await exited).toBe(0);
  return out.split("\n").filter(Boolean);
}

// What differs between two runs of the same requests: the time, the request id, the duration and the listener's port.
const normalizeAccessLog = (line: string) => line
  .replace(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\]/, "[TIME]")
  .replace(/" (\d{3}) (\S+) (\d+) (\d+) \d+ /, '" $1 $2 $3 $4 DURATION ')
  .replace(/"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/, '"REQUEST-ID"')
  .replace(/"127\.0\.0\.1:\d+" "127\.0\.0\.1:1"$/, '"127.0.0.1:PORT" "127.0.0.1:1"');

describe("pwasm run --access-log", () => {
  it.skipIf(!local.envoy)(`writes Envoy's access log line per request on stdout, as Envoy does${local.skip ? ` — skipped: ${local.skip}` : ""}`, async () => {
    const dev = await accessLogLines([]);
    const envoy = await accessLogLines(["--envoy", "--envoy-bin", local.envoy!.path]);
    expect(dev.map(normalizeAccessLog)).toEqual([
      '[TIME] "GET /orders?id=7 HTTP/1.1" 503 UF 0 98 DURATION - "10.0.0.9" "pwasm-test/1" "REQUEST-ID" "127.0.0.1:PORT" "127.0.0.1:1"',
      '[TIME] "POST / HTTP/1.1" 503 UF 5 98 DURATION - "-" "-" "REQUEST-ID" "127.0.0.1:PORT" "127.0.0.1:1"',
    ]);
    expect(envoy.map(normalizeAccessLog)).toEqual(dev.map(normalizeAccessLog));
  }, 120_000);
});

describe("pwasm run --envoy in a container (podman, a locally built image)", () => {
  it.skipIf(!container.engine)(`serves through the plugin and removes the container on Ctrl-C${container.skip ? ` — skipped: ${container.skip}` : ""}`, async () => {
    const { engine, image } = container as { engine: NonNullable<typeof container.engine>; image: string };
    const run = await runUntilCtrlC(["--envoy-image", image], { ...process.env, PWASM_CONTAINER_ENGINE: engine.command });
    expect(run.output()).toContain(`pwasm: starting Envoy in a container (${image}) with ${engine.command}`);
    const r = await httpRequest(`${run.url}/hello`);
    expect(r.headers["x-greeting"]).toBe("envoy");
    expect(run.output()).toMatch(/\]\[info\]\[wasm\] wasm log e2e_checks: configured with greeting envoy\n/);
    const name = /container (pwasm-envoy-[0-9a-f]+)/.exec(run.output())![1]!;
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain("pwasm: shutting down: draining Envoy, then stopping it");
    const left = await runCommand(engine.command, ["ps", "-a", "--filter", `name=${name}`, "--format", "{{.Names}}"]);
    expect(left.stdout.trim()).toBe("");
  }, 180_000);
});
