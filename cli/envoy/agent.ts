// Envoy under a development agent, as Istio's pilot-agent runs a sidecar's Envoy: pwasm writes the
// bootstrap, serves each plugin through extension config discovery (ECDS) from a file Envoy watches
// (no xDS server), starts Envoy, and says "ready" only once admin /ready is LIVE, the listener
// accepts connections and every plugin's VM loaded (Envoy's ECDS and wasm stats). Then:
// - updatePlugin() hands Envoy a new module or configuration by rewriting the plugin's ECDS file:
//   streams in flight finish on the old VM, new streams get the new one (docs/envoy/ecds-reload.md);
// - when Envoy dies (crash, OOM, kill) the agent reports it with the tail of its log and restarts it
//   with backoff, on the same ports and with the latest plugins;
// - stop() drains (Envoy's graceful listener drain, bounded), then stops Envoy, leaving nothing.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { bootstrapYaml, ecdsFilterName, ecdsResource, ecdsResourceFile, type EnvoyBootstrapOptions, type EnvoyPlugin } from "./bootstrap.js";
import { httpGet } from "../http_client.js";
import type { EnvoyRunOptions, RunningEnvoy } from "./instance.js";
import { startEnvoy, type EnvoyTarget } from "./launch.js";

/** Where the agent's files appear inside a container. */
const CONTAINER_AGENT_DIR = "/run/pwasm-agent";
/** Restart backoff: first delay, doubled per quick crash, capped; reset after a healthy run. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
const HEALTHY_AFTER_MS = 30_000;

/** What the agent tells its user (one line each). */
export interface AgentEvents {
  /** Envoy died; `tail` is its last log lines. */
  onCrash?(code: number | null, tail: string[]): void;
  /** Envoy is being restarted after `delayMs`. */
  onRestarting?(attempt: number, delayMs: number): void;
  /** Envoy serves again after a restart. */
  onRestarted?(ms: number): void;
  /** A restart failed; the agent tries again. */
  onRestartFailed?(message: string): void;
}

/** Options of an agent. */
export interface EnvoyAgentOptions extends Omit<EnvoyRunOptions, "proxy" | "mounts"> {
  target: EnvoyTarget;
  proxy: EnvoyBootstrapOptions;
  events?: AgentEvents;
  /** How long stop() lets connections drain (Envoy's graceful drain), in ms. Default 3 s. */
  drainMs?: number;
  /** How long an update may take to be accepted by Envoy, in ms. Default 30 s. */
  updateTimeoutMs?: number;
}

/** The stats the agent reads: one ECDS counter set per plugin. */
interface EcdsCounters {
  success: number;
  rejected: number;
  failure: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stats(adminUrl: string, filter: string): Promise<Map<string, number>> {
  const r = await httpGet(`${adminUrl}/stats?format=json&filter=${encodeURIComponent(filter)}`, 5000);
  const parsed = JSON.parse(r.body) as { stats?: Array<{ name?: string; value?: number }> };
  return new Map((parsed.stats ?? []).filter((s) => s.name !== undefined && typeof s.value === "number").map((s) => [s.name!, s.value!]));
}

function accepts(url: string, timeoutMs = 2000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on("connect", () => done(true));
    s.on("error", () => done(false));
  });
}

/** Envoy under pwasm's agent. */
export class EnvoyAgent {
  private envoy: RunningEnvoy | undefined;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private readonly hostDir: string;
  private readonly envoyDir: string;
  private readonly plugins: EnvoyPlugin[];
  private proxy: EnvoyBootstrapOptions;
  private moduleSerial = 0;
  /** The module file each plugin's ECDS resource names now. */
  private readonly modules: string[] = [];

  private constructor(private readonly o: EnvoyAgentOptions) {
    this.hostDir = mkdtempSync(join(tmpdir(), "pwasm-agent-"));
    mkdirSync(join(this.hostDir, "ecds"));
    mkdirSync(join(this.hostDir, "modules"));
    this.envoyDir = o.target.kind === "container" ? CONTAINER_AGENT_DIR : this.hostDir;
    this.plugins = o.proxy.plugins.map((p) => ({ ...p }));
    this.proxy = { ...o.proxy, ecdsDir: join(this.envoyDir, "ecds") };
  }

  /** Starts Envoy with the plugins; resolves once it is ready (see the file comment). */
  static async start(o: EnvoyAgentOptions): Promise<EnvoyAgent> {
    const agent = new EnvoyAgent(o);
    try {
      agent.plugins.forEach((p, i) => agent.writePlugin(i, p));
      await agent.launch();
      return agent;
    } catch (err) {
      await agent.stop();
      throw err;
    }
  }

