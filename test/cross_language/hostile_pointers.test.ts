// A WAT plugin hands hostile pointers and lengths to every host function the host links (every
// env proxy_* and WASI function in HOST_FUNCTIONS, each in the newest ABI version that links it):
// pointers past the end of memory, ranges straddling the end, lengths past memory, pointer+length
// that wraps in 32-bit arithmetic, out-pointers where the result does not fit. Each gets Envoy's
// exact status (INVALID_MEMORY_ACCESS, WASI FAULT, or a stub's fixed errno) while the host never
// throws and the VM never fails. A valid call of each function comes first, so no expectation
// holds by accident.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AbiVersion } from "../../host/abi/constants.js";
import { HOST_FUNCTIONS } from "../../host/imports/registry.js";
import type { HostFunctionDef } from "../../host/imports/types.js";
import { HostCallDriver, type Scratch } from "../fixtures/wat/host_call_driver.js";
import { HOST_CALL_SPECS, defaultFault, type Arg, type HostCallSpec } from "../fixtures/wat/host_call_specs.js";

const ABI_NEWEST_FIRST: AbiVersion[] = ["0.2.1", "0.2.0", "0.1.0"];
const key = (d: HostFunctionDef) => `${d.module}.${d.name}`;
const abiOf = (d: HostFunctionDef): AbiVersion => ABI_NEWEST_FIRST.find((v) => !d.versions || d.versions.includes(v))!;
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

// One environment variable, so environ_get writes something; a VM configuration for
// proxy_get_configuration to return.
const OPTIONS = { environment: { FWD: "1" }, vmConfiguration: "fwd vm configuration" };
const drivers = new Map<AbiVersion, HostCallDriver>();
let hostileCalls = 0;

beforeAll(async () => {
  for (const abi of new Set(HOST_FUNCTIONS.map(abiOf))) {
    drivers.set(abi, await HostCallDriver.create(abi, OPTIONS));
  }
});

afterAll(() => {
  console.log(`hostile pointers: ${hostileCalls} hostile calls to ${HOST_FUNCTIONS.length} host functions`);
});

/** One hostile variant of a valid call: which arguments change, and the status Envoy returns. */
interface Variant {
  label: string;
  args: (s: Scratch) => Arg[];
  expect: number;
}

// The hostile variants of a spec, given the memory size at the time of the call.
function variants(def: HostFunctionDef, spec: HostCallSpec, memSize: number, setupValues: Record<string, number>): Variant[] {
  const fault = spec.fault ?? defaultFault(def.module);
  const out: Variant[] = [];
  const lengths = new Set((spec.ptrs ?? []).map(([, l]) => l));
  const change = (label: string, edits: Record<number, number>): void => {
    // A length over the function's limit is refused before memory is looked at.
    const tooLong = spec.maxLength && Object.entries(edits).some(([i, v]) => lengths.has(Number(i)) && v > spec.maxLength!.limit);
    out.push({
      label,
      args: (s) => {
        const a = spec.args(s, setupValues);
        for (const [i, v] of Object.entries(edits)) a[Number(i)] = v;
        return a;
      },
      expect: tooLong ? spec.maxLength!.status : fault,
    });
  };
  for (const [p, l] of spec.ptrs ?? []) {
    change(`pointer #${p} past memory (0xfffffff0)`, { [p]: 0xfffffff0 });
    change(`pointer #${p} at the last byte (${hex(memSize - 1)}) with length 2`, { [p]: memSize - 1, [l]: 2 });
    change(`length #${l} 0xffffffff`, { [l]: 0xffffffff });
    change(`length #${l} = memory size`, { [l]: memSize });
    change(`pointer #${p} 0xffffffff with length 2 (wraps to 1 in u32)`, { [p]: 0xffffffff, [l]: 2 });
    change(`pointer #${p} 0x80000000 with length 0x80000001`, { [p]: 0x80000000, [l]: 0x80000001 });
  }
  for (const [o, size] of spec.outs ?? []) {
    change(`out-pointer #${o} past memory`, { [o]: 0xfffffff0 });
    change(`out-pointer #${o} where ${size} bytes straddle the end`, { [o]: memSize - size + 1 });
    change(`out-pointer #${o} 0xffffffff`, { [o]: 0xffffffff });
  }
  for (const e of spec.extra ?? []) out.push({ label: e.label, args: (s) => e.args(s, setupValues), expect: e.expect });
  return out;
}

describe("hostile pointers and lengths", () => {
  it("has an expectation for every host function the host links", () => {
    const missing = HOST_FUNCTIONS.map(key).filter((k) => !HOST_CALL_SPECS[k]);
    expect(missing, "add these to test/fixtures/wat/host_call_specs.ts").toEqual([]);
  });

  for (const def of HOST_FUNCTIONS) {
    const spec = HOST_CALL_SPECS[key(def)];
    const pointerArgs = (spec?.ptrs?.length ?? 0) + (spec?.outs?.length ?? 0);
    it(`${key(def)} (ABI ${abiOf(def)}${pointerArgs ? `, ${pointerArgs} pointer arguments` : ""})`, () => {
      if (!spec) return expect.fail(`no spec for ${key(def)}`);
      const driver = drivers.get(abiOf(def))!;
      const index = driver.indexOf(def);
      expect(index).toBeGreaterThanOrEqual(0);
      const site = spec.site ?? "headers";

      // The valid call, so every expectation below is about the hostile argument alone.
      const v0 = spec.setup?.(driver) ?? {};
      const valid = driver.call(index, (s) => spec.args(s, v0), site);
      if (spec.traps) {
        expect(valid.failure?.message).toMatch(spec.traps);
        expect(valid.failure?.message).toMatch(/^Uncaught Error: /);
        return;
      }
      expect(valid.failure, `valid call trapped: ${valid.failure?.message}`).toBeUndefined();
      expect(valid.returned).toBe(true);
      expect(valid.status, "status of the valid call").toBe(spec.ok ?? 0);

      const memSize = driver.vm().mem.size;
      const results: string[] = [];
      const wanted: string[] = [];
      for (const variant of variants(def, spec, memSize, v0)) {
        spec.setup?.(driver); // fresh state, e.g. a queue item to dequeue
        const r = driver.call(index, variant.args, site);
        hostileCalls++;
        expect(r.failure, `${variant.label}: the VM failed: ${r.failure?.message}`).toBeUndefined();
        results.push(`${variant.label}: ${r.returned ? r.status : "did not return"}`);
        wanted.push(`${variant.label}: ${variant.expect}`);
      }
      expect(results).toEqual(wanted);
    });
  }
});
