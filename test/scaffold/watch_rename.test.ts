// `pwasm run --watch` keeps seeing a source file that editors save by writing a new file and
// renaming it over the old one: GNU `sed -i` (temp file, rename), vim with backupcopy=no (the
// original renamed to `index.ts~`, a new `index.ts` written) and VS Code's atomic write (a
// `<file>.vsctmp` renamed over the file). Each style saves twice in a row, since a watcher that
// follows the file's inode sees the first save and loses the file after it; every save must
// reload, and the new VM must serve the saved content.
import { execFileSync } from "node:child_process";
import http from "node:http";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliProcess } from "../helpers/cli.js";
import { startWatchedProject, type WatchedProject } from "./watched_project.js";

const hasVim = (() => {
  try {
    execFileSync("vim", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

function greeting(url: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.headers["x-greeting"] as string | undefined));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

const GREETING = /greeting: string = "[^"]*"/;

describe("pwasm run --watch after rename-style saves", () => {
  let project: WatchedProject;
  let dir: string;
  let src: string;
  let proc: CliProcess;
  let url: string;
  const reloads = () => project.reloads();

  beforeAll(async () => {
    project = await startWatchedProject("pwasm-watch-rename-");
    ({ dir, proc, url } = project);
    src = join(dir, "assembly", "index.ts");
    expect(readFileSync(src, "utf8")).toMatch(GREETING);
  });

  afterAll(async () => {
    await project?.stop();
  });

  /** Saves `text` as the greeting with `save`, which must replace the file (a new inode); waits for the reload. */
  async function saveAndReload(text: string, save: (replace: string) => void): Promise<void> {
    const inode = statSync(src).ino;
    const before = reloads();
    save(`greeting: string = "${text}"`);
    expect(statSync(src).ino, "the save replaced the file").not.toBe(inode);
    expect(readFileSync(src, "utf8")).toContain(`"${text}"`);
    for (let i = 0; i < 600 && reloads() === before; i++) await new Promise((r) => setTimeout(r, 100));
    expect(reloads(), `no reload after saving "${text}":\n${proc.output()}`).toBeGreaterThan(before);
    // The reload may have started before the save finished; wait until the served greeting is the saved one.
    let served: string | undefined;
    for (let i = 0; i < 600; i++) {
      served = await greeting(`${url}/`);
      if (served === text) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(served).toBe(text);
  }

  it("sed -i (GNU: a temporary file renamed over the source)", async () => {
    for (const text of ["sed one", "sed two"]) {
      await saveAndReload(text, (replace) => execFileSync("sed", ["-i", `s/${GREETING.source}/${replace}/`, src]));
    }
  });

  it.skipIf(!hasVim)("vim with backupcopy=no (the source renamed to index.ts~, a new one written)", async () => {
    for (const text of ["vim one", "vim two"]) {
      await saveAndReload(text, (replace) =>
        execFileSync("vim", [
          "-u", "NONE", "-i", "NONE", "-N", "-n", "-es",
          // backupskip= : vim skips backups under /tmp by default, and the project is there.
          "--cmd", "set backup writebackup backupcopy=no backupskip=",
          "-c", `%s/${GREETING.source}/${replace}/`,
          "-c", "wq",
          src,
        ], { stdio: "ignore" }),
      );
      expect(existsSync(`${src}~`), "vim renamed the original to its backup").toBe(true);
    }
  });

  it("VS Code's atomic write (<file>.vsctmp renamed over the file)", async () => {
    for (const text of ["vscode one", "vscode two"]) {
      await saveAndReload(text, (replace) => {
        writeFileSync(`${src}.vsctmp`, readFileSync(src, "utf8").replace(GREETING, replace));
        renameSync(`${src}.vsctmp`, src);
      });
    }
  });

  it("a folder created after start is watched too", async () => {
    const before = reloads();
    execFileSync("mkdir", ["-p", join(dir, "assembly", "lib")]);
    writeFileSync(join(dir, "assembly", "lib", "extra.ts"), "export const extra = 1;\n");
    for (let i = 0; i < 600 && reloads() === before; i++) await new Promise((r) => setTimeout(r, 100));
    expect(reloads()).toBeGreaterThan(before);
    // And a rename-style save inside it is seen as well.
    const again = reloads();
    const extra = join(dir, "assembly", "lib", "extra.ts");
    writeFileSync(`${extra}.vsctmp`, "export const extra = 2;\n");
    renameSync(`${extra}.vsctmp`, extra);
    for (let i = 0; i < 600 && reloads() === again; i++) await new Promise((r) => setTimeout(r, 100));
    expect(reloads()).toBeGreaterThan(again);
  });
});
