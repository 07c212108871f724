// A small hostile network for registry-client tests: HTTP and HTTPS servers that stand for
// distinct machines (`<name>.pwasm.test`, resolved to 127.0.0.1 inside the pwasm process by
// preload.cjs), a CA the client trusts through NODE_EXTRA_CA_CERTS, and a log of every request
// with the Authorization it carried and the response bytes each server got out.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach } from "vitest";

/** Suffix of the fixture host names (never resolvable outside the tests). */
export const TEST_DOMAIN = "pwasm.test";

/** One request a fixture server received. */
export interface SeenRequest {
  /** `scheme://name.pwasm.test:port`. */
  origin: string;
  method: string;
  /** Path and query. */
  url: string;
  authorization?: string;
}

/** A request handler of a fixture server. */
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, origin: string) => void | Promise<void>;

/** A running fixture server. */
export interface Machine {
  /** `name.pwasm.test:port`. */
  host: string;
  /** `scheme://name.pwasm.test:port`. */
  origin: string;
}

/** The servers of one test file, their CA and their request log. */
export class HostileNet {
  readonly seen: SeenRequest[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), "pwasm-hostile-"));
  private readonly servers: Array<{ server: http.Server; sockets: Set<net.Socket> }> = [];
  private readonly sent = new Map<string, number>();
  private tls: { key: Buffer; cert: Buffer; ca: string } | undefined;

  /** Starts a server for `<name>.pwasm.test` on a free loopback port. */
  async serve(name: string, scheme: "http" | "https", handler: Handler): Promise<Machine> {
    const sockets = new Set<net.Socket>();
    const machine: Machine = { host: "", origin: "" };
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.seen.push({ origin: machine.origin, method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
      // Bytes this server got onto the wire, counted as the socket flushes them.
      const write = res.write.bind(res) as (chunk: Uint8Array | string, cb?: (err?: Error | null) => void) => boolean;
      res.write = ((chunk: Uint8Array | string, ...rest: unknown[]) => {
        const n = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
        const cb = rest.find((r) => typeof r === "function") as ((err?: Error | null) => void) | undefined;
        return write(chunk, (err) => {
          if (!err) this.sent.set(machine.origin, (this.sent.get(machine.origin) ?? 0) + n);
          cb?.(err);
        });
      }) as typeof res.write;
      Promise.resolve(handler(req, res, machine.origin)).catch(() => res.socket?.destroy());
    };
    const server = scheme === "https" ? https.createServer({ key: this.certs().key, cert: this.certs().cert }, listener) : http.createServer(listener);
    server.on("connection", (s: net.Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    server.on("secureConnection", (s: net.Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    machine.host = `${name}.${TEST_DOMAIN}:${port}`;
    machine.origin = `${scheme}://${machine.host}`;
    this.servers.push({ server, sockets });
    return machine;
  }

  /** Requests that reached `origin` carrying an Authorization header. */
  credentialed(origin: string): SeenRequest[] {
    return this.seen.filter((r) => r.origin === origin && r.authorization !== undefined);
  }

  /** Requests that reached `origin`. */
  requests(origin: string): SeenRequest[] {
    return this.seen.filter((r) => r.origin === origin);
  }

  /** Response bytes `origin` flushed to its sockets. */
  bytesSent(origin: string): number {
    return this.sent.get(origin) ?? 0;
  }

  /** Forgets the request log and byte counts (between cases). */
  reset(): void {
    this.seen.length = 0;
    this.sent.clear();
  }

  /** Environment for the pwasm process: the host names, the CA, an empty Docker config, the RSS report file. */
  env(rssFile?: string): NodeJS.ProcessEnv {
    const preload = join(import.meta.dirname, "preload.cjs");
    return {
      NODE_OPTIONS: `--require ${preload}`,
      NODE_EXTRA_CA_CERTS: this.certs().ca,
      DOCKER_CONFIG: join(this.dir, "no-docker-config"),
      ...(rssFile ? { PWASM_TEST_RSS_FILE: rssFile } : {}),
    };
  }

  /** A file in this net's temp directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Stops every server (dropping open connections) and removes the temp directory. */
  async close(): Promise<void> {
    for (const { server, sockets } of this.servers) {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  // A CA and a certificate for *.pwasm.test it signed, made once per net with openssl.
  private certs(): { key: Buffer; cert: Buffer; ca: string } {
    if (this.tls) return this.tls;
    const f = (n: string) => join(this.dir, n);
    const ssl = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
    ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=pwasm hostile test CA"]);
    ssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("leaf.key"), "-out", f("leaf.csr"), "-subj", `/CN=*.${TEST_DOMAIN}`]);
    writeFileSync(f("leaf.ext"), `subjectAltName=DNS:*.${TEST_DOMAIN}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    ssl(["x509", "-req", "-in", f("leaf.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("leaf.pem"), "-days", "2", "-extfile", f("leaf.ext")]);
    this.tls = { key: readFileSync(f("leaf.key")), cert: readFileSync(f("leaf.pem")), ca: f("ca.pem") };
    return this.tls;
  }
}

/** A net for one test file: closed after the file, its log and counts reset before each test. */
export function hostileNet(): HostileNet {
  const net = new HostileNet();
  afterAll(() => net.close());
  beforeEach(() => net.reset());
  return net;
}

/** The Basic credentials the tests log in with, and their header value. */
export const LOGIN = { username: "ci-bot", password: "pa55-word" };
export const BASIC = `Basic ${Buffer.from(`${LOGIN.username}:${LOGIN.password}`).toString("base64")}`;

/** Streams zeros until the client goes away, or `cap` bytes (so a regressed client cannot eat the machine). */
export async function endless(res: http.ServerResponse, cap = 1024 * 1024 * 1024): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024);
  let sent = 0;
  while (sent < cap && !res.destroyed && !res.socket?.destroyed) {
    sent += chunk.length;
    if (!res.write(chunk)) {
      await new Promise<void>((r) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          r();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  res.end();
}

/** Resets the response's TCP connection (RST), under TLS too. */
export function resetConnection(res: http.ServerResponse): void {
  const socket = res.socket as (net.Socket & { _parent?: net.Socket }) | null;
  (socket?._parent ?? socket)?.resetAndDestroy();
}
