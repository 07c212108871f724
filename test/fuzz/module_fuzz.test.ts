// Load fuzzer: at least 10,000 mutations of valid Proxy-Wasm modules (hand-written WAT, the C and
// AssemblyScript fixtures) go through validateModule and the whole load path (compile, memory cap,
// instantiate, start) and, when accepted, through every kind of event. Every outcome must be a
// PluginLoadError or a working plugin whose traps fail its VM cleanly — never another exception,
// and never a host error hidden inside a refusal or a VM failure. Deterministic: FUZZ_SEED picks
// the cases (printed with the counts). A callback that loops forever meets the host's callback time
// limit (a CallbackTimeoutError, counted apart); modules run in a worker thread so anything else that
// does not finish (validation, a start function) is stopped after WATCHDOG_MS and counted apart too.
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";
import { wat } from "../helpers/wat.js";
import { buildAsFixture, buildCFixture, buildGoFixture } from "../fixtures/build.js";
import { hostCallForwarder } from "../fixtures/wat/host_call_forwarder.js";
import { trappingModule } from "../fixtures/wat/trap_module.js";
import { MUTATIONS, mutate, type Mutation } from "./mutate.js";
import { Rng, fuzzSeed } from "./rng.js";
import { skipWithout } from "../helpers/tools.js";

// The C and Go fixtures are seeds: without their toolchains the corpus (and FUZZ_SEED's cases) would differ.
const skip = skipWithout(["clang", "go"], "test/fuzz/module_fuzz.test.ts");

/** Cases per run (FUZZ_MODULES overrides, for longer local runs). */
const MODULES = Number(process.env.FUZZ_MODULES ?? 10_000);
const WATCHDOG_MS = 5_000;
/** The host's own runaway-callback limit (the test host's default), under the watchdog so a loop in a callback meets it first. */
const CALLBACK_TIME_LIMIT_MS = 2_000;
const MEMORY_LIMIT_BYTES = 16 << 20;
const SEED = fuzzSeed();

/** Host-internal errors that must never surface, not even inside a refusal or a VM failure. */
const HOST_ERROR = /\b(TypeError|ReferenceError|SyntaxError|EvalError)\b|RangeError(?!: Maximum call stack size exceeded)|\bERR_[A-Z_]{3,}|Cannot read propert|is not a function|is not iterable/;
/** What a VM failure may be: a wasm trap, a host-raised trap, or the engine's stack overflow. */
const CLEAN_TRAP = /^Uncaught (RuntimeError: |Error: |RangeError: Maximum call stack size exceeded)/;

interface Seed {
  name: string;
  bytes: Uint8Array;
  weight: number;
}

type Outcome =
  | { kind: "refused"; message: string }
  | { kind: "loaded"; failures: string[] }
  | { kind: "crash"; error: string }
  | { kind: "hang"; phase: "validate" | "run" }
  | { kind: "time-limited"; message: string };

/** Loads modules in a worker; restarts it when a module does not finish in time. */
class LoadWorker {
  private worker!: Worker;
  private ready!: Promise<void>;
  private pending: { id: number; resolve: (o: Outcome) => void; phase: "validate" | "run" } | undefined;

  constructor() {
    this.start();
  }

  private start(): void {
    this.worker = new Worker(join(ROOT, "test", "fuzz", "load_worker.mjs"), {
      workerData: { root: ROOT, memoryLimitBytes: MEMORY_LIMIT_BYTES, callbackTimeLimitMs: CALLBACK_TIME_LIMIT_MS },
    });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once("error", reject);
      this.worker.on("message", (m: { ready?: true; id?: number; phase?: "run" } & Partial<Outcome>) => {
        if (m.ready) return resolve();
        const p = this.pending;
        if (!p || p.id !== m.id) return;
        if (m.phase) p.phase = m.phase;
        else {
          this.pending = undefined;
          p.resolve(m as Outcome);
        }
      });
    });
  }

  async load(id: number, bytes: Uint8Array): Promise<Outcome> {
    await this.ready;
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        const phase = this.pending?.phase ?? "validate";
        this.pending = undefined;
        void this.worker.terminate();
        this.start();
        resolve({ kind: "hang", phase });
      }, WATCHDOG_MS);
      this.pending = { id, phase: "validate", resolve: (o) => { clearTimeout(timer); resolve(o); } };
      this.worker.postMessage({ id, bytes });
    });
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

const seeds: Seed[] = [];
let worker: LoadWorker;

