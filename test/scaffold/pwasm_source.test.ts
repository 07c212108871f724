// Where `pwasm init` says the new project gets pwasm from: the source the running pwasm was
// installed from, read from the installing project's files as npm leaves them (layouts built here
// as npm writes them; test/package/install.test.ts does it with npm itself).
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_VERSION } from "../../cli/package_root.js";
import { dependencyFromSpec, pwasmDependency } from "../../cli/scaffold/pwasm_source.js";
import { ROOT } from "../helpers/paths.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";

/** An installed pwasm at <base>/node_modules/pwasm, with the installing project's files. */
function installed(files: { packageJson?: object; lock?: object; hiddenLock?: object } = {}): { base: string; root: string } {
  const base = realpathSync(mkdtempSync(join(tmpdir(), "pwasm-source-")));
  const root = join(base, "node_modules", "pwasm");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "pwasm", version: PACKAGE_VERSION }));
  if (files.packageJson) writeFileSync(join(base, "package.json"), JSON.stringify(files.packageJson));
  if (files.lock) writeFileSync(join(base, "package-lock.json"), JSON.stringify(files.lock));
  if (files.hiddenLock) writeFileSync(join(base, "node_modules", ".package-lock.json"), JSON.stringify(files.hiddenLock));
  return { base, root };
}

const lockWith = (resolved: string) => ({ lockfileVersion: 3, packages: { "": {}, "node_modules/pwasm": { version: PACKAGE_VERSION, resolved } } });

describe("the pwasm dependency of a new project", () => {
  it("is the tarball the installing project named, as a path from the new project", () => {
    const { base, root } = installed({ packageJson: { devDependencies: { pwasm: "file:../pwasm-0.1.0.tgz" } } });
    writeFileSync(join(base, "..", "pwasm-0.1.0.tgz"), "");
    const dep = pwasmDependency(join(base, "plugins", "my-filter"), root);
    expect(dep.spec).toBe("file:../../../pwasm-0.1.0.tgz");
    expect(dep.source).toBe(`the tarball ${join(base, "..", "pwasm-0.1.0.tgz")}`);
    expect(dep.warning).toBeUndefined();
  });

  it("warns when that tarball is gone", () => {
    const { base, root } = installed({ packageJson: { dependencies: { pwasm: "file:/nowhere/pwasm-0.1.0.tgz" } } });
    const dep = pwasmDependency(join(base, "p"), root);
    expect(dep.spec).toBe("file:/nowhere/pwasm-0.1.0.tgz");
    expect(dep.warning).toBe("/nowhere/pwasm-0.1.0.tgz does not exist: npm install will fail until it does (or give another with --pwasm)");
  });

  it("is the git URL, pinned to the commit the lockfile (or npm's hidden lockfile, as in npx's folder) resolved", () => {
    const url = "git+https://example.com/pwasm.git";
    for (const files of [
      { packageJson: { devDependencies: { pwasm: `${url}#release` } }, lock: lockWith(`${url}#${SHA}`) },
      { packageJson: { dependencies: { pwasm: `${url}#release` } }, hiddenLock: lockWith(`${url}#${SHA}`) },
    ]) {
      const { base, root } = installed(files);
      expect(pwasmDependency(join(base, "p"), root)).toEqual({ spec: `${url}#${SHA}`, source: `git commit ${SHA.slice(0, 12)} of ${url}` });
    }
    // Without a lockfile, the spec as it was given.
    const { base, root } = installed({ packageJson: { devDependencies: { pwasm: "github:acme/pwasm#v1" } } });
    expect(pwasmDependency(join(base, "p"), root).spec).toBe("github:acme/pwasm#v1");
  });

  it("is this version's range for a registry install, and a tarball URL as it was given", () => {
    for (const spec of ["^0.1.0", "latest", "*", "npm:pwasm@0.1.0"]) {
      const { base, root } = installed({ packageJson: { devDependencies: { pwasm: spec } } });
      expect(pwasmDependency(join(base, "p"), root).spec, spec).toBe(`^${PACKAGE_VERSION}`);
    }
    const { base, root } = installed({ packageJson: { devDependencies: { pwasm: "https://example.com/pwasm-0.1.0.tgz" } } });
    expect(pwasmDependency(join(base, "p"), root).spec).toBe("https://example.com/pwasm-0.1.0.tgz");
  });

  it("links the installation itself when nothing recorded its source (a global install), and says so", () => {
    const { base, root } = installed();
    const dep = pwasmDependency(join(base, "p"), root);
    expect(dep.spec).toBe(`file:${root}`);
    expect(dep.warning).toMatch(/^pwasm was installed globally, .* use pwasm init --pwasm <tarball\|git URL>$/);
  });

  it("is the checkout itself when pwasm runs from a clone", () => {
    expect(pwasmDependency("/tmp/p", ROOT)).toEqual({ spec: `file:${realpathSync(ROOT)}`, source: `the pwasm checkout at ${realpathSync(ROOT)}` });
  });

  it("takes --pwasm as npm would: paths relative to the current directory, rebased to the project", () => {
    const cwd = realpathSync(mkdtempSync(join(tmpdir(), "pwasm-source-cwd-")));
    writeFileSync(join(cwd, "pwasm-0.1.0.tgz"), "");
    expect(dependencyFromSpec("./pwasm-0.1.0.tgz", cwd, join(cwd, "my-filter")).spec).toBe("file:../pwasm-0.1.0.tgz");
    expect(dependencyFromSpec(join(cwd, "pwasm-0.1.0.tgz"), cwd, join(cwd, "my-filter")).spec).toBe(`file:${join(cwd, "pwasm-0.1.0.tgz")}`);
    expect(dependencyFromSpec("git+ssh://git@example.com/pwasm.git#v1", cwd, join(cwd, "my-filter")).spec).toBe("git+ssh://git@example.com/pwasm.git#v1");
  });
});
