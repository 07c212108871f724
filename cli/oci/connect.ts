// From command-line options to a registry client: credentials (flags, then Docker's config),
// transport settings, and retry messages on stderr with --verbose.
import { Option, type Command } from "commander";
import { UserError } from "../errors.js";
import { PACKAGE_VERSION } from "../package_root.js";
import { positiveInt, wholeNumber } from "../options.js";
import { RegistryClient } from "./client.js";
import { dockerConfigCredentials, readPasswordStdin, type Credentials } from "./credentials.js";
import type { ImageReference } from "./reference.js";

/** Registry options shared by push, pull, inspect and manifest. */
export interface RegistryCliOptions {
  insecure?: boolean;
  username?: string;
  passwordStdin?: boolean;
  retries?: number;
  timeout?: number;
  verbose?: boolean;
}

/** Adds the registry options to a command. */
export function addRegistryOptions(cmd: Command): Command {
  return cmd
    .option("--insecure", "allow plain HTTP to a registry that is not on loopback (loopback may always use HTTP)")
    .option("-u, --username <name>", "registry user (with --password-stdin); default: credentials from Docker's config")
    .option("--password-stdin", "read the registry password or token from standard input")
    .addOption(new Option("--retries <n>", "retries for 5xx answers and dropped connections").argParser(wholeNumber).default(4))
    .addOption(new Option("--timeout <seconds>", "timeout of each registry request").argParser(positiveInt).default(120))
    .option("-v, --verbose", "log retries and registry decisions on stderr");
}

/** Credentials from the flags, else from Docker's config for the registry (none is fine: anonymous). */
export async function resolveCredentials(ref: ImageReference, o: RegistryCliOptions): Promise<Credentials | undefined> {
  if (o.passwordStdin && !o.username) throw new UserError("--password-stdin needs --username");
  if (o.username) {
    if (!o.passwordStdin) throw new UserError("--username needs --password-stdin (passwords on the command line leak into shell history and ps)");
    return { username: o.username, password: await readPasswordStdin(), source: "--username/--password-stdin" };
  }
  return dockerConfigCredentials(ref.registry);
}

/** A client for the reference's registry with these credentials (see resolveCredentials) and the options' transport settings. */
export function connect(ref: ImageReference, o: RegistryCliOptions, credentials: Credentials | undefined): RegistryClient {
  return new RegistryClient({
    registry: ref.registry,
    apiHost: ref.apiHost,
    insecure: o.insecure,
    credentials,
    retries: o.retries ?? 4,
    timeoutMs: (o.timeout ?? 120) * 1000,
    userAgent: `pwasm/${PACKAGE_VERSION}`,
    onRetry: o.verbose ? (e) => process.stderr.write(`pwasm: retry ${e.attempt} of ${e.method} ${new URL(e.url, "http://x").pathname} in ${e.delayMs} ms: ${e.reason}\n`) : undefined,
  });
}
