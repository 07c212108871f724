// Host-call fuzzer: a WAT plugin forwards arguments chosen by the test to the host functions
// (test/fixtures/wat/host_call_forwarder.ts). At least 10,000 calls, each to a random host
// function with arguments mutated from a valid call (boundary pointers and lengths, wild values,
// random i64s) over guest data that is sometimes corrupted, from a random callback. Each call must
// return a status or trap cleanly (a HostTrap such as proc_exit's); the host must never throw.
// Deterministic: FUZZ_SEED picks the cases (printed with the counts).
import { describe, expect, it } from "vitest";
import type { AbiVersion } from "../../host/abi/constants.js";
import { HOST_FUNCTIONS } from "../../host/imports/registry.js";
import type { HostFunctionDef } from "../../host/imports/types.js";
import { HostCallDriver, type CallSite } from "../fixtures/wat/host_call_driver.js";
import { HEAP_BASE, SCRATCH, SCRATCH_SIZE } from "../fixtures/wat/host_call_forwarder.js";
import { HOST_CALL_SPECS, type Arg } from "../fixtures/wat/host_call_specs.js";
import { Rng, fuzzSeed } from "./rng.js";

/** Calls per run (FUZZ_CALLS overrides, for longer local runs). */
const CALLS = Number(process.env.FUZZ_CALLS ?? 30_000);
/** A fresh host every so many calls, so state (streams, callouts, queues) stays bounded. */
const CALLS_PER_HOST = 2_500;
const SEED = fuzzSeed();
const OPTIONS = { environment: { FWD: "1", PATH: "/bin" }, vmConfiguration: "fuzz vm configuration", logLevel: "critical" as const };

const HOST_ERROR = /\b(TypeError|ReferenceError|SyntaxError|EvalError)\b|RangeError(?!: Maximum call stack size exceeded)|\bERR_[A-Z_]{3,}|Cannot read propert|is not a function|is not iterable/;
const CLEAN_TRAP = /^Uncaught (RuntimeError: |Error: )/;
const SITES: CallSite[] = ["headers", "body", "tick"];
const abiOf = (d: HostFunctionDef): AbiVersion => (["0.2.1", "0.2.0", "0.1.0"] as AbiVersion[]).find((v) => !d.versions || d.versions.includes(v))!;

// A mutated i32 argument: boundaries of memory and of the forwarder's areas, wild values.
function wildU32(rng: Rng, memSize: number): number {
  switch (rng.int(6)) {
    case 0: return rng.pick([0, 1, 2, 3, 4, 7, 8, 16, 255, 256, 65535, 65536]);
    case 1: return rng.pick([0x7fffffff, 0x80000000, 0x80000001, 0xfffffff0, 0xfffffffc, 0xffffffff]);
    case 2: return Math.max(0, memSize - rng.int(16));
    case 3: return SCRATCH + rng.int(SCRATCH_SIZE);
    case 4: return HEAP_BASE + rng.int(0x1000);
    default: return rng.u32();
  }
}

function wildI64(rng: Rng): bigint {
  return rng.pick([0n, 1n, -1n, 2n ** 63n, 2n ** 63n - 1n, 2n ** 32n, rng.u64()]);
}

