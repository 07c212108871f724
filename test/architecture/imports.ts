// The import graph of the product's TypeScript and AssemblyScript (host/, cli/, sdk/, plugins/), read
// from the sources' import and export-from statements (type-only ones included: they tie files
// together for a reader as much as any), and its circles, for test/architecture/imports.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** One import of one file: the repository-relative paths of importer and imported. */
export interface ImportEdge {
  from: string;
  to: string;
}

const SKIP = new Set(["node_modules", "build", "dist"]);

/** Repository-relative paths of the .ts files under `dirs` (declaration files left out). */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (SKIP.has(entry.name)) continue;
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(p);
    }
  };
  for (const d of dirs) walk(d);
  return out.sort();
}

// Comments out, strings kept: an import specifier is a string, a URL in a comment is not.
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\/|("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\/[^\n]*/g, (m, str: string | undefined) => str ?? "");
}

const STATIC = /(?:^|[\n;])\s*(?:import|export)\s+(?:type\s+)?(?:[\w$*{},\s]*?\s*from\s*)?["']([^"']+)["']/g;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The module specifiers a source file imports. */
export function importSpecifiers(src: string): string[] {
  const text = stripComments(src);
  const out: string[] = [];
  for (const re of [STATIC, DYNAMIC]) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/**
 * The repository file a specifier names, or undefined for a package outside the repository.
 * Relative specifiers name .ts sources as .js (Node ESM) or without extension (AssemblyScript);
 * `pwasm/sdk/...` is the SDK as plugins import it.
 */
export function resolveSpecifier(root: string, fromFile: string, spec: string): string | undefined {
  let base: string;
  if (spec.startsWith(".")) base = resolve(root, dirname(fromFile), spec);
  else if (spec === "pwasm/sdk" || spec.startsWith("pwasm/sdk/")) base = join(root, "sdk", spec.slice("pwasm/sdk".length));
  else return undefined;
  const candidates = [base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts"), base];
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isFile() && c.endsWith(".ts")) return relative(root, c);
  }
  return undefined;
}

/** Every import between the files of `dirs`. */
export function importGraph(root: string, dirs: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(root, dirs)) {
    const seen = new Set<string>();
    for (const spec of importSpecifiers(readFileSync(join(root, file), "utf8"))) {
      const to = resolveSpecifier(root, file, spec);
      if (to && to !== file && !seen.has(to)) {
        seen.add(to);
        edges.push({ from: file, to });
      }
    }
  }
  return edges;
}

/** Strongly connected components of more than one node (Tarjan), each sorted, in a stable order. */
export function circles(edges: ReadonlyArray<{ from: string; to: string }>): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (e.from === e.to) continue;
    if (!next.has(e.from)) next.set(e.from, []);
    if (!next.has(e.to)) next.set(e.to, []);
    next.get(e.from)!.push(e.to);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/**
 * A file's node in the folder-level graph: its folder (`host/streams` for host/streams/*.ts), except for
 * the files directly in a top-level part (host/host.ts, cli/errors.ts), which stand alone: the
 * part's entry points import every folder, and every folder may use the part's shared files.
 */
export function folderOf(file: string): string {
  const dir = dirname(file);
  return dir.includes("/") ? dir : file;
}

/** A circle as lines a reader can follow: its members, then every import that ties them. */
export function describeCircle(members: readonly string[], edges: ReadonlyArray<{ from: string; to: string; via?: string }>): string {
  const inside = new Set(members);
  const ties = edges.filter((e) => e.from !== e.to && inside.has(e.from) && inside.has(e.to));
  return [`  circle of ${members.length}: ${members.join(" · ")}`, ...ties.map((e) => `    ${e.from} → ${e.to}${e.via ? ` (${e.via})` : ""}`)].join("\n");
}
