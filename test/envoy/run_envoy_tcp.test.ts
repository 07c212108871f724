// `pwasm run --envoy --type network` against a real Envoy 1.40: a network plugin before Envoy's
// tcp_proxy to a `tcp://` upstream — the same command line as the dev proxy's TCP mode.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { isStale } from "../../cli/build/stale.js";
import { tcpExchange } from "../../cli/envoy/differential/client.js";
import { startTcpEchoServer, type TestServer } from "../../cli/envoy/differential/servers.js";
import { CLI } from "../helpers/cli.js";
import { testEnvoy } from "../helpers/envoy.js";
import { ROOT } from "../helpers/paths.js";

const local = await testEnvoy();
// The lifecycle fixture: logs each connection callback; upper-cases client bytes containing "upper".
const project = join(ROOT, "test", "differential", "fixtures", "lifecycle");
const wasm = join(project, "build", "release.wasm");
let echo: TestServer;
beforeAll(async () => {
  if (isStale(project, wasm)) await compileProject({ dir: project, target: "release" });
  echo = await startTcpEchoServer();
}, 120_000);
afterAll(() => echo?.close());

describe("pwasm run --envoy --type network", () => {
  it.skipIf(!local.envoy)(`proxies TCP through the plugin in Envoy${local.skip ? ` — skipped: ${local.skip}` : ""}`, async () => {
    const child = spawn(process.execPath, [
      CLI, "run", wasm, "--type", "network", "--root-id", "lc", "--upstream", `tcp://127.0.0.1:${echo.port}`,
      "--envoy", "--envoy-bin", local.envoy!.path, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
    ]);
    let out = "";
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    try {
      const listening = /Envoy (?:listening|ready) on \w+:\/\/127\.0\.0\.1:(\d+) → tcp:\/\/127\.0\.0\.1:\d+/;
      await expect.poll(() => out, { timeout: 60_000 }).toMatch(listening);
      const port = listening.exec(out)![1]!;
      expect(out).toContain("network filter");
      const r = await tcpExchange(`tcp://127.0.0.1:${port}`, { send: ["upper", ""], delayMs: 30 });
      expect(r).toEqual({ received: "echo:UPPER", ended: "closed" });
      await expect.poll(() => out).toMatch(/wasm log lc: on_downstream_data ctx=(\d+) size=5 end=false/);
      // Envoy's order for a connection: on_done, then on_log.
      const ctx = /wasm log lc: on_downstream_data ctx=(\d+) size=5/.exec(out)![1]!;
      await expect.poll(() => out).toMatch(new RegExp(`wasm log lc: on_done ctx=${ctx}\n[^\n]*wasm log lc: on_log ctx=${ctx}\n`));
    } finally {
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    }
  }, 120_000);
});
