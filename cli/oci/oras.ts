// `pwasm push --with oras`: the same layout, pushed by the real oras CLI. pwasm writes the blobs
// (config, tar.gz or runtime config, module) into a temporary directory with the names our own
// layers carry as titles, and passes media types and manifest annotations explicitly, so oras
// produces the manifest pwasm would have (same digest) instead of its Istio-refused defaults.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { PACKAGE_ROOT } from "../package_root.js";
import { UserError } from "../errors.js";
import { ANNOTATION } from "./media_types.js";
import type { Artifact } from "./artifact.js";
import type { Credentials } from "./credentials.js";
import { formatReference, type ImageReference } from "./reference.js";

/**
 * Where to find oras: `--oras`/PWASM_ORAS (which must exist: a named binary is never swapped for
 * another), then PATH, then the project's .cache/bin (where .ci/run installs it).
 */
export function findOras(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  for (const [what, path] of [["--oras", explicit], ["PWASM_ORAS", env.PWASM_ORAS]] as const) {
    if (!path) continue;
    if (!existsSync(path)) throw new UserError(`${what} ${path}: no such file`);
    return path;
  }
  const candidates = [...(env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "oras")), join(PACKAGE_ROOT, ".cache", "bin", "oras")];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new UserError("oras not found (install it: go install oras.land/oras/cmd/oras@v1.3.6, or pass --oras <path>)");
}

/** How oras should reach and authenticate to the registry. */
export interface OrasPushOptions {
  oras?: string;
  /** True for a plain-HTTP registry (learned from our own ping). */
  plainHttp: boolean;
  credentials?: Credentials;
  /** Show oras' own progress (stderr passes through). */
  verbose?: boolean;
  timeoutMs?: number;
}

/** Runs `oras push` for the artifact; returns the manifest digest oras reports. */
export async function pushWithOras(artifact: Artifact, ref: ImageReference, options: OrasPushOptions): Promise<string> {
  const oras = findOras(options.oras);
  const dir = await mkdtemp(join(tmpdir(), "pwasm-oras-"));
  try {
    const files: string[] = [];
    // The config blob, then each layer under its title (oras records the file name as the title).
    const configName = "config.json";
    await writeFile(join(dir, configName), artifact.blobs[0]!.data);
    for (const layer of artifact.manifest.layers) {
      const title = layer.annotations?.[ANNOTATION.title];
      if (!title) throw new Error(`layer ${layer.digest} has no title`);
      const blob = artifact.blobs.find((b) => b.descriptor.digest === layer.digest)!;
      await writeFile(join(dir, title), blob.data);
      files.push(`${title}:${layer.mediaType}`);
    }
    await writeFile(join(dir, "annotations.json"), JSON.stringify({ $manifest: artifact.manifest.annotations ?? {} }));
    const args = [
      "push", formatReference(ref),
      "--config", `${configName}:${artifact.manifest.config.mediaType}`,
      "--annotation-file", "annotations.json",
      "--format", "json",
      "--no-tty",
      ...files,
    ];
    if (options.plainHttp) args.push("--plain-http");
    let stdin = "";
    const c = options.credentials;
    if (c?.username !== undefined && c.password !== undefined) {
      args.push("--username", c.username, "--password-stdin");
      stdin = c.password;
    } else if (c?.identityToken) {
      args.push("--identity-token-stdin");
      stdin = c.identityToken;
    }
    const { code, stdout, stderr } = await run(oras, args, dir, stdin, options.timeoutMs ?? 600_000, options.verbose);
    if (code !== 0) throw new UserError(`oras push failed (exit ${code}): ${stderr.trim().split("\n").pop() ?? ""}`);
    let digest: string | undefined;
    try {
      digest = (JSON.parse(stdout) as { digest?: string }).digest;
    } catch {
      digest = /sha256:[a-f0-9]{64}/.exec(stdout)?.[0];
    }
    if (!digest) throw new UserError(`oras push did not report a digest: ${stdout.trim().slice(0, 200)}`);
    return digest;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], cwd: string, stdin: string, timeoutMs: number, passStderr?: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (passStderr) process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new UserError(`cannot run ${cmd}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}
