// The release build of examples/add-header has exactly the shape Envoy needs.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseModule } from "../../host/wasm/binary.js";
import { built } from "../helpers/paths.js";

describe("examples/add-header release module", () => {
  const info = parseModule(readFileSync(built("examples/add-header")));

  it("imports only env.proxy_* and wasi_snapshot_preview1.* functions", () => {
    expect(info.imports.length).toBeGreaterThan(0);
    for (const imp of info.imports) {
      const ok = (imp.module === "env" && imp.name.startsWith("proxy_")) || imp.module === "wasi_snapshot_preview1";
      expect(ok, `${imp.module}.${imp.name}`).toBe(true);
    }
    const names = info.imports.map((i) => `${i.module}.${i.name}`);
    for (const banned of ["env.abort", "env.seed", "env.trace", "env.Date.now"]) expect(names).not.toContain(banned);
  });

  it("exports the ABI marker, both allocator names, _initialize and memory", () => {
    const exports = new Map(info.exports.map((e) => [e.name, e]));
    for (const name of ["proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "malloc", "_initialize"]) {
      expect(exports.get(name)?.kind, name).toBe("function");
    }
    expect(exports.get("memory")?.kind).toBe("memory");
    // One allocator under two names.
    expect(exports.get("malloc")!.index).toBe(exports.get("proxy_on_memory_allocate")!.index);
  });

  it("has no start section", () => {
    expect(info.hasStartSection).toBe(false);
  });
});