describe("host-call fuzzer", () => {
  it("tells a host error from a clean trap (so the zero below can fail)", async () => {
    const d = await HostCallDriver.create("0.2.1", OPTIONS);
    // A foreign function is host code: one that throws a TypeError is a host bug.
    d.host.registerForeignFunction("broken", () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    });
    const call = HOST_FUNCTIONS.find((f) => f.name === "proxy_call_foreign_function")!;
    const r = d.call(d.indexOf(call), (s) => [...s.bytes("broken"), ...s.bytes(""), s.out(), s.out()]);
    expect(r.failure?.message).toMatch(HOST_ERROR);
    expect(r.failure?.hostError).toBe(true);
    const exit = HOST_FUNCTIONS.find((f) => f.name === "proc_exit")!;
    const clean = d.call(d.indexOf(exit), () => [0]);
    expect(clean.failure?.message).toMatch(CLEAN_TRAP);
    expect(clean.failure?.message).not.toMatch(HOST_ERROR);
    expect(clean.failure?.hostError).toBeUndefined();
  });

  it(`makes ${CALLS} calls with mutated arguments; each returns a status or traps cleanly`, async () => {
    const drivers = new Map<AbiVersion, HostCallDriver>();
    const driverFor = async (abi: AbiVersion, fresh: boolean) => {
      let d = drivers.get(abi);
      if (!d || fresh) {
        d = await HostCallDriver.create(abi, OPTIONS);
        d.host.registerForeignFunction("fwd_echo", (args) => args);
        drivers.set(abi, d);
      }
      return d;
    };
    const statuses = new Map<number, number>();
    let traps = 0;
    let undelivered = 0;
    const crashes: string[] = [];
    const started = performance.now();

    for (let i = 0; i < CALLS; i++) {
      const rng = Rng.forCase(SEED ^ 0x00ca11ed, i);
      const def = rng.pick(HOST_FUNCTIONS);
      const spec = HOST_CALL_SPECS[`${def.module}.${def.name}`];
      const driver = await driverFor(abiOf(def), i % CALLS_PER_HOST === 0);
      const index = driver.indexOf(def);
      const site: CallSite = rng.chance(0.7) ? spec?.site ?? "headers" : rng.pick(SITES);
      const ids = { metric: 4 + 4 * rng.int(4), queue: 1 + rng.int(3), stream: 6 + 4 * rng.int(3) };
      const where = `case ${i} (seed ${SEED}): ${def.module}.${def.name} from ${site}`;
      let sent: Arg[] = [];
      try {
        const r = driver.call(index, (s) => {
          const memSize = driver.vm().mem.size;
          // Start from a valid call (when there is one) so most arguments stay meaningful.
          const args: Arg[] = spec && rng.chance(0.85) ? spec.args(s, ids) : def.type.params.map(() => 0);
          const rate = rng.pick([0.15, 0.3, 0.6, 1]);
          def.type.params.forEach((t, k) => {
            if (args[k] === undefined || rng.chance(rate)) args[k] = t === "i64" ? wildI64(rng) : wildU32(rng, memSize);
          });
          // Sometimes corrupt the data the pointers refer to (header pairs, paths, iovecs).
          if (rng.chance(0.25)) {
            const bytes = driver.vm().mem.bytes;
            for (let n = 1 + rng.int(16); n > 0; n--) bytes[SCRATCH + rng.int(256)] = rng.u32() & 0xff;
          }
          sent = args;
          return args;
        }, site);
        if (r.failure) {
          traps++;
          if (r.failure.hostError || !CLEAN_TRAP.test(r.failure.message) || HOST_ERROR.test(r.failure.message)) {
            crashes.push(`${where} (${sent.join(", ")}): the VM failed with a host error: ${r.failure.message}`);
          }
        } else if (r.returned) {
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        } else {
          undelivered++;
        }
      } catch (err) {
        crashes.push(`${where} (${sent.join(", ")}): the host threw: ${(err as Error).stack ?? String(err)}`);
      }
    }

    const seconds = (performance.now() - started) / 1000;
    const top = [...statuses.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([s, n]) => `${s}×${n}`).join(" ");
    console.log(
      `host-call fuzzer: seed ${SEED}, ${CALLS} calls to ${HOST_FUNCTIONS.length} host functions in ${seconds.toFixed(1)} s — ` +
      `${CALLS - traps - undelivered} returned a status, ${traps} trapped cleanly, ${undelivered} not delivered (stream already ended), ` +
      `${crashes.length} host crashes\n  statuses: ${top}`,
    );
    expect(crashes.slice(0, 20)).toEqual([]);
    // Most calls reach the host function, and both success and refusal paths are exercised.
    expect(CALLS - traps - undelivered).toBeGreaterThan(CALLS * 0.8);
    expect(statuses.get(0) ?? 0).toBeGreaterThan(CALLS / 20);
    expect(statuses.get(6) ?? 0).toBeGreaterThan(CALLS / 20); // INVALID_MEMORY_ACCESS
  }, 120_000);
});
