// cli/ stays in layers (docs/architecture-cli.md): no import circle among its files or folders, no
// command imports another, and only cli/program.ts imports the commands.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../cli/package_root.js";

const CLI = join(PACKAGE_ROOT, "cli");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "templates" ? [] : sources(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

// Each cli/ file's imports of other cli/ files (relative specifiers, .js written for .ts), as paths relative to cli/.
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(CLI)) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+"(\.[^"]+)\.js"/gms)]
      .map((m) => resolve(dirname(file), `${m[1]}.ts`))
      .filter((t) => t.startsWith(`${CLI}/`))
      .map((t) => relative(CLI, t));
    graph.set(relative(CLI, file), targets);
  }
  return graph;
}

// The first circle found in `graph`, as its nodes in order, or undefined.
function findCircle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "done") return undefined;
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    state.set(n, "open");
    path.push(n);
    for (const t of graph.get(n) ?? []) {
      const c = visit(t);
      if (c) return c;
    }
    path.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

// A file's folder under cli/ ("commands", "envoy"; "envoy/differential" counts as "envoy"), or the file itself at the top.
const room = (file: string) => (file.includes("/") ? file.split("/")[0]! : file);

describe("cli/ layers", () => {
  const graph = importGraph();

  it("reads the imports (the check would pass vacuously otherwise)", () => {
    expect(graph.get("commands/run.ts")).toContain("plugin_args.ts");
    expect(graph.get("program.ts")).toContain("commands/run.ts");
  });

  it("has no import circle among its files", () => {
    expect(findCircle(graph)).toBeUndefined();
  });

  it("has no import circle among its folders and top-level files", () => {
    const rooms = new Map<string, string[]>();
    for (const [file, targets] of graph) {
      const from = room(file);
      const list = rooms.get(from) ?? [];
      for (const t of targets) if (room(t) !== from && !list.includes(room(t))) list.push(room(t));
      rooms.set(from, list);
    }
    expect(findCircle(rooms)).toBeUndefined();
  });

  it("no command imports another, and only program.ts imports commands", () => {
    const offenders = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => t.startsWith("commands/") && file !== "program.ts").map((t) => `${file} → ${t}`));
    expect(offenders).toEqual([]);
  });
});