  /** http://host:port of the listener. */
  get url(): string {
    return this.envoy!.url;
  }

  /** http://host:port of the admin listener. */
  get adminUrl(): string {
    return this.envoy!.adminUrl;
  }

  /** How Envoy runs, for messages. */
  get how(): string {
    return this.envoy?.how ?? "";
  }

  /** Envoy's process id (a local process), for tests and tools that watch it. */
  get pid(): number | undefined {
    return this.envoy?.pid;
  }

  /** The running Envoy (replaced on restart). */
  get current(): RunningEnvoy | undefined {
    return this.envoy;
  }

  // Copies the module under a content-addressed name (Envoy reloads only when the ECDS resource
  // changes, and a rebuilt module keeps its file name) and rewrites the plugin's ECDS file
  // atomically (a rename in the watched directory).
  private writePlugin(i: number, p: EnvoyPlugin): void {
    if (typeof p.wasm !== "string") throw new Error("the agent runs modules from files");
    const bytes = readFileSync(p.wasm);
    const name = `${i + 1}-${++this.moduleSerial}-${createHash("sha256").update(bytes).digest("hex").slice(0, 12)}.wasm`;
    writeFileSync(join(this.hostDir, "modules", name), bytes);
    this.modules[i] = name;
    const content = ecdsResource(p, i, { runtime: this.o.proxy.runtime, wasmPath: () => join(this.envoyDir, "modules", name) });
    const file = join(this.hostDir, "ecds", ecdsResourceFile(i));
    writeFileSync(`${file}.tmp`, bootstrapYaml(content));
    renameSync(`${file}.tmp`, file);
  }

  private async launch(): Promise<void> {
    const envoy = await startEnvoy(this.o.target, {
      ...this.o,
      proxy: this.proxy,
      mounts: [{ host: this.hostDir, envoy: this.envoyDir }],
    });
    this.envoy = envoy;
    try {
      await this.waitLoaded(envoy);
    } catch (err) {
      await envoy.stop();
      throw err;
    }
    // A restart binds the same ports (a port-0 listener got one at the first start).
    const l = new URL(envoy.url);
    const a = new URL(envoy.adminUrl);
    this.proxy = { ...this.proxy, port: Number(l.port), admin: { host: a.hostname, port: Number(a.port) } };
    const startedAt = Date.now();
    void envoy.exited.then((code) => this.onExit(envoy, code, startedAt));
  }

