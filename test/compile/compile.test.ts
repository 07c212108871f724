// The build library: several projects in one process, one with a `lib` directory.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { createTestHost } from "../../host/index.js";
import { ROOT } from "../helpers/paths.js";

describe("compileProject", () => {
  it("keeps a project's lib files out of later builds in the same process", async () => {
    const withLib = await compileProject({ dir: join(import.meta.dirname, "fixtures", "with-lib") });
    const host = await createTestHost({ wasm: withLib.outFile });
    expect(host.logs("info")).toContain("lib value 7");
    // Before the fix the compiler parsed uses_sub.ts again here and failed to find ./sub/value.
    const plain = await compileProject({ dir: join(ROOT, "examples", "add-header"), outFile: join(import.meta.dirname, "fixtures", "with-lib", "build", "plain.wasm") });
    expect(plain.bytes).toBeGreaterThan(0);
  });

  it("runs overlapping builds one at a time, each with its own result", async () => {
    const [a, b] = await Promise.all([
      compileProject({ dir: join(import.meta.dirname, "fixtures", "with-lib") }),
      compileProject({ dir: join(ROOT, "examples", "add-header"), outFile: join(import.meta.dirname, "fixtures", "with-lib", "build", "plain2.wasm") }),
    ]);
    expect(a.outFile).toMatch(/with-lib\/build\/release\.wasm$/);
    expect(b.outFile).toMatch(/plain2\.wasm$/);
  });
});
