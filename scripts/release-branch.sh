#!/bin/sh
# Commits HEAD plus its built JavaScript (dist/) onto a branch (default: release), for installs from
# git: `npm install git+<repository URL>#release` then gets pwasm ready to run, as from a release
# tarball — npm builds nothing, installs no dev dependencies and runs no install scripts. The
# branch's package.json has no scripts: npm prepares (installs dev dependencies into) a git
# dependency that has a build or prepare script.
#
# Built from HEAD in a temporary directory with this clone's node_modules (run npm ci first); the
# working tree and index are not touched. The branch's previous tip stays its second parent.
set -eu
branch="${1:-release}"
cd "$(dirname "$0")/.."
[ -x node_modules/typescript/bin/tsc ] || { echo "release-branch: no node_modules/typescript: run npm ci first" >&2; exit 1; }
head=$(git rev-parse --verify HEAD)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
git archive "$head" | tar -x -C "$tmp"
ln -s "$PWD/node_modules" "$tmp/node_modules"
(cd "$tmp" && node node_modules/typescript/bin/tsc -p tsconfig.build.json)
node -e '
  const fs = require("node:fs");
  const file = process.argv[1];
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  delete pkg.scripts;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$tmp/package.json"
gitdir=$(git rev-parse --absolute-git-dir)
GIT_INDEX_FILE="$tmp/.release-index"
export GIT_INDEX_FILE
git read-tree "$head"
git -C "$tmp" --git-dir="$gitdir" --work-tree="$tmp" add -f dist package.json
tree=$(git write-tree)
previous=$(git rev-parse -q --verify "refs/heads/$branch" || true)
commit=$(git commit-tree "$tree" -p "$head" ${previous:+-p "$previous"} -m "pwasm $(node -p 'require("./package.json").version') ($(git rev-parse --short "$head")) with built JavaScript")
git update-ref "refs/heads/$branch" "$commit" ${previous:+"$previous"}
echo "$branch: $commit (HEAD $(git rev-parse --short "$head") + dist/)"
