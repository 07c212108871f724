// Test fixtures for the OCI suite: Debian's docker-registry (CNCF distribution) on a free
// loopback port in a temp dir, optionally behind htpasswd auth; a fault-injecting TCP proxy; the
// Go checker (Istio's fetcher, go-containerregistry, kube-apiserver's CRD validation) and, on
// demand, istiod's translation program, built with their caches under .cache/.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../helpers/paths.js";
import { GO_BUILD_FLAGS } from "../helpers/tools.js";

const execFileP = promisify(execFile);

/** A running registry. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`. */
  host: string;
  port: number;
  dir: string;
  auth?: { username: string; password: string };
  process: ChildProcess;
  /** Stops it (SIGKILL when `kill`), keeping its storage. */
  stop(kill?: boolean): Promise<void>;
  /** Starts it again on the same port and storage. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

/** A free loopback port (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(host: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}):\n${log()}`);
    try {
      const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not become ready on ${host}:\n${log()}`);
}

/** Starts docker-registry on 127.0.0.1 with storage in a temp dir; with `auth`, behind htpasswd (bcrypt). */
export async function startRegistry(
  options: { auth?: { username: string; password: string }; realm?: string; tokenAuth?: { realm: string; service: string; issuer: string; rootCertBundle: string } } = {},
): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "pwasm-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let authConfig = "";
  if (options.auth) {
    const htpasswd = execFileSync("htpasswd", ["-Bbn", options.auth.username, options.auth.password]).toString();
    writeFileSync(join(dir, "htpasswd"), htpasswd);
    authConfig = `auth:\n  htpasswd:\n    realm: ${options.realm ?? "pwasm-test"}\n    path: ${join(dir, "htpasswd")}\n`;
  }
  if (options.tokenAuth) {
    const t = options.tokenAuth;
    authConfig = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertBundle}\n`;
  }
  writeFileSync(join(dir, "config.yml"), `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, "data")}
  delete:
    enabled: true
http:
  addr: ${host}
