// pwasm as a plugin author gets it: `npm pack`, then the tarball — and a git URL of a commit of this
// repository — used from directories outside the repository with no registry reachable (npm
// --offline, against a cache this test fills from a loopback registry of the lockfile's packages),
// and the README's steps in the author's own directory: pwasm init (each template) → npm install →
// npm test → pwasm build → pwasm run, with a real request through the plugin. Each step's time is
// printed at the end.
import { execFile, spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_VERSION } from "../../cli/package_root.js";
import { TEMPLATES, type TemplateName } from "../../cli/scaffold/init.js";
import { httpRequest } from "../helpers/http.js";
import { ROOT } from "../helpers/paths.js";
import { skipWithout } from "../helpers/tools.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";
import { lockedPackages, primeCache, startNpmRegistry } from "./npm_registry.js";

/** Why the suite cannot run here (no tarballs of the lockfile's packages in the npm cache), or undefined. */
const noCache = (() => {
  try {
    lockedPackages();
    return undefined;
  } catch (err) {
    const reason = `test/package/install.test.ts skipped: ${(err as Error).message}`;
    console.warn(reason);
    return reason;
  }
})();
const noGit = skipWithout(["git"], "test/package/install.test.ts: the install from git");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Step timings, printed after the suite: [route, step, ms, result]. */
const timings: Array<[string, string, number, string]> = [];

let work: string;
let env: NodeJS.ProcessEnv;
let tarball: string;
let upstream: Upstream;
let auth: http.Server;
let authUrl: string;

/** Runs a command as the user would in `cwd`, with npm offline against the prepared cache. */
function sh(route: string, step: string, cmd: string, args: string[], cwd: string): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 300_000, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      timings.push([route, step, Math.round(performance.now() - started), code === 0 ? "ok" : `exit ${code}`]);
      resolve({ code, stdout, stderr });
    });
  });
}

const ok = (r: Run) => expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);

