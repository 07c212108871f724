// `pwasm init`: writes a ready plugin project from a template — sources, a test on the embedded
// host, build targets, and a package.json that depends on pwasm where this pwasm came from
// (cli/scaffold/pwasm_source.ts).
import { existsSync, statSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../files.js";
import { shownPath } from "../format.js";
import { PACKAGE_ROOT } from "../package_root.js";
import { dependencyFromSpec, pwasmDependency, type PwasmDependency } from "./pwasm_source.js";

/** The templates `pwasm init` offers. */
export const TEMPLATES = {
  "http-headers": "reads and writes headers, sends a local reply, counts in a metric",
  "http-body": "buffers and rewrites a response body",
  "http-callout": "asks another service over an HTTP callout before letting a request through",
  tcp: "a network (TCP) filter that counts bytes in each direction",
  empty: "a plugin that does nothing yet",
} as const;
export type TemplateName = keyof typeof TEMPLATES;

/** What to scaffold. */
export interface InitOptions {
  /** Target directory (created if missing). */
  dir: string;
  template?: TemplateName;
  /** Package name (default: the directory's name). */
  name?: string;
  /** Write into a non-empty directory, replacing files the template has. */
  force?: boolean;
  /**
   * How package.json depends on pwasm, as npm takes it: a tarball or directory path (relative to
   * the current directory), a git URL, a URL or a version. Default: where this pwasm came from.
   */
  pwasm?: string;
}

/** What was written. */
export interface InitResult {
  dir: string;
  name: string;
  rootId: string;
  files: string[];
  /** The pwasm dependency written into package.json. */
  pwasm: PwasmDependency;
}

const TEMPLATE_DIR = join(PACKAGE_ROOT, "cli", "scaffold", "templates");

/** An npm-acceptable package name from a directory name. */
export function packageName(raw: string): string {
  const name = raw.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+|[._-]+$/g, "");
  return name || "proxy-wasm-plugin";
}

// Template files, relative to a template root; "gitignore.tmpl" becomes ".gitignore".
async function listTemplate(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) out.push(...(await listTemplate(root, rel)));
    else out.push(rel);
  }
  return out;
}

function targetName(templatePath: string): string {
  const p = templatePath.replace(/\.tmpl$/, "");
  return basename(p) === "gitignore" ? join(dirname(p), ".gitignore") : p;
}

/** Scaffolds a project. Throws UserError for a non-empty directory (without force) or a bad template. */
export async function initProject(options: InitOptions): Promise<InitResult> {
  const template = options.template ?? "http-headers";
  if (!(template in TEMPLATES)) {
    throw new UserError(`unknown template '${template}' (choose one of: ${Object.keys(TEMPLATES).join(", ")})`);
  }
  const dir = resolve(options.dir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UserError(`${shownPath(dir)} exists and is not a directory`);
    const entries = (await readdir(dir)).filter((e) => e !== ".git");
    if (entries.length > 0 && !options.force) {
      throw new UserError(`${shownPath(dir)} is not empty (${entries.length} entr${entries.length === 1 ? "y" : "ies"}); use --force to write into it anyway`);
    }
  }
  const name = packageName(options.name ?? basename(dir));
  const rootId = name.replace(/[^a-z0-9]+/g, "_");
  const pwasm = options.pwasm !== undefined ? dependencyFromSpec(options.pwasm, process.cwd(), dir) : pwasmDependency(dir);
  const vars: Record<string, string> = {
    name, rootId, template, pwasmRef: JSON.stringify(pwasm.spec).slice(1, -1),
  };
  const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);

  const sources: Array<[string, string]> = [];
  for (const root of [join(TEMPLATE_DIR, "_common"), join(TEMPLATE_DIR, template)]) {
    for (const rel of await listTemplate(root)) sources.push([join(root, rel), targetName(rel)]);
  }
  // Render everything first, so a template error writes nothing.
  const rendered = await Promise.all(sources.map(async ([src, rel]) => [rel, fill(await readFile(src, "utf8"))] as const));
  const files: string[] = [];
  for (const [rel, text] of rendered) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, text);
    files.push(rel);
  }
  return { dir, name, rootId, files: files.sort(), pwasm };
}