${authConfig}`);
  let out = "";
  const launch = async () => {
    const child = spawn("/usr/bin/docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    await waitReady(host, child, () => out);
    return child;
  };
  const reg: TestRegistry = {
    host,
    port,
    dir,
    auth: options.auth,
    process: await launch(),
    async stop(kill = false) {
      const child = reg.process;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill(kill ? "SIGKILL" : "SIGTERM");
      await exited;
    },
    async restart() {
      await reg.stop();
      reg.process = await launch();
    },
    async close() {
      await reg.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return reg;
}

/** What the fault proxy does with one request. */
export type FaultAction = "pass" | "reset" | "503" | "stall";

/** Decides per request (index counts every request the proxy saw, from 0). */
export type FaultPlan = (request: { method: string; url: string; index: number }) => FaultAction | Promise<FaultAction>;

/** An HTTP proxy in front of a registry that can reset, stall or answer 503 per request. */
export interface FaultProxy {
  host: string;
  /** "METHOD path" of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Starts a fault-injecting HTTP proxy to `target` (host:port). */
export async function startFaultProxy(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const [th, tp] = target.split(":");
  const sockets = new Set<net.Socket>();
  const proxy: FaultProxy = { host: "", requests: [], close: async () => undefined };
  const server = http.createServer(async (req, res) => {
    const index = proxy.requests.push(`${req.method} ${req.url}`) - 1;
    const action = await plan({ method: req.method ?? "", url: req.url ?? "", index });
    if (action === "reset") {
      req.socket.resetAndDestroy();
      return;
    }
    if (action === "503") {
      req.resume();
      res.writeHead(503, { "content-length": "0" }).end();
      return;
    }
    if (action === "stall") {
      req.resume(); // swallow the body, never answer
      return;
    }
    // The Host header stays the proxy's, so the registry's Location URLs point back here.
    const up = http.request({ host: th, port: Number(tp), method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on("error", () => req.socket.resetAndDestroy());
    req.pipe(up);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  proxy.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return proxy;
}

const GO_ENV = {
  GOCACHE: join(ROOT, ".cache", "go-build"),
  GOMODCACHE: join(ROOT, ".cache", "go-mod"),
  GOFLAGS: "-buildvcs=false", // same as .ci/run, so its build is a cache hit here
};

const GOCHECK_DIR = join(ROOT, "test", "oci", "gocheck");

// Builds one main package of the checker's module into .cache/gocheck/<name>. flock: test files
// build in parallel; one builds, the others then find it in Go's build cache.
async function goBuild(pkg: string, name: string, timeoutMs: number): Promise<string> {
  const out = join(ROOT, ".cache", "gocheck", name);
  mkdirSync(join(ROOT, ".cache", "gocheck"), { recursive: true });
  await execFileP("flock", [join(ROOT, ".cache", "gocheck.lock"), "go", "build", ...GO_BUILD_FLAGS, "-o", out, pkg], {
    cwd: GOCHECK_DIR,
    env: { ...process.env, ...GO_ENV },
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (!existsSync(out)) throw new Error(`go build produced no ${name} binary`);
  return out;
}

/**
 * Path of the Go checker (Istio's fetcher and agent conversion, go-containerregistry,
 * kube-apiserver's CRD validation), built (or found up to date, via Go's build cache) under .cache/.
 */
export async function buildGoCheck(): Promise<string> {
  return goBuild(".", "gocheck", 600_000);
}

/** Where `buildIstioTranslate` puts istiod's translation program. */
export const ISTIO_TRANSLATE = join(ROOT, ".cache", "gocheck", "istio-translate");

/**
 * Path of istiod's translation program (test/oci/gocheck/cmd/istio-translate), built or brought up
 * to date. It compiles istiod's config generator: ~7 minutes on 2 cores from a cold build cache, so
 * only on demand (test/oci/istio/translations.ts).
 */
export async function buildIstioTranslate(): Promise<string> {
  return goBuild("./cmd/istio-translate", "istio-translate", 1_800_000);
}

/** The versions of `modules` the checker's go.mod selects. */
export async function goCheckModuleVersions(modules: string[]): Promise<Record<string, string>> {
  const { stdout } = await execFileP("go", ["list", "-m", "-f", "{{.Path}} {{.Version}}", ...modules], { cwd: GOCHECK_DIR, env: { ...process.env, ...GO_ENV }, timeout: 300_000 });
  return Object.fromEntries(stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]));
}

/**
 * The CRD of one Istio kind (`plural`: wasmplugins, trafficextensions), taken from istio/api's
 * kubernetes/customresourcedefinitions.gen.yaml in the `istio.io/api` module version the Go
 * checker pins (its go.sum): the same source the project's reference copy comes from,
 * reproducible wherever the checker builds. Written to a file of its own under `dir`.
 */
export async function istioCrd(plural: string, dir = join(ROOT, ".cache", "gocheck")): Promise<string> {
  const out = join(dir, `${plural}-crd.yaml`);
  const { stdout } = await execFileP("go", ["list", "-m", "-f", "{{.Dir}}", "istio.io/api"], {
    cwd: GOCHECK_DIR, env: { ...process.env, ...GO_ENV }, timeout: 300_000,
  });
  const all = readFileSync(join(stdout.trim(), "kubernetes", "customresourcedefinitions.gen.yaml"), "utf8");
  const doc = all.split(/^---\s*$/m).find((d) => new RegExp(`^\\s*name: ${plural}\\.extensions\\.istio\\.io\\s*$`, "m").test(d));
  if (!doc) throw new Error(`istio.io/api ${stdout.trim()} has no ${plural} CRD`);
  mkdirSync(dirname(out), { recursive: true });
  // Test files run in parallel: a reader never sees a half-written file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, doc.trimStart());
  renameSync(tmp, out);
  return out;
}

/** The WasmPlugin CRD of the `istio.io/api` module the Go checker pins (see istioCrd). */
export async function wasmPluginCrd(): Promise<string> {
  return istioCrd("wasmplugins");
}

/** Runs a tool; resolves with its exit code and output (never rejects on a non-zero exit). */
export async function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** The last JSON line a tool printed (gocheck logs through Istio's logger before its result). */
export function lastJson<T>(stdout: string): T {
  const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (!line) throw new Error(`no JSON in output:\n${stdout}`);
  return JSON.parse(line) as T;
}

/** A registry behind Docker token auth: a token server (Basic-authenticated, RS256 JWTs with an x5c chain) and the registry trusting it. */
export interface TokenRegistry extends TestRegistry {
  /** `scope` parameters of every token request, in order (one string per request, space-joined). */
  tokenRequests: string[];
}

/** Starts a token server and a registry using it (`auth.token`), both on loopback. */
export async function startTokenRegistry(auth: { username: string; password: string }): Promise<TokenRegistry> {
  const keyDir = mkdtempSync(join(tmpdir(), "pwasm-token-"));
  const keyFile = join(keyDir, "key.pem");
  const certFile = join(keyDir, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=pwasm-test-token"], { stdio: "ignore" });
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw.toString("base64");
  const tokenRequests: string[] = [];
  const b64url = (v: Buffer | string) => Buffer.from(v).toString("base64url");
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const scopes = url.searchParams.getAll("scope");
    tokenRequests.push(scopes.join(" "));
    const header = req.headers.authorization ?? "";
    const given = header.startsWith("Basic ") ? Buffer.from(header.slice(6), "base64").toString() : undefined;
    if (given !== undefined && given !== `${auth.username}:${auth.password}`) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
      return;
    }
    // Anonymous callers get a token without access, as Docker Hub gives for private repositories.
    const access = given === undefined ? [] : scopes.map((s) => {
      const [type, ...rest] = s.split(":");
      const actions = rest.pop()!.split(",");
      return { type, name: rest.join(":"), actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: "pwasm-test-issuer", sub: auth.username, aud: url.searchParams.get("service"), exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const head = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c: [certDer] }));
    const body = b64url(JSON.stringify(claims));
    const signature = sign("RSA-SHA256", Buffer.from(`${head}.${body}`), key).toString("base64url");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: `${head}.${body}.${signature}`, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const realm = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`;
  const reg = await startRegistry({ tokenAuth: { realm, service: "pwasm-test-registry", issuer: "pwasm-test-issuer", rootCertBundle: certFile } });
  const close = reg.close.bind(reg);
  return Object.assign(reg, {
    auth,
    tokenRequests,
    async close() {
      await close();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(keyDir, { recursive: true, force: true });
    },
  });
}
