// Registry credentials: from `--username` + `--password-stdin`, or from Docker's config file
// (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): `auths` entries, `credHelpers`
// and `credsStore` (the `docker-credential-<helper> get` protocol), as docker and crane read them.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.js";

/** What to authenticate with. `identityToken` is an OAuth2 refresh token (Docker's `identitytoken`). */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
  /** A bearer token used as is (Docker's `registrytoken`). */
  registryToken?: string;
  /** Where these came from, for messages ("--username", "~/.docker/config.json", "docker-credential-pass"). */
  source: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Path of the Docker config file that applies. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");
}

const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

// "https://index.docker.io/v1/" → "index.docker.io"; "host:5000" → "host:5000".
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
}

function sameRegistry(a: string, b: string): boolean {
  const x = keyHost(a);
  const y = keyHost(b);
  return x === y || (HUB_ALIASES.has(x) && HUB_ALIASES.has(y));
}

/** The server URL a credential helper is asked about. */
function helperServerUrl(registry: string): string {
  return HUB_ALIASES.has(registry) ? "https://index.docker.io/v1/" : registry;
}

/** Runs `docker-credential-<helper> get`; undefined when it has nothing for this registry. */
export async function credentialHelperGet(helper: string, registry: string, timeoutMs = 30_000): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(program, ["get"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new UserError(`credential helper ${program} (from ${dockerConfigPath()}) could not run: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(helperServerUrl(registry));
  });
  if (out.code !== 0) {
    if (/credentials not found/i.test(out.stdout + out.stderr)) return undefined;
    throw new UserError(`credential helper ${program} failed for ${registry}: ${(out.stdout + out.stderr).trim() || `exit ${out.code}`}`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(out.stdout) as typeof parsed;
  } catch {
    throw new UserError(`credential helper ${program} answered something other than JSON for ${registry}`);
  }
  if (typeof parsed?.Secret !== "string" || !parsed.Secret) return undefined;
  // Docker's convention: the username "<token>" marks an identity (refresh) token.
  if (parsed.Username === "<token>") return { identityToken: parsed.Secret, source: program };
  return { username: typeof parsed.Username === "string" ? parsed.Username : undefined, password: parsed.Secret, source: program };
}

/** Credentials for `registry` from the Docker config file, if it has any. */
export async function dockerConfigCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const path = dockerConfigPath(env);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UserError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let cfg: DockerConfigFile;
  try {
    cfg = JSON.parse(text) as DockerConfigFile;
  } catch (err) {
    throw new UserError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => sameRegistry(k, registry))?.[1];
  if (helper) return credentialHelperGet(helper, registry);
  const entry = Object.entries(cfg.auths ?? {}).find(([k]) => sameRegistry(k, registry))?.[1];
  if (entry) {
    if (entry.registrytoken) return { registryToken: entry.registrytoken, source: path };
    if (entry.identitytoken) return { identityToken: entry.identitytoken, source: path };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      if (i < 0) throw new UserError(`${path}: the auth entry for ${registry} is not base64 of user:password`);
      return { username: decoded.slice(0, i), password: decoded.slice(i + 1), source: path };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password, source: path };
  }
  if (cfg.credsStore) return credentialHelperGet(cfg.credsStore, registry);
  return undefined;
}

/** Reads a password from standard input (`--password-stdin`), without its trailing newline. */
export async function readPasswordStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  const password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  if (!password) throw new UserError("--password-stdin: standard input was empty");
  return password;
}