beforeAll(async () => {
  if (noCache) return;
  work = realpathSync(mkdtempSync(join(tmpdir(), "pwasm-package-")));
  // Nothing from an outer `npm test` (npm_config_local_prefix would point npm at this repository).
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== "INIT_CWD"));
  const registry = await startNpmRegistry();
  const started = performance.now();
  await primeCache(registry, join(work, "npm-cache"));
  timings.push(["setup", `npm cache add (${registry.specs.length} packages from a loopback registry)`, Math.round(performance.now() - started), "ok"]);
  // Closed from here on: every install below runs --offline, and would fail if it asked anyway.
  await registry.close();
  env = {
    ...clean,
    npm_config_cache: join(work, "npm-cache"),
    npm_config_registry: `${registry.url}/`,
    npm_config_offline: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    npm_config_prefix: join(work, "global"),
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
  // --ignore-scripts: the global setup has built dist/; prepack would rebuild it in place while
  // other test files run the CLI from it (a half-written module fails their imports).
  const pack = await sh("tarball", "npm pack", "npm", ["pack", "--ignore-scripts", "--pack-destination", work], ROOT);
  ok(pack);
  tarball = join(work, `pwasm-${PACKAGE_VERSION}.tgz`);
  expect(existsSync(tarball)).toBe(true);
  upstream = await startUpstream();
  // The service http-callout asks: 200 unless the original path is /deny.
  auth = http.createServer((req, res) => res.writeHead(req.headers["x-original-path"] === "/deny" ? 403 : 200).end());
  await new Promise<void>((r) => auth.listen(0, "127.0.0.1", r));
  authUrl = `http://127.0.0.1:${(auth.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  await upstream?.close();
  await new Promise((r) => (auth ? auth.close(r) : r(undefined)));
  // The npm cache and the projects' node_modules: some hundreds of MB.
  if (work) rmSync(work, { recursive: true, force: true });
  if (timings.length) {
    console.log(`install flow, step times (this machine):\n${timings.map(([route, step, ms, result]) => `  ${route.padEnd(22)} ${step.padEnd(64)} ${String(ms).padStart(7)} ms  ${result}`).join("\n")}`);
  }
});

/** `pwasm run` for a project, one real request per check, then Ctrl-C. */
async function runAndRequest(route: string, project: string, template: TemplateName): Promise<void> {
  const args = ["run", ".", "--listen", "127.0.0.1:0", "--admin", "off", "--upstream", upstream.url];
  if (template === "http-callout") args.push("--cluster", `auth=${authUrl}`);
  const started = performance.now();
  // node_modules/.bin/pwasm is what `npx pwasm` runs; started directly so Ctrl-C reaches it.
  const child = spawn(join(project, "node_modules", ".bin", "pwasm"), args, { cwd: project, env });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("close", r));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`pwasm run did not start:\n${out}`)), 180_000);
      const check = () => {
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      };
      child.stdout.on("data", check);
      child.stderr.on("data", check);
      void exited.then(() => reject(new Error(`pwasm run exited:\n${out}`)));
    });
    switch (template) {
      case "http-headers": {
        const r = await httpRequest(`${url}/orders`);
        expect(r.status).toBe(200);
        expect(r.headers["x-greeting"]).toBe("hello");
        // The template names the header after the project: x-<name>.
        expect(upstream.seen.at(-1)!.headers[`x-${basename(project)}`]).toBe("seen");
        expect((await httpRequest(`${url}/`, { headers: { "x-block": "1" } })).status).toBe(403);
        break;
      }
      case "http-body":
        expect((await httpRequest(`${url}/hello`)).body).toBe("upstream saw GET /HELLO ");
        break;
      case "http-callout": {
        const r = await httpRequest(`${url}/orders`);
        expect(r.status).toBe(200);
        expect(upstream.seen.at(-1)!.headers["x-auth"]).toBe("ok");
        expect((await httpRequest(`${url}/deny`)).status).toBe(403);
        break;
      }
      default: {
        // tcp (a network filter: the dev proxy's HTTP streams pass it by) and empty.
        const r = await httpRequest(`${url}/items`);
        expect(r.status).toBe(200);
        expect(r.body).toBe("upstream saw GET /items ");
      }
    }
  } finally {
    if (child.exitCode === null) child.kill("SIGINT");
  }
  const code = await exited;
  timings.push([route, "pwasm run + requests + Ctrl-C", Math.round(performance.now() - started), code === 0 ? "ok" : `exit ${code}`]);
  expect(code, out).toBe(0);
  expect(out).toMatch(/^pwasm: shutting down$/m);
}

/** The README's steps after init, in a scaffolded project. */
async function userFlow(route: string, project: string, template: TemplateName): Promise<void> {
  const install = await sh(route, `npm install (${template})`, "npm", ["install"], project);
  ok(install);
  // A package, not a link into this repository; with its built JavaScript and no compile at install.
  const installed = join(project, "node_modules", "pwasm");
  expect(lstatSync(installed).isSymbolicLink()).toBe(false);
  expect(existsSync(join(installed, "dist", "cli", "main.js"))).toBe(true);
  expect(existsSync(join(installed, "tsconfig.build.json"))).toBe(false);
  expect(install.stderr).not.toMatch(/install-scripts/);

  const test = await sh(route, `npm test (${template})`, "npm", ["test"], project);
  ok(test);
  expect(test.stderr).toContain("building build/release.wasm (release, AssemblyScript");
  expect(test.stdout).toMatch(/^built build\/release\.wasm /m);
  expect(test.stdout).toMatch(/Tests\s+\d+ passed/);

  const build = await sh(route, `npx pwasm build (${template})`, "npx", ["pwasm", "build"], project);
  ok(build);
  expect(build.stdout).toMatch(/^built build\/release\.wasm {2}[\d,]+ bytes/);

  await runAndRequest(route, project, template);
}

describe.skipIf(noCache)("pwasm from a tarball (npm pack)", () => {
  const templates = Object.keys(TEMPLATES) as TemplateName[];
  for (const template of templates) {
    it(`${template}: npx --package <tarball> pwasm init, then npm install, npm test, pwasm build, pwasm run`, async () => {
      const home = join(work, "plugins");
      mkdirSync(home, { recursive: true });
      const init = await sh("tarball (npx)", `npx --package <tarball> pwasm init (${template})`, "npx", ["--yes", "--package", tarball, "pwasm", "init", template, "--template", template], home);
      ok(init);
      const project = join(home, template);
      // The same tarball, as a path from the project: it survives npm install and moves with the tree.
      const spec = `file:../../pwasm-${PACKAGE_VERSION}.tgz`;
      expect(JSON.parse(readFileSync(join(project, "package.json"), "utf8")).devDependencies.pwasm).toBe(spec);
      expect(init.stdout).toContain(`package.json depends on pwasm "${spec}": the tarball ${tarball}\n`);
      await userFlow("tarball (npx)", project, template);
    }, 600_000);
  }

  it("installed globally: pwasm init links that installation (its source is not recorded), or takes --pwasm", async () => {
    const install = await sh("tarball (global)", "npm install --global <tarball>", "npm", ["install", "--global", tarball], work);
    ok(install);
    const pwasm = join(work, "global", "bin", "pwasm");
    const home = join(work, "plugins-global");
    mkdirSync(home, { recursive: true });
    const linked = await sh("tarball (global)", "pwasm init (links the installation)", pwasm, ["init", "linked"], home);
    ok(linked);
    const installation = join(work, "global", "lib", "node_modules", "pwasm");
    expect(JSON.parse(readFileSync(join(home, "linked", "package.json"), "utf8")).devDependencies.pwasm).toBe(`file:${installation}`);
    expect(linked.stderr).toMatch(/^pwasm: warning: pwasm was installed globally, .*--pwasm <tarball\|git URL>\n$/);
    const test = await sh("tarball (global)", "npm install && npm test (linked)", "sh", ["-c", "npm install && npm test"], join(home, "linked"));
    ok(test);

    const pinned = await sh("tarball (global)", "pwasm init --pwasm <tarball>", pwasm, ["init", "pinned", "--pwasm", tarball], home);
    ok(pinned);
    expect(JSON.parse(readFileSync(join(home, "pinned", "package.json"), "utf8")).devDependencies.pwasm).toBe(`file:${tarball}`);
    expect(pinned.stderr).toBe("");
  }, 600_000);
});

describe.skipIf(noCache ?? noGit)("pwasm from git (the release branch: HEAD plus its built JavaScript)", () => {
  let bare: string;
  beforeAll(async () => {
    // A clone of this repository's HEAD, with its dependencies (npm ci there; here, this checkout's),
    // makes its release branch and is cloned bare: the "remote" users install from.
    const src = join(work, "src");
    ok(await sh("git", "git clone", "git", ["clone", "--quiet", ROOT, src], work));
    symlinkSync(join(ROOT, "node_modules"), join(src, "node_modules"));
    const release = await sh("git", "npm run release:branch", "npm", ["run", "release:branch"], src);
    ok(release);
    expect(release.stdout).toMatch(/^release: [0-9a-f]{40} \(HEAD [0-9a-f]+ \+ dist\/\)$/m);
    bare = join(work, "pwasm.git");
    ok(await sh("git", "git clone --bare (the remote)", "git", ["clone", "--quiet", "--bare", src, bare], work));
  }, 600_000);

  it("npx --package git+file://…#release pwasm init, then npm install, npm test, pwasm build, pwasm run", async () => {
    const commit = (await sh("git", "git rev-parse release", "git", ["rev-parse", "release"], bare)).stdout.trim();
    const home = join(work, "plugins-git");
    mkdirSync(home, { recursive: true });
    const init = await sh("git (npx)", "npx --package git+file://…#release pwasm init", "npx", ["--yes", "--package", `git+file://${bare}#release`, "pwasm", "init", "filter"], home);
    ok(init);
    // The same git URL, pinned to the commit that was installed.
    const spec = `git+file://${bare}#${commit}`;
    expect(JSON.parse(readFileSync(join(home, "filter", "package.json"), "utf8")).devDependencies.pwasm).toBe(spec);
    expect(init.stdout).toContain(`package.json depends on pwasm "${spec}": git commit ${commit.slice(0, 12)} of git+file://${bare}\n`);
    await userFlow("git (npx)", join(home, "filter"), "http-headers");
  }, 600_000);

  it("a commit without built JavaScript installs, and pwasm says in one line how to get one that runs", async () => {
    const main = (await sh("git", "git rev-parse HEAD", "git", ["rev-parse", "HEAD"], bare)).stdout.trim();
    const r = await sh("git (a commit of main)", "npx --package git+file://…#<main> pwasm --version", "npx", ["--yes", "--package", `git+file://${bare}#${main}`, "pwasm", "--version"], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pwasm: this copy of pwasm has no built JavaScript \(dist\/\)\. Install a release tarball or the git branch 'release' .*; in a clone, run npm run build\.$/m);
  }, 600_000);
});
