// The load generator of `pwasm bench --envoy`: exactly the requests asked for, over keep-alive
// connections reused from run to run, responses framed by content-length or chunked encoding, and
// any answer that is not 2xx or a connection lost mid-run reported as an error.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LoadError, openLoadClient, sendRequests } from "../../cli/bench/load.js";
import { processCpuNanos, processRssBytes } from "../../cli/bench/process_stats.js";

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

// A loopback server answering with `answer`; counts requests and the connections they came on.
async function serve(answer: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void): Promise<{ url: string; requests: () => number; connections: () => number; headers: http.IncomingHttpHeaders[] }> {
  let requests = 0;
  let connections = 0;
  const headers: http.IncomingHttpHeaders[] = [];
  server = http.createServer((req, res) => {
    requests++;
    if (headers.length < 5) headers.push(req.headers);
    answer(req, res, requests);
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/path?q=1`, requests: () => requests, connections: () => connections, headers };
}

describe("load generator", () => {
  it("sends exactly the requests asked for over the given keep-alive connections, run after run", async () => {
    const s = await serve((_req, res) => res.end("ok"));
    const client = await openLoadClient({ url: s.url, connections: 3, headers: [["x-peer", "a"]] });
    try {
      const a = await client.run(500);
      const b = await client.run(7);
      expect(a.completed).toBe(500);
      expect(b.completed).toBe(7);
      expect(s.requests()).toBe(507);
      expect(s.connections()).toBe(3);
      expect(s.headers[0]!["x-peer"]).toBe("a");
      expect(a.first?.status).toBe(200);
    } finally {
      client.close();
    }
  });

  it("reads chunked and content-length responses, and gives the first response's headers", async () => {
    const s = await serve((_req, res, n) => {
      if (n % 2) {
        res.setHeader("x-kind", "chunked");
        res.write("part one, ");
        res.end("part two");
      } else {
        res.setHeader("content-length", "5");
        res.end("fixed");
      }
    });
    const r = await sendRequests({ url: s.url, requests: 101, connections: 2 });
    expect(r.completed).toBe(101);
    expect(r.first?.headers["x-kind"]).toBe("chunked");
    expect(r.first?.headers["transfer-encoding"]).toBe("chunked");
  });

  it("fails on an answer that is not 2xx, naming the status", async () => {
    const s = await serve((_req, res, n) => {
      res.statusCode = n === 50 ? 503 : 200;
      res.end();
    });
    await expect(sendRequests({ url: s.url, requests: 100, connections: 1 })).rejects.toThrow(/HTTP 503 .*failed plugin answers 503/);
  });

  it("fails when the server closes a connection with a request in flight", async () => {
    const s = await serve((req, res, n) => {
      if (n === 20) req.socket.destroy();
      else res.end("ok");
    });
    const err = await sendRequests({ url: s.url, requests: 100, connections: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadError);
    expect((err as Error).message).toMatch(/closed a connection/);
  });

  it("refuses anything but an http:// listener", async () => {
    await expect(openLoadClient({ url: "https://127.0.0.1:1/" })).rejects.toThrow(/http:\/\/ listeners only/);
  });
});

describe("process figures from /proc", () => {
  it("reads this process's CPU time, as the kernel counts user + system time, and its resident memory", () => {
    const usage0 = process.cpuUsage();
    const ns0 = processCpuNanos(process.pid);
    // Spin until the scheduler counted 100 ms of this process's CPU time (bounded: 30 s of wall time).
    let x = 0;
    const deadline = performance.now() + 30_000;
    while (processCpuNanos(process.pid) - ns0 < 100e6 && performance.now() < deadline) {
      for (let i = 0; i < 100_000; i++) x += Math.sqrt(x + i);
    }
    const ns = processCpuNanos(process.pid) - ns0;
    const usage = process.cpuUsage(usage0);
    expect(x).toBeGreaterThan(0);
    expect(ns).toBeGreaterThanOrEqual(100e6);
    // Node's own utime + stime (all threads) saw the same time, within its tick accounting.
    expect((usage.user + usage.system) * 1000).toBeGreaterThan(ns * 0.5);
    expect((usage.user + usage.system) * 1000).toBeLessThan(ns * 2);
    expect(processRssBytes(process.pid)).toBeGreaterThan(10 * 2 ** 20);
  });
});
