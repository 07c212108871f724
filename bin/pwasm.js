#!/usr/bin/env node
// The `pwasm` command. Runs the built CLI (dist/); a copy without it (a git checkout of a branch
// other than a release one, before `npm run build`) gets one line saying how to get one that runs.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "pwasm: this copy of pwasm has no built JavaScript (dist/). Install a release tarball or the git " +
      "branch 'release' (npm install git+<repository URL>#release); in a clone, run npm run build.\n",
  );
  process.exit(1);
}
await import(main.href);