beforeAll(async () => {
  const [c, as, go] = [await buildCFixture("xlang"), await buildAsFixture("xlang"), await buildGoFixture("xlang")];
  const { readFileSync } = await import("node:fs");
  seeds.push(
    // Weights: shares of the cases. The Go module (2.7 MiB, a Go runtime to start) is the slowest.
    { name: "wat minimal", weight: 12, bytes: wat(`(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")) (func (export "malloc") (param i32) (result i32) (i32.const 1024)))`) },
    { name: "wat forwarder 0.2.1", weight: 8, bytes: hostCallForwarder("0.2.1").bytes },
    { name: "wat forwarder 0.1.0", weight: 4, bytes: hostCallForwarder("0.1.0").bytes },
    { name: "wat callouts (traps on tick)", weight: 8, bytes: trappingModule("proxy_on_tick") },
    { name: "wat callouts (traps in malloc)", weight: 4, bytes: trappingModule("malloc") },
    { name: "c xlang", weight: 12, bytes: readFileSync(c.path) },
    { name: "assemblyscript xlang", weight: 12, bytes: readFileSync(as.path) },
    { name: "go xlang", weight: 1, bytes: readFileSync(go.path) },
  );
  worker = new LoadWorker();
}, 300_000);

afterAll(async () => {
  await worker?.stop();
});

describe.skipIf(skip)("module fuzzer", () => {
  it(`loads ${MODULES} mutated modules with zero host crashes`, async () => {
    // Every seed loads as is (so mutations start from working plugins).
    for (const s of seeds) {
      const o = await worker.load(-1, s.bytes);
      expect(o, s.name).toMatchObject({ kind: "loaded" });
    }
    const totalWeight = seeds.reduce((n, s) => n + s.weight, 0);
    const counts = { refusedAtValidation: 0, refusedLater: 0, loaded: 0, loadedAndTrapped: 0, hangs: 0, timeLimited: 0 };
    const byMutation = Object.fromEntries(MUTATIONS.map((m) => [m, 0])) as Record<Mutation, number>;
    const crashes: string[] = [];
    const started = performance.now();
    for (let i = 0; i < MODULES; i++) {
      const rng = Rng.forCase(SEED, i);
      let r = rng.int(totalWeight);
      const seed = seeds.find((s) => (r -= s.weight) < 0)!;
      // Mostly one mutation, sometimes two or three stacked.
      let bytes = seed.bytes;
      for (let n = rng.chance(0.65) ? 1 : 2 + rng.int(2); n > 0; n--) {
        const m = mutate(bytes, rng);
        bytes = m.bytes;
        byMutation[m.mutation]++;
      }
      const o = await worker.load(i, bytes);
      const where = `case ${i} (seed ${SEED}, ${seed.name})`;
      switch (o.kind) {
        case "crash":
          crashes.push(`${where}: the host threw: ${o.error}`);
          break;
        case "hang":
          // A plugin may loop forever (so would it in Envoy); the host's own checks may not.
          if (o.phase === "validate") crashes.push(`${where}: validateModule did not finish`);
          counts.hangs++;
          break;
        case "time-limited":
          // The host stopped a callback that ran past its limit and failed the VM: its hardening.
          if (!/ran past the callback time limit/.test(o.message) || HOST_ERROR.test(o.message)) {
            crashes.push(`${where}: an odd callback time-limit report: ${o.message}`);
          }
          counts.timeLimited++;
          break;
        case "refused":
          if (HOST_ERROR.test(o.message)) crashes.push(`${where}: a host error inside a refusal: ${o.message}`);
          if (/^(not a WebAssembly module|malformed WebAssembly module|Missing or unknown|Wasm module|Bad function signature|Failed to load Wasm module)/.test(o.message)) {
            counts.refusedAtValidation++;
          } else counts.refusedLater++;
          break;
        case "loaded":
          counts.loaded++;
          if (o.failures.length > 0) counts.loadedAndTrapped++;
          for (const f of o.failures) {
            if (!CLEAN_TRAP.test(f) || HOST_ERROR.test(f)) crashes.push(`${where}: a VM failure that is not a clean trap: ${f}`);
          }
          break;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `module fuzzer: seed ${SEED}, ${MODULES} mutated modules in ${seconds.toFixed(1)} s — ` +
      `${counts.refusedAtValidation} refused by validation, ${counts.refusedLater} refused at compile/instantiate/start, ` +
      `${counts.loaded} loaded (${counts.loadedAndTrapped} of them trapped while driven), ${counts.timeLimited} stopped by the host's callback time limit, ${counts.hangs} by the watchdog, ` +
      `${crashes.length} host crashes\n  mutations: ${MUTATIONS.map((m) => `${m} ${byMutation[m]}`).join(", ")}`,
    );
    expect(crashes).toEqual([]);
    // The corpus reaches every stage, so the zero above covers all of them.
    expect(counts.refusedAtValidation).toBeGreaterThan(MODULES / 20);
    expect(counts.refusedLater).toBeGreaterThan(MODULES / 100);
    expect(counts.loaded).toBeGreaterThan(MODULES / 20);
  }, 240_000);
});
