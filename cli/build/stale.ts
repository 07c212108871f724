// Decides whether a project's build output is older than its sources (so `pwasm test` and the
// test suite rebuild only what changed).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../package_root.js";
import { TRANSFORM_SOURCE } from "./export_callbacks.js";

/** Folders of a project that hold no build inputs. */
export const NOT_SOURCES: ReadonlySet<string> = new Set(["build", "node_modules", ".git", "dist"]);

/** True for a file name that can be a build input: AssemblyScript sources, asconfig.json and other JSON. */
export function isSourceFile(name: string): boolean {
  return /\.(ts|json)$/.test(name);
}

// Newest modification time of the .ts/.json files under `dir`.
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (NOT_SOURCES.has(entry.name)) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (isSourceFile(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

// Code shared by sibling projects lives in a sibling `common` folder (plugins/common).
function sharedSource(projectDir: string): number {
  const common = join(projectDir, "..", "common");
  return existsSync(common) && statSync(common).isDirectory() ? newestSource(common) : 0;
}

/**
 * True when `outFile` is missing or older than the project's sources, a sibling `common` folder,
 * the pwasm SDK, pwasm's base asconfig.json, or the build's callback-export transform.
 */
export function isStale(projectDir: string, outFile: string): boolean {
  if (!existsSync(outFile)) return true;
  const built = statSync(outFile).mtimeMs;
  const inputs = Math.max(
    newestSource(projectDir),
    sharedSource(projectDir),
    newestSource(join(PACKAGE_ROOT, "sdk")),
    statSync(join(PACKAGE_ROOT, "asconfig.json")).mtimeMs,
    statSync(TRANSFORM_SOURCE).mtimeMs,
  );
  return inputs > built;
}
