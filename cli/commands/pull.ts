// `pwasm pull <oci://ref> -o plugin.wasm`: fetches a plugin the way Istio's fetcher does (Docker,
// OCI compat or two-layer oci artifact), verifies every digest and size, writes the module atomically.
import type { Command } from "commander";
import { setExitStatus, UserError } from "../errors.js";
import { writeFileAtomic } from "../files.js";
import { formatBytes } from "../format.js";
import { normalizeSha256 } from "../manifest/wasmplugin.js";
import { addRegistryOptions, connect, resolveCredentials, type RegistryCliOptions } from "../oci/connect.js";
import { digestHex } from "../oci/digest.js";
import { checkImage, resolveImage } from "../oci/image.js";
import { FORMAT_NAMES } from "../oci/istio_rules.js";
import { formatReference, parseReference } from "../oci/reference.js";

/** Options of `pwasm pull`, as parsed. */
export interface PullOptions extends RegistryCliOptions {
  output: string;
  sha256?: string;
  json?: boolean;
}

/** Declares `pwasm pull`: arguments, flags, help; the action runs pullCommand. */
export function registerPull(program: Command): void {
  const cmd = program
    .command("pull")
    .description("download a plugin from a registry as Istio would (Docker, OCI compat or oci-artifact layout), verified, to a .wasm file")
    .argument("<ref>", "oci://host[:port]/repo[:tag|@sha256:…]")
    .option("-o, --output <file>", "where to write the module ('-' for stdout)", "plugin.wasm")
    .option("--sha256 <digest>", "fail unless the manifest digest is this (as WasmPlugin.sha256 does)")
    .option("--json", "print the result as JSON");
  addRegistryOptions(cmd);
  cmd.addHelpText("after", `
Example:
  $ pwasm pull oci://127.0.0.1:5000/plugins/add-header:v1 -o add-header.wasm`);
  cmd.action(async (refArg: string, o: PullOptions) => setExitStatus(await pullCommand(refArg, o)));
}

/** `pwasm pull`'s work: fetches and verifies the module, writes it, prints what it got. Returns 0 (a refusal throws). */
export async function pullCommand(refArg: string, o: PullOptions): Promise<number> {
  const ref = parseReference(refArg);
  const expected = o.sha256 ? normalizeSha256(o.sha256) : undefined;
  const client = connect(ref, o, await resolveCredentials(ref, o));
  const image = await resolveImage(client, ref);
  if (expected && digestHex(image.digest) !== expected) {
    throw new UserError(`${formatReference(ref)} has manifest digest ${image.digest}, which does not match the expected sha256:${expected}`);
  }
  const { verdict, blobs } = await checkImage(client, image);
  for (const w of image.warnings) process.stderr.write(`pwasm: warning: ${w}\n`);
  if (!verdict.accepted || !verdict.module) {
    throw new UserError(`Istio would refuse ${formatReference(ref)}: ${verdict.reasons.join("; ")}`);
  }
  if (o.output === "-") process.stdout.write(verdict.module);
  else await writeFileAtomic(o.output, verdict.module);
  const result = {
    reference: formatReference(ref),
    digest: image.digest,
    sha256: digestHex(image.digest),
    ...(image.index ? { indexDigest: image.index.digest } : {}),
    format: verdict.format,
    moduleDigest: verdict.moduleDigest,
    moduleSize: verdict.module.length,
    output: o.output,
    verifiedBlobs: blobs.filter((b) => b.verified).length,
  };
  const out = o.output === "-" ? process.stderr : process.stdout;
  if (o.json) {
    out.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  out.write(`pulled oci://${result.reference} → ${o.output === "-" ? "stdout" : o.output} (${formatBytes(result.moduleSize)}, ${FORMAT_NAMES[verdict.format!]})\n`);
  out.write(`digest: ${image.digest}${image.index ? `  (linux/amd64 child of index ${image.index.digest})` : ""}\n`);
  out.write(`module: ${verdict.moduleDigest}\n`);
  return 0;
}