  // Ready as pilot-agent checks it: /ready LIVE (startEnvoy), the listener accepting, every
  // plugin's ECDS resource applied and a Wasm VM active.
  private async waitLoaded(envoy: RunningEnvoy): Promise<void> {
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 60_000);
    let last = "";
    while (Date.now() < deadline) {
      const counters = await this.ecdsCounters(envoy.adminUrl).catch(() => undefined);
      const vms = await stats(envoy.adminUrl, "^wasm\\.envoy\\.wasm\\.runtime\\..*\\.active$").catch(() => new Map<string, number>());
      const active = [...vms.values()].reduce((a, b) => a + b, 0);
      const rejected = counters?.findIndex((c) => c.rejected > 0 && c.success === 0) ?? -1;
      if (rejected >= 0) throw new UserError(`Envoy refused plugin ${rejected + 1}: ${complaint(envoy)}`);
      if (counters?.every((c) => c.success > 0) && active > 0 && (await accepts(envoy.url))) return;
      last = counters ? `ECDS updates ${counters.map((c) => c.success).join(",")}, ${active} VM(s)` : "no stats";
      await sleep(100);
    }
    throw new UserError(`Envoy did not load the plugins in time (${last}); last output: ${envoy.output.at(-1) ?? "none"}`);
  }

  private async ecdsCounters(adminUrl: string): Promise<EcdsCounters[]> {
    const s = await stats(adminUrl, "^extension_config_discovery\\.");
    return this.plugins.map((p, i) => {
      const prefix = `extension_config_discovery.${(p.type ?? "http") === "http" ? "http_filter" : "network_filter"}.${ecdsFilterName(i)}`;
      return { success: s.get(`${prefix}.update_success`) ?? 0, rejected: s.get(`${prefix}.update_rejected`) ?? 0, failure: s.get(`${prefix}.update_failure`) ?? 0 };
    });
  }

  /**
   * Replaces plugin `i` (module and/or settings) in the running Envoy; resolves once Envoy applied
   * it, rejects (UserError with Envoy's complaint) when Envoy refused it — the previous one then
   * keeps serving.
   */
  async updatePlugin(i: number, plugin: EnvoyPlugin): Promise<{ ms: number }> {
    const started = Date.now();
    await this.restarting;
    const envoy = this.envoy!;
    const before = (await this.ecdsCounters(envoy.adminUrl))[i]!;
    const previous = this.plugins[i]!;
    this.plugins[i] = { ...plugin, type: previous.type };
    this.writePlugin(i, this.plugins[i]!);
    const deadline = Date.now() + (this.o.updateTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      await sleep(50);
      const now = (await this.ecdsCounters(envoy.adminUrl).catch(() => undefined))?.[i];
      if (!now) continue;
      if (now.success > before.success) {
        this.pruneModules();
        return { ms: Date.now() - started };
      }
      if (now.rejected > before.rejected || now.failure > before.failure) {
        // Envoy keeps the previous resource; so does the agent (a restart would load the refused one).
        this.plugins[i] = previous;
        this.writePlugin(i, previous);
        throw new UserError(`Envoy refused the new plugin ${i + 1}, the previous one keeps serving: ${complaint(envoy)}`);
      }
    }
    throw new UserError(`Envoy did not apply plugin ${i + 1} within ${Math.round((this.o.updateTimeoutMs ?? 30_000) / 1000)} s`);
  }

  private onExit(envoy: RunningEnvoy, code: number | null, startedAt: number): void {
    if (this.stopping || envoy !== this.envoy) return;
    this.o.events?.onCrash?.(code, envoy.output.slice(-10));
    this.restarting = this.restart(Date.now() - startedAt > HEALTHY_AFTER_MS);
  }

  private async restart(fresh: boolean): Promise<void> {
    let delay = fresh ? RESTART_FIRST_MS : Math.min(RESTART_MAX_MS, (this.lastDelay || RESTART_FIRST_MS / 2) * 2);
    for (let attempt = 1; !this.stopping; attempt++) {
      this.lastDelay = delay;
      this.o.events?.onRestarting?.(attempt, delay);
      await sleep(delay);
      if (this.stopping) return;
      const started = Date.now();
      try {
        await this.envoy?.stop();
        await this.launch();
        this.o.events?.onRestarted?.(Date.now() - started);
        return;
      } catch (err) {
        this.o.events?.onRestartFailed?.((err as Error).message);
        delay = Math.min(RESTART_MAX_MS, delay * 2);
      }
    }
  }

  private lastDelay = 0;

  // Envoy read a module when it applied the resource naming it: older copies can go.
  private pruneModules(): void {
    const keep = new Set(this.modules);
    for (const f of readdirSync(join(this.hostDir, "modules"))) if (!keep.has(f)) rmSync(join(this.hostDir, "modules", f), { force: true });
  }

  /** Drains (Envoy's graceful drain, bounded by `drainMs`), stops Envoy and removes the agent's files. */
  async stop(): Promise<void> {
    this.stopping = true;
    const envoy = this.envoy;
    if (envoy) {
      try {
        await drain(envoy, this.o.drainMs ?? 3000);
      } catch {
        // Envoy already gone or not answering: stop it anyway.
      }
      await envoy.stop();
    }
    rmSync(this.hostDir, { recursive: true, force: true });
  }
}

// Envoy's last complaint about a plugin (error or critical lines), for one-line messages.
function complaint(envoy: RunningEnvoy): string {
  const lines = envoy.output.filter((l) => /\]\[(error|critical|warning)\]/.test(l));
  return (lines.at(-1) ?? "see Envoy's log").replace(/^\[[^\]]*\]\[\w+\]\[[\w.]+\] /, "");
}

// Envoy's graceful drain: listeners stop accepting, connections are asked to close (HTTP/1.1
// `connection: close`), then the agent waits for the active requests to finish, up to `ms`.
async function drain(envoy: RunningEnvoy, ms: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const u = new URL(`${envoy.adminUrl}/drain_listeners?graceful&skip_exit`);
    const req = net.connect({ host: u.hostname, port: Number(u.port) }, () => {
      req.end(`POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    req.on("data", () => undefined);
    req.on("close", () => resolve());
    req.on("error", reject);
  });
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const s = await stats(envoy.adminUrl, "downstream_rq_active$");
    const active = [...s.entries()].filter(([k]) => k.startsWith("http.") && !k.startsWith("http.admin")).reduce((a, [, v]) => a + v, 0);
    if (active === 0) return;
    await sleep(50);
  }
}
