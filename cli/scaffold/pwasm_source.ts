// How a project `pwasm init` writes depends on pwasm: on the same source this pwasm was installed
// from, so `npm install` in the new project gets the same pwasm — the tarball, the git commit, the
// registry version, or the clone it runs from. Never a path into a node_modules folder: npm replaces
// what is there, and a package installed there is not a source to install from.
//
// npm 7+ no longer writes `_resolved`/`_from` into installed package.json files. What remains is
// the installing project's own record: its package.json names the spec the user gave (`npm install
// ../pwasm-0.1.0.tgz` saves `file:../pwasm-0.1.0.tgz`), its lockfile (and the hidden
// node_modules/.package-lock.json) the resolved source (a git URL with its commit). `npx --package
// <spec> pwasm` installs into a folder of npm's cache that has the same two files. A global install
// (`npm install -g`) keeps no record of its source: the project then links that installation.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { PACKAGE_ROOT, PACKAGE_VERSION } from "../package_root.js";

/** The dependency `pwasm init` writes, and why. */
export interface PwasmDependency {
  /** The package.json value, e.g. `file:../pwasm-0.1.0.tgz` or `git+https://…#<commit>`. */
  spec: string;
  /** Where it points, for the user: "the tarball this pwasm was installed from". */
  source: string;
  /** Something the user should know (the source is missing, or was not recorded). */
  warning?: string;
}

const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "optionalDependencies"] as const;
const GIT = /^(git\+[a-z]+:|git:|github:|gitlab:|bitbucket:|gist:)|^[\w.-]+\/[\w.-]+(#.*)?$/i;
const URL_SPEC = /^https?:\/\//i;

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A path-like spec (`file:…`, `./…`, `../…`, `/…`, `~/…`) as a path, or undefined. */
function specPath(spec: string): string | undefined {
  if (spec.startsWith("file:")) return spec.slice("file:".length).replace(/^\/\/(?=\/)/, "");
  if (/^(\.{1,2}[\\/]|[\\/]|~[\\/])/.test(spec) || /^[a-z]:[\\/]/i.test(spec)) return spec;
  return undefined;
}

/**
 * A `file:` spec for `path` (resolved against `base`) as seen from `projectDir`: relative when the
 * original was relative (npm writes them so; the two can move together), else absolute.
 */
function fileSpec(path: string, base: string, projectDir: string): { spec: string; absolute: string } {
  const home = process.env.HOME ?? "";
  const expanded = path.startsWith("~") && home ? join(home, path.slice(1)) : path;
  const absolute = resolve(base, expanded);
  if (isAbsolute(expanded)) return { spec: `file:${absolute}`, absolute };
  const rel = relative(projectDir, absolute) || ".";
  return { spec: `file:${rel.startsWith(".") ? rel : `./${rel}`}`, absolute };
}

function describePath(absolute: string): string {
  return /\.(tgz|tar\.gz|tar)$/i.test(absolute) ? "tarball" : "directory";
}

// The commit a lockfile records for a git dependency (`…#<sha>`).
function lockedCommit(resolved: string | undefined): string | undefined {
  return resolved && GIT.test(resolved) ? /#([0-9a-f]{40})$/i.exec(resolved)?.[1] : undefined;
}

/**
 * The dependency on pwasm for a project scaffolded in `projectDir`, from a spec the user gave or a
 * spec that was found (`base`: the folder relative `file:` paths are relative to).
 */
export function dependencyFromSpec(spec: string, base: string, projectDir: string, resolved?: string): PwasmDependency {
  const path = specPath(spec);
  if (path !== undefined) {
    const f = fileSpec(path, base, projectDir);
    const kind = describePath(f.absolute);
    return {
      spec: f.spec,
      source: `the ${kind} ${f.absolute}`,
      ...(existsSync(f.absolute) ? {} : { warning: `${f.absolute} does not exist: npm install will fail until it does (or give another with --pwasm)` }),
    };
  }
  if (GIT.test(spec)) {
    const commit = lockedCommit(resolved);
    const url = commit ? `${spec.replace(/#.*$/, "")}#${commit}` : spec;
    return { spec: url, source: commit ? `git commit ${commit.slice(0, 12)} of ${spec.replace(/#.*$/, "")}` : `git ${spec}` };
  }
  if (URL_SPEC.test(spec)) return { spec, source: `the tarball at ${spec}` };
  // A version range, a tag or an alias: the registry. The new project gets this version's range.
  return { spec: `^${PACKAGE_VERSION}`, source: `pwasm ${PACKAGE_VERSION} from the npm registry` };
}

/** What the project that installed pwasm at `root` (…/node_modules/pwasm) says about its source. */
function installRecord(root: string): { spec?: string; resolved?: string; base: string } | undefined {
  const nodeModules = dirname(root);
  const base = dirname(nodeModules);
  const key = relative(base, root).split("\\").join("/");
  const pkg = readJson(join(base, "package.json"));
  let spec: string | undefined;
  for (const field of DEPENDENCY_FIELDS) {
    const deps = pkg?.[field] as Record<string, string> | undefined;
    if (typeof deps?.pwasm === "string") spec = deps.pwasm;
  }
  let resolved: string | undefined;
  for (const lock of [join(base, "package-lock.json"), join(base, "npm-shrinkwrap.json"), join(nodeModules, ".package-lock.json")]) {
    const entry = (readJson(lock)?.packages as Record<string, { resolved?: string }> | undefined)?.[key];
    if (entry) {
      resolved = entry.resolved;
      break;
    }
  }
  return spec !== undefined || resolved !== undefined ? { spec, resolved, base } : undefined;
}

/** The dependency a project in `projectDir` gets on the pwasm installed at `root` (default: this one). */
export function pwasmDependency(projectDir: string, root: string = PACKAGE_ROOT): PwasmDependency {
  const real = realpathSync(root);
  // A clone (run as `node <clone>/dist/cli/main.js`, or through `npm link`): depend on it.
  if (basename(dirname(real)) !== "node_modules") {
    return { spec: `file:${real}`, source: `the pwasm checkout at ${real}` };
  }
  const record = installRecord(real);
  if (record?.spec !== undefined) return dependencyFromSpec(record.spec, record.base, projectDir, record.resolved);
  if (record?.resolved !== undefined) {
    // Installed as another package's dependency: the lockfile has the source (no spec of its own).
    const r = record.resolved;
    if (r.startsWith("file:") || GIT.test(r)) return dependencyFromSpec(r, record.base, projectDir, r);
    return { spec: `^${PACKAGE_VERSION}`, source: `pwasm ${PACKAGE_VERSION} from the npm registry` };
  }
  return {
    spec: `file:${real}`,
    source: `this pwasm installation, ${real}`,
    warning: "pwasm was installed globally, which keeps no record of the tarball or git URL it came from, so the project links this installation; to depend on the tarball or git URL itself, use pwasm init --pwasm <tarball|git URL>",
  };
}
