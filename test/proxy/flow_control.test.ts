// Flow control in the dev proxy, as Envoy's buffer limits and watermarks (docs/envoy/flow-control.md):
// a slow reader on either side pauses the other side instead of being buffered for, a plugin that
// holds more than the buffer limit pauses its source, and a stream nobody moves ends at the stream
// idle timeout. Each hostile case runs against `pwasm run` and, where one is installed, against
// `pwasm run --envoy` (a real Envoy 1.40 from the same flags), which must bound it too.
// Hostile fixtures: test/proxy/fixtures/hostile/hold.wat (a plugin that stops a stream and never
// resumes it), and below a client that never reads, a client that uploads without end, an upstream
// that never reads and one that sends without end.
import net from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envoyBootstrap } from "../../cli/envoy/bootstrap.js";
import { DEFAULT_STREAM_IDLE_TIMEOUT_MS } from "../../host/proxy/dev_proxy.js";
import { startPwasm, type CliProcess } from "../helpers/cli.js";
import { testEnvoy } from "../helpers/envoy.js";
import { wat } from "../helpers/wat.js";

const local = await testEnvoy();
const MIB = 1 << 20;
const CHUNK = Buffer.alloc(MIB, 97);
const ENDLESS = 8 * 1024 ** 3;
/** What either proxy may let through before it must have paused the sender. */
const BOUND = 64 * MIB;
const IDLE_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the upstream did on its latest connection. */
interface UpstreamConn {
  path: string;
  /** Response bytes the kernel took from the upstream. */
  sent: number;
  closed: boolean;
}

