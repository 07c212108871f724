// No leak: guest memory after many request/response cycles through the host stays within
// MEMORY_BOUND_BYTES of the size after 1,000, in every runtime variant the SDK supports. The same
// measurement at 100,000 cycles, with sizes, is `npm run footprint` (bench/footprint.ts).
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { MEMORY_BOUND_BYTES, WORKLOADS, measureMemory } from "../../bench/footprint.js";
import { ROOT } from "../helpers/paths.js";
import { VARIANTS, buildVariant } from "./variants.js";

const CYCLES = 20_000;

describe.each(VARIANTS)("guest memory ($name)", (variant) => {
  it.each(WORKLOADS.map((w) => ({ ...w, name: w.example })))(`$name: no growth from 1,000 to ${CYCLES.toLocaleString("en-US")} cycles`, async (w) => {
    const wasm = await buildVariant(join(ROOT, "examples", w.example), variant);
    const m = await measureMemory(wasm, w, 1_000, CYCLES);
    // A leak of one byte per cycle would already add ~19 KiB here (~97 KiB at 100,000 cycles).
    expect(m.afterTotal - m.afterWarmup).toBeLessThanOrEqual(MEMORY_BOUND_BYTES);
    expect(m.afterTotal).toBe(m.afterWarmup);
  });
});

describe("the stub runtime", () => {
  it("is refused at build time: it never frees, so every request would leak", async () => {
    await expect(buildVariant(join(ROOT, "examples", "add-header"), { name: "stub", slug: "as028-stub", extraArgs: ["--runtime", "stub"] }))
      .rejects.toThrow(/pwasm: the stub runtime never frees memory/);
  });
});
