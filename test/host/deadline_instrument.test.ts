// The deadline instrumentation (host/wasm/deadline.ts) on real modules: every plugin and fixture
// this repository builds still validates and behaves the same after the rewrite, a loop that never
// ends reaches the host's check, and V8's trap offsets and function indices map back to the
// original module's.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseModule } from "../../host/wasm/binary.js";
import { BUDGET_EXPORT, DEADLINE_IMPORT, instrumentDeadlines, UnsupportedInstructionError } from "../../host/wasm/deadline.js";
import { built, ROOT } from "../helpers/paths.js";
import { wat } from "../helpers/wat.js";

// Every module at hand: examples, plugins (release and debug), and the other-language fixtures.
function modules(): string[] {
  const out: string[] = [];
  for (const top of ["examples", "plugins"]) {
    for (const d of readdirSync(join(ROOT, top))) {
      for (const t of ["release", "debug"] as const) {
        const f = built(`${top}/${d}`, t);
        if (existsSync(f)) out.push(f);
      }
    }
  }
  const fixtures = join(ROOT, ".cache", "fixtures");
  if (existsSync(fixtures)) for (const f of readdirSync(fixtures)) if (f.endsWith(".wasm")) out.push(join(fixtures, f));
  return out;
}

// A module whose export `spin(n)` loops n times (n < 0: forever) and `work(n)` calls a helper in a
// loop, so calls, loops and the name section all move.
const LOOPS = new Uint8Array(wat(`(module
  (import "env" "ping" (func $ping (param i32)))
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $helper $spin)
  (func $helper (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $spin (export "spin") (param $n i32)
    (loop $l
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (br_if $l (i32.ne (global.get $g) (local.get $n)))))
  (func $work (export "work") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $acc (call $helper (local.get $acc)))
        (local.set $acc (call_indirect (param i32) (result i32) (local.get $acc) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (call $ping (local.get $acc))
    (local.get $acc))
  (func $boom (export "boom") unreachable)
)`));

function instantiate(bytes: Uint8Array<ArrayBuffer>, onCheck: () => void, ping: (n: number) => void = () => undefined) {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: { ping },
    [DEADLINE_IMPORT.module]: { [DEADLINE_IMPORT.name]: onCheck },
  });
  return instance.exports as Record<string, unknown>;
}

describe("deadline instrumentation", () => {
  it("keeps a module's behaviour: calls, indirect calls, imports, exports, globals", () => {
    const original = new WebAssembly.Instance(new WebAssembly.Module(LOOPS), { env: { ping: () => undefined } }).exports as Record<string, (n: number) => number>;
    const m = instrumentDeadlines(LOOPS);
    expect(m.loops).toBe(2);
    let pinged = -1;
    const exports = instantiate(m.bytes, () => undefined, (n) => (pinged = n));
    const budget = exports[BUDGET_EXPORT] as WebAssembly.Global;
    budget.value = 1000;
    expect((exports.work as (n: number) => number)(10)).toBe(original.work!(10));
    expect(pinged).toBe(20);
    (exports.spin as (n: number) => void)(500);
    // The budget went down by one per loop iteration: 10 + 1 (exit test) in work, 500 in spin.
    expect(budget.value).toBe(1000 - 11 - 500);
  });

  it("asks the host when the budget runs out, so a loop that never ends can be stopped", () => {
    const m = instrumentDeadlines(LOOPS);
    let checks = 0;
    const exports = instantiate(m.bytes, () => {
      checks++;
      if (checks === 5) throw new Error("past its deadline");
      (exports[BUDGET_EXPORT] as WebAssembly.Global).value = 100_000;
    });
    expect(() => (exports.spin as (n: number) => void)(-1)).toThrow("past its deadline");
    expect(checks).toBe(5);
  });

  it("maps V8's trap offsets and function indices back to the original module", () => {
    const m = instrumentDeadlines(LOOPS);
    const exports = instantiate(m.bytes, () => undefined);
    let stack = "";
    try {
      (exports.boom as () => void)();
    } catch (err) {
      stack = (err as Error).stack ?? "";
    }
    const frame = /wasm-function\[(\d+)\]:0x([0-9a-f]+)/.exec(stack)!;
    const info = parseModule(LOOPS);
    const boom = info.code.at(-1)!;
    expect(m.originalFunction(Number(frame[1]))).toBe(boom.index);
    const offset = m.originalOffset(parseInt(frame[2]!, 16));
    expect(offset).toBeGreaterThanOrEqual(boom.start);
    expect(offset).toBeLessThan(boom.end);
    // The `unreachable` is the body's first instruction, after its (empty) locals vector.
    expect(LOOPS[offset]).toBe(0x00);
  });

  it.each(modules().map((f) => [f.replace(`${ROOT}/`, "")]))("%s still validates and compiles", (file) => {
    const bytes = readFileSync(join(ROOT, file));
    let m;
    try {
      m = instrumentDeadlines(bytes);
    } catch (err) {
      if (err instanceof UnsupportedInstructionError) return; // runs unchanged; named in the host's log
      throw err;
    }
    expect(WebAssembly.validate(m.bytes)).toBe(true);
    const before = parseModule(bytes);
    const after = parseModule(m.bytes);
    // The same exports (plus the budget), each at its renumbered function.
    expect(after.exports.map((e) => e.name).sort()).toEqual([...before.exports.map((e) => e.name), BUDGET_EXPORT].sort());
    for (const e of before.exports.filter((x) => x.kind === "function")) {
      const moved = after.exports.find((x) => x.name === e.name)!;
      expect(m.originalFunction(moved.index)).toBe(e.index);
    }
    // Names follow their functions.
    for (const [index, name] of before.functionNames) {
      const renamed = index < before.importedFunctionCount ? index : index + 1;
      expect(after.functionNames.get(renamed)).toBe(name);
    }
    expect(after.imports.at(-1)).toMatchObject({ module: DEADLINE_IMPORT.module, name: DEADLINE_IMPORT.name, kind: "function" });
  });
});
