// The dev proxy's TCP mode (network plugins before a tcp_proxy), from the library and through
// `pwasm run --type network`: bytes both ways through the plugin, half-closes, the plugin's
// callbacks in Envoy's order (on_done before on_log), a plugin closing the connection, a trap,
// and the refusals for settings a TCP listener cannot take.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { tcpExchange } from "../../cli/envoy/differential/client.js";
import { startTcpEchoServer, type TestServer } from "../../cli/envoy/differential/servers.js";
import { formatEnvoyLog } from "../../host/index.js";
import { startDevProxy, type DevProxy } from "../../host/proxy/dev_proxy.js";
import { tcpUpstream } from "../../host/proxy/tcp_proxy.js";
import { runPwasm, startPwasm } from "../helpers/cli.js";
import { ROOT } from "../helpers/paths.js";

let wasm: string;
let echo: TestServer;
beforeAll(async () => {
  wasm = (await compileProject({ dir: join(ROOT, "test", "differential", "fixtures", "lifecycle"), target: "release" })).outFile;
  echo = await startTcpEchoServer();
}, 120_000);
afterAll(() => echo?.close());

// The plugin's lines of one connection (its stream callbacks), without the prefix.
const connectionLines = (lines: string[]) => lines.map((l) => /wasm log lc: (on_\w+) ctx=\d+(.*)$/.exec(l)).filter((m) => m && m[1] !== "on_vm_start" && m[1] !== "on_configure").map((m) => `${m![1]}${m![2]}`);

describe("the dev proxy with a network plugin", () => {
  let proxy: DevProxy;
  const lines: string[] = [];
  beforeAll(async () => {
    proxy = await startDevProxy({
      plugins: [{ wasm, rootId: "lc", type: "network", failurePolicy: "FAIL_OPEN" }],
      port: 0, admin: { port: 0 }, upstream: echo.url, onLog: (e) => lines.push(formatEnvoyLog(e)),
    });
  });
  afterAll(() => proxy?.close());

  it("listens on a tcp:// address and passes bytes both ways through the plugin", async () => {
    expect(proxy.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    lines.length = 0;
    const before = echo.tcpReceived.length;
    const r = await tcpExchange(proxy.url, { send: ["hello", "upper", ""], delayMs: 30 });
    expect(r).toEqual({ received: "echo:helloecho:UPPER", ended: "closed" });
    expect(echo.tcpReceived.slice(before)).toEqual(["helloUPPER"]);
    await expect.poll(() => connectionLines(lines).at(-1)).toBe("on_log");
    expect(connectionLines(lines)).toEqual([
      "on_context_create root_ctx=1", "on_new_connection",
      "on_downstream_data size=5 end=false", "on_upstream_data size=10 end=false",
      "on_downstream_data size=5 end=false", "on_upstream_data size=10 end=false",
      "on_downstream_data size=0 end=true", "on_upstream_data size=0 end=true",
      "on_upstream_connection_close peer=0", "on_downstream_connection_close peer=1", "on_done", "on_log",
    ]);
  });

  it("closes the connection when the plugin asks, without sending that data on", async () => {
    lines.length = 0;
    const before = echo.tcpReceived.length;
    const r = await tcpExchange(proxy.url, { send: ["first ", "close-downstream", ""], delayMs: 30 });
    expect(r.received).toBe("echo:first ");
    expect(r.ended).toBe("closed");
    expect(echo.tcpReceived.slice(before)).toEqual(["first "]);
    await expect.poll(() => connectionLines(lines).at(-1)).toBe("on_log");
    expect(connectionLines(lines).slice(-3)).toEqual(["on_downstream_connection_close peer=1", "on_done", "on_log"]);
  });

  it("closes the connection during which the VM fails, then (FAIL_OPEN) runs later ones without the plugin", async () => {
    lines.length = 0;
    const failed = await tcpExchange(proxy.url, { send: ["trap", ""], delayMs: 30 });
    expect(failed.received).toBe("");
    expect(lines.some((l) => l.includes("[error][wasm] Function: proxy_on_downstream_data failed: Uncaught RuntimeError: unreachable"))).toBe(true);
    lines.length = 0;
    const later = await tcpExchange(proxy.url, { send: ["upper", ""], delayMs: 30 });
    expect(later).toEqual({ received: "echo:upper", ended: "closed" });
    expect(connectionLines(lines)).toEqual([]);
  });

  it("serves /stats/prometheus on its admin listener", async () => {
    const r = await fetch(`${proxy.adminUrl}/stats/prometheus`);
    expect(await r.text()).toContain("lc_configures{} 3");
  });
});

describe("TCP proxy settings", () => {
  it("takes tcp://host:port or http://host:port as the upstream and refuses anything else", () => {
    expect(tcpUpstream("tcp://127.0.0.1:9000")).toEqual({ host: "127.0.0.1", port: 9000 });
    expect(tcpUpstream("http://example.com")).toEqual({ host: "example.com", port: 80 });
    expect(() => tcpUpstream("tcp://127.0.0.1")).toThrow(/needs a port/);
    expect(() => tcpUpstream("https://127.0.0.1:1")).toThrow(/tcp:\/\/host:port/);
  });

  it("refuses HTTP and network plugins on one listener", async () => {
    await expect(startDevProxy({ plugins: [{ wasm, type: "network" }, { wasm }], port: 0, admin: false })).rejects.toThrow(/HTTP plugins or network plugins, not both/);
  });
});

describe("pwasm run --type network", () => {
  it("proxies TCP to --upstream tcp://host:port through the plugin", async () => {
    const run = startPwasm(["run", wasm, "--type", "network", "--root-id", "lc", "--upstream", `tcp://127.0.0.1:${echo.port}`, "--listen", "127.0.0.1:0", "--admin", "off"]);
    try {
      const [, url, target] = await run.waitFor(/listening on (tcp:\/\/127\.0\.0\.1:\d+) → (\S+)/);
      expect(target).toBe(`tcp://127.0.0.1:${echo.port}`);
      const r = await tcpExchange(url!, { send: ["upper", ""], delayMs: 30 });
      expect(r).toEqual({ received: "echo:UPPER", ended: "closed" });
      await expect.poll(() => run.output()).toMatch(/\[info\]\[wasm\] wasm log lc: on_log ctx=2/);
    } finally {
      await run.stop();
    }
  });

  it("refuses an upstream with a path, a missing port, a type that is neither, and mixed types", async () => {
    const refusal = async (args: string[]) => {
      const r = await runPwasm(["run", wasm, ...args, "--listen", "127.0.0.1:0", "--admin", "off"]);
      return { code: r.code, output: r.stderr };
    };
    expect(await refusal(["--type", "network", "--upstream", "tcp://127.0.0.1:1/x"])).toMatchObject({ code: 1, output: expect.stringMatching(/--upstream for network plugins is an address, not a URL with a path/) });
    expect(await refusal(["--type", "network", "--upstream", "tcp://127.0.0.1"])).toMatchObject({ code: 1, output: expect.stringMatching(/needs a port/) });
    expect(await refusal(["--type", "udp"])).toMatchObject({ code: 1, output: expect.stringMatching(/--type must be http or network, got 'udp'/) });
    expect((await refusal([wasm, "--type", "network", "--type", "http"])).output).toMatch(/either HTTP plugins or network plugins on its listener, not both/);
  });
});
