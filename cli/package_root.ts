// Where the pwasm package lives (its SDK, base asconfig.json and compiler), found from this file
// whether it runs from sources (tests) or from dist/ (the installed CLI).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "pwasm") return dir;
      } catch {
        // keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the pwasm package root");
    dir = up;
  }
}

/** Absolute path of the pwasm package. */
export const PACKAGE_ROOT = findRoot();

/** The pwasm package version. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