// An upstream on a raw socket, by request path: /big answers 200 with an endless body, as fast as
// it is taken; /hold-response the same with `x-hold-response: 1` (the plugin then holds it); /stuck
// reads the request head and then nothing; anything else gets "ok".
async function startUpstream(): Promise<{ url: string; last: () => UpstreamConn | undefined; close(): Promise<void> }> {
  const conns: UpstreamConn[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    const c: UpstreamConn = { path: "", sent: 0, closed: false };
    conns.push(c);
    s.on("error", () => undefined);
    s.on("close", () => {
      c.closed = true;
      sockets.delete(s);
    });
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.off("data", onData);
      c.path = head.split(" ")[1] ?? "";
      if (c.path === "/stuck") return void s.pause();
      if (c.path !== "/big" && c.path !== "/hold-response") return void s.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      s.resume();
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${ENDLESS}\r\n${c.path === "/hold-response" ? "x-hold-response: 1\r\n" : ""}\r\n`);
      const pump = () => {
        while (!s.destroyed && c.sent < ENDLESS) if (!s.write(CHUNK, () => (c.sent += MIB))) return void s.once("drain", pump);
      };
      pump();
    };
    s.on("data", onData);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    last: () => conns.at(-1),
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** A raw client connection: what it sent (taken by the kernel) and what it read. */
interface Client {
  sent: number;
  received: string;
  closed: boolean;
  socket: net.Socket;
}

// Sends `head`; with `upload`, then an endless body as fast as it is taken. `read: false` never reads.
function connect(url: string, head: string, o: { upload?: boolean; read?: boolean } = {}): Client {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  const c: Client = { sent: 0, received: "", closed: false, socket };
  socket.on("error", () => undefined);
  socket.on("close", () => (c.closed = true));
  socket.on("data", (d: Buffer) => {
    if (c.received.length < 4096) c.received += d.toString("latin1");
  });
  if (o.read === false) socket.pause();
  socket.on("connect", () => {
    socket.write(head);
    if (!o.upload) return;
    const pump = () => {
      while (!socket.destroyed) if (!socket.write(CHUNK, (err) => { if (!err) c.sent += MIB; })) return void socket.once("drain", pump);
    };
    pump();
  });
  return c;
}

// Waits until `count()` has stopped growing (no change for 700 ms) and returns it; fails as soon as
// more than BOUND went through (nothing paused the sender). Bounded: 30 s.
async function stalled(count: () => number): Promise<number> {
  const end = Date.now() + 30_000;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = count();
    if (n > BOUND) throw new Error(`not paused: ${Math.round(n / MIB)} MiB went through`);
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (n > 0 && Date.now() - since >= 700) {
      return n;
    }
    if (Date.now() > end) throw new Error(`still moving after 30 s (${Math.round(n / MIB)} MiB)`);
    await sleep(50);
  }
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const dir = mkdtempSync(join(tmpdir(), "pwasm-flow-"));
const holdWasm = join(dir, "hold.wasm");
writeFileSync(holdWasm, wat(readFileSync(join(import.meta.dirname, "fixtures", "hostile", "hold.wat"), "utf8")));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TARGETS = [
  { name: "pwasm run (the dev proxy)", args: [] as string[], ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/, skip: undefined as string | undefined },
  { name: "pwasm run --envoy (Envoy 1.40)", args: local.envoy ? ["--envoy", "--envoy-bin", local.envoy.path] : [], ready: /Envoy ready on (http:\/\/127\.0\.0\.1:\d+)/, skip: local.skip },
];

describe.each(TARGETS)("$name", (target) => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let run: CliProcess;
  let url: string;

  beforeAll(async () => {
    if (target.skip) return;
    upstream = await startUpstream();
    run = startPwasm(["run", holdWasm, "--upstream", upstream.url, "--stream-idle-timeout", String(IDLE_MS), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", ...target.args]);
    url = (await run.waitFor(target.ready, 90_000))[1]!;
  }, 120_000);

  afterAll(async () => {
    await run?.stop();
    await upstream?.close();
  });

  const skip = target.skip ? ` — skipped: ${target.skip}` : "";

  it.skipIf(target.skip)(`a client that never reads: the upstream is paused, the stream ends at the idle timeout${skip}`, async () => {
    const client = connect(url, "GET /big HTTP/1.1\r\nhost: x\r\n\r\n", { read: false });
    await until(() => upstream.last()?.path === "/big", "the request upstream");
    const conn = upstream.last()!;
    const sent = await stalled(() => conn.sent);
    expect(sent).toBeLessThan(BOUND);
    // Idle: the proxy resets the stream, which closes the upstream request too.
    await until(() => conn.closed, "the upstream request to end", IDLE_MS + 15_000);
    client.socket.destroy();
  }, 60_000);

  // An endless upload that nobody takes: it must stall, then get 408 and lose its connection.
  async function uploadStalls(head: string): Promise<void> {
    const client = connect(url, `${head}content-length: ${ENDLESS}\r\n\r\n`, { upload: true });
    const sent = await stalled(() => client.sent);
    expect(sent).toBeLessThan(BOUND);
    // The answer (unless the reset that closes the connection overtook it), then the close.
    await until(() => client.received.endsWith("stream timeout") || client.closed, "the answer", IDLE_MS + 15_000);
    if (client.received) expect(client.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n(?:[\w-]+: .*\r\n)*connection: close\r\n\r\nstream timeout$/);
    await until(() => client.closed, "the connection to close");
  }

  it.skipIf(target.skip)(`an upstream that never reads: the client's upload is paused, then 408 stream timeout and the connection closes${skip}`, async () => {
    await uploadStalls("POST /stuck HTTP/1.1\r\nhost: x\r\n");
  }, 60_000);

  it.skipIf(target.skip)(`a plugin that holds the request (never resumes): the upload is paused at the buffer limit, then 408 stream timeout${skip}`, async () => {
    await uploadStalls("POST /held HTTP/1.1\r\nhost: x\r\nx-hold-request: 1\r\n");
  }, 60_000);

  it.skipIf(target.skip)(`a plugin that holds the response: the upstream is paused, the client gets 504 stream timeout${skip}`, async () => {
    const client = connect(url, "GET /hold-response HTTP/1.1\r\nhost: x\r\n\r\n");
    await until(() => upstream.last()?.path === "/hold-response", "the request upstream");
    const conn = upstream.last()!;
    const sent = await stalled(() => conn.sent);
    expect(sent).toBeLessThan(BOUND);
    await until(() => client.received.includes("stream timeout"), "the answer", IDLE_MS + 15_000);
    expect(client.received).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\ncontent-length: 14\r\ncontent-type: text\/plain\r\n[\s\S]*\r\n\r\nstream timeout$/);
    await until(() => conn.closed, "the upstream request to end");
    client.socket.destroy();
  }, 60_000);

  it.skipIf(target.skip)(`a plugin that never resumes a GET: 504 stream timeout once the idle timeout passed, the connection kept${skip}`, async () => {
    const t0 = Date.now();
    const client = connect(url, "GET /never HTTP/1.1\r\nhost: x\r\nx-hold-request: 1\r\n\r\n");
    await until(() => client.received.includes("stream timeout"), "the answer", IDLE_MS + 15_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(client.received).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\ncontent-length: 14\r\ncontent-type: text\/plain\r\n/);
    expect(client.received).not.toContain("connection: close");
    // The connection serves the next request.
    client.received = "";
    client.socket.write("GET /next HTTP/1.1\r\nhost: x\r\n\r\n");
    await until(() => client.received.endsWith("ok"), "the next answer");
    client.socket.destroy();
  }, 60_000);

  // The dev proxy's own memory (Envoy's is its own business).
  if (target.args.length === 0) it("pwasm run held all of it in little memory (peak RSS)", () => {
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${run.child.pid}/status`, "utf8"))![1]) / 1024;
    // Before flow control: 1.6–1.8 GiB after 8 s of a slow client or a stuck upstream, and growing.
    expect(hwm).toBeLessThan(300);
  });
});

describe("stream_idle_timeout settings", () => {
  it("defaults to Envoy's 5 minutes, and envoy-config writes the dev proxy's value into the HTTP connection manager", () => {
    expect(DEFAULT_STREAM_IDLE_TIMEOUT_MS).toBe(300_000);
    const hcm = (ms?: number) => {
      const { config } = envoyBootstrap({ plugins: [{ wasm: holdWasm }], upstream: "http://127.0.0.1:1", ...(ms === undefined ? {} : { streamIdleTimeoutMs: ms }) });
      const listeners = (config.static_resources as { listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }> }> }).listeners;
      return listeners[0]!.filter_chains[0]!.filters.at(-1)!.typed_config;
    };
    expect(hcm().stream_idle_timeout).toBe("300s");
    expect(hcm(1500).stream_idle_timeout).toBe("1.5s");
    expect(hcm(0).stream_idle_timeout).toBe("0s");
  });
});
