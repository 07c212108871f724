// The layering rules of the project's guide, checked on the sources (imports.ts reads the graph):
// sdk/ never imports host/ or cli/; host/ never imports cli/; no import circle between files of
// host/, cli/, sdk/ and plugins/ (which covers cli/commands), nor between their folders (a folder
// stands for the files directly in it, so host/state ↔ host/imports is a circle even when no two
// files import each other; a file directly in host/ or cli/ stands for itself). A failure lists
// every circle with the imports that tie it.
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";
import { circles, describeCircle, folderOf, importGraph, importSpecifiers, resolveSpecifier } from "./imports.js";

const TREES = ["host", "cli", "sdk", "plugins"] as const;
const edges = importGraph(ROOT, TREES);

describe("the import graph reader", () => {
  it("finds static, type-only, re-export, multi-line and dynamic imports, and skips commented ones", () => {
    const src = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      "import {\n  c,\n  d,\n} from './c.js';",
      'export * from "./e";',
      'export { f } from "pwasm/sdk/imports";',
      'import "./side.js";',
      'const g = await import("./g.js");',
      '// import { no } from "./commented.js";',
      '/* import { no } from "./block.js"; */',
      'const url = "http://x"; import { h } from "./h.js";',
    ].join("\n");
    expect(importSpecifiers(src)).toEqual(["./a.js", "../b.js", "./c.js", "./e", "pwasm/sdk/imports", "./side.js", "./h.js", "./g.js"]);
  });

  it("resolves .js specifiers, extensionless AssemblyScript ones and the SDK's package name to files", () => {
    expect(resolveSpecifier(ROOT, "host/index.ts", "./host.js")).toBe("host/host.ts");
    expect(resolveSpecifier(ROOT, "plugins/stats/assembly/expr.ts", "../../common/assembly/flat_node")).toBe("plugins/common/assembly/flat_node.ts");
    expect(resolveSpecifier(ROOT, "plugins/common/assembly/property.ts", "pwasm/sdk/imports")).toBe("sdk/imports.ts");
    expect(resolveSpecifier(ROOT, "host/index.ts", "node:fs")).toBeUndefined();
    expect(edges.length).toBeGreaterThan(100);
  });

  it("finds circles and only circles", () => {
    const e = (from: string, to: string) => ({ from, to });
    expect(circles([e("a", "b"), e("b", "c"), e("c", "a"), e("c", "d"), e("d", "e"), e("e", "d"), e("x", "a")])).toEqual([["a", "b", "c"], ["d", "e"]]);
    expect(circles([e("a", "b"), e("b", "c"), e("a", "c")])).toEqual([]);
  });
});

describe("layers", () => {
  const crossing = (from: string, to: string[]) =>
    edges.filter((x) => x.from.startsWith(`${from}/`) && to.some((t) => x.to.startsWith(`${t}/`))).map((x) => `${x.from} → ${x.to}`);

  it("sdk/ imports neither host/ nor cli/", () => {
    expect(crossing("sdk", ["host", "cli"])).toEqual([]);
  });

  it("host/ does not import cli/", () => {
    expect(crossing("host", ["cli"])).toEqual([]);
  });

  it("no cli/ command imports another; only cli/program.ts imports commands (docs/architecture.md, CLI)", () => {
    const offenders = edges
      .filter((e) => e.to.startsWith("cli/commands/") && e.from !== "cli/program.ts")
      .map((e) => `${e.from} → ${e.to}`);
    expect(offenders).toEqual([]);
    expect(edges.some((e) => e.from === "cli/program.ts" && e.to === "cli/commands/run.ts")).toBe(true);
  });

  it("no import circle between files but the one pair known (a VM and its contexts)", () => {
    const found = circles(edges);
    const report = found.map((c) => describeCircle(c, edges)).join("\n");
    // A VM holds its contexts and every context knows its VM (type-only, one folder; Envoy's
    // WasmBase and ContextBase are the same pair): docs/architecture.md, "Host".
    const known = ["host/vm/contexts.ts · host/vm/plugin_vm.ts"];
    expect(found.map((c) => c.join(" · ")), `import circles between files:\n${report}\n`).toEqual(known);
  });

  it("no import circle between folders", () => {
    const folderEdges = edges
      .filter((e) => folderOf(e.from) !== folderOf(e.to))
      .map((e) => ({ from: folderOf(e.from), to: folderOf(e.to), via: `${e.from} → ${e.to}` }));
    const found = circles(folderEdges);
    const report = found.map((c) => describeCircle(c, folderEdges)).join("\n");
    expect(found.map((c) => c.join(" · ")), `import circles between folders:\n${report}\n`).toEqual([]);
  });
});
