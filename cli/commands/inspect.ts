// `pwasm inspect <oci://ref>`: the manifest, its blobs (downloaded and verified), the variant, and
// whether Istio's fetcher would accept the image, with the reason when it would not.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { setExitStatus, UserError } from "../errors.js";
import { formatBytes, formatSize } from "../format.js";
import { addRegistryOptions, connect, resolveCredentials, type RegistryCliOptions } from "../oci/connect.js";
import { digestHex } from "../oci/digest.js";
import { checkImage, IstioIndexError, resolveImage, type BlobCheck, type IstioVerdict, type ResolvedImage } from "../oci/image.js";
import { FORMAT_NAMES } from "../oci/istio_rules.js";
import { ANNOTATION } from "../oci/media_types.js";
import { formatReference, parseReference } from "../oci/reference.js";

/** Options of `pwasm inspect`, as parsed. */
export interface InspectOptions extends RegistryCliOptions {
  json?: boolean;
  raw?: boolean;
}

/** Exit status when the image exists but Istio would refuse it. */
const EXIT_REFUSED = 3;

/** Declares `pwasm inspect`: arguments, flags, help; the action runs inspectCommand. */
export function registerInspect(program: Command): void {
  const cmd = program
    .command("inspect")
    .description("show an image's manifest, layers and digests, and whether Istio would accept it (and why not)")
    .argument("<ref>", "oci://host[:port]/repo[:tag|@sha256:…]")
    .option("--json", "print the result as JSON")
    .option("--raw", "print the manifest exactly as the registry serves it");
  addRegistryOptions(cmd);
  cmd.addHelpText("after", `
Every blob is downloaded and its size and digest verified. Exit status: 0 when Istio would accept
the image, ${EXIT_REFUSED} when it would refuse it, 1 on errors.

Example:
  $ pwasm inspect oci://127.0.0.1:5000/plugins/add-header:v1`);
  cmd.action(async (refArg: string, o: InspectOptions) => setExitStatus(await inspectCommand(refArg, o)));
}

/** inspect reads images in a registry: a local file or a bare name is refused before anything is asked. */
function checkReferenceArg(refArg: string): void {
  if (/^oci:\/\//i.test(refArg.trim())) return;
  const local = existsSync(refArg) ? ` (${refArg} is a local file; inspect reads images in a registry)` : "";
  throw new UserError(`inspect needs an oci:// reference, oci://host[:port]/repo[:tag|@sha256:…], got '${refArg}'${local}`);
}

/** `pwasm inspect`'s work: reads and verifies the image, prints it. Returns 0 when Istio would accept it, EXIT_REFUSED (3) when not. */
export async function inspectCommand(refArg: string, o: InspectOptions): Promise<number> {
  checkReferenceArg(refArg);
  const ref = parseReference(refArg);
  const client = connect(ref, o, await resolveCredentials(ref, o));
  let image: ResolvedImage;
  try {
    image = await resolveImage(client, ref);
  } catch (err) {
    if (!(err instanceof IstioIndexError)) throw err;
    if (o.json) process.stdout.write(`${JSON.stringify({ reference: formatReference(ref), index: err.index, istio: { accepted: false, reasons: [err.message] } }, null, 2)}\n`);
    else process.stdout.write(`reference  ${formatReference(ref)}\n${err.index ? `index      ${err.index.digest} (${err.index.mediaType})\n` : ""}istio      REFUSED: ${err.message}\n`);
    return EXIT_REFUSED;
  }
  if (o.raw) {
    process.stdout.write(image.manifestBytes);
    process.stdout.write("\n");
    return 0;
  }
  const { verdict, blobs } = await checkImage(client, image);
  if (o.json) process.stdout.write(`${JSON.stringify(inspectJson(image, verdict, blobs), null, 2)}\n`);
  else process.stdout.write(formatInspect(image, verdict, blobs));
  return verdict.accepted ? 0 : EXIT_REFUSED;
}

function inspectJson(image: ResolvedImage, verdict: IstioVerdict, blobs: BlobCheck[]): Record<string, unknown> {
  return {
    reference: formatReference(image.reference),
    digest: image.digest,
    sha256: digestHex(image.digest),
    mediaType: image.mediaType,
    ...(image.index ? { index: { digest: image.index.digest, mediaType: image.index.mediaType } } : {}),
    variant: image.manifest.annotations?.[ANNOTATION.variant] ?? verdict.format,
    config: image.manifest.config,
    layers: image.manifest.layers,
    annotations: image.manifest.annotations ?? {},
    blobs: blobs.map((b) => ({ role: b.role, index: b.index, digest: b.descriptor.digest, size: b.descriptor.size, verified: b.verified, ...(b.error ? { error: b.error } : {}) })),
    istio: {
      accepted: verdict.accepted,
      format: verdict.format,
      layer: verdict.layerIndex,
      reasons: verdict.reasons,
    },
    ...(verdict.module ? { module: { digest: verdict.moduleDigest, size: verdict.module.length } } : {}),
    warnings: image.warnings,
  };
}

function formatInspect(image: ResolvedImage, verdict: IstioVerdict, blobs: BlobCheck[]): string {
  const lines: string[] = [];
  const m = image.manifest;
  const status = (b: BlobCheck) => (b.verified ? "verified" : b.error ? `FAILED: ${b.error}` : "not read");
  lines.push(`reference  ${formatReference(image.reference)}`);
  lines.push(`digest     ${image.digest}`);
  lines.push(`           WasmPlugin.sha256: ${digestHex(image.digest)}`);
  if (image.index) lines.push(`index      ${image.index.digest} (${image.index.mediaType}; linux/amd64 child shown)`);
  lines.push(`type       ${image.mediaType || "(none)"}`);
  if (m.artifactType) lines.push(`artifact   ${m.artifactType}`);
  const declared = m.annotations?.[ANNOTATION.variant];
  lines.push(`variant    ${verdict.format ?? "none"}${declared && declared !== verdict.format ? ` (annotation says ${declared})` : ""}`);
  const config = blobs.find((b) => b.role === "config")!;
  lines.push(`config     ${m.config.mediaType}  ${m.config.digest}  ${formatSize(m.config.size)}  ${status(config)}`);
  lines.push("layers");
  for (const b of blobs.filter((x) => x.role === "layer")) {
    const title = b.descriptor.annotations?.[ANNOTATION.title];
    const mark = verdict.layerIndex === b.index ? "  ← module" : "";
    lines.push(`  ${b.index}  ${b.descriptor.mediaType}  ${b.descriptor.digest}  ${formatSize(b.descriptor.size)}${title ? `  ${title}` : ""}  ${status(b)}${mark}`);
  }
  const ann = Object.entries(m.annotations ?? {});
  if (ann.length) {
    lines.push("annotations");
    for (const [k, v] of ann) lines.push(`  ${k}=${v}`);
  }
  if (verdict.module) lines.push(`module     ${verdict.moduleDigest}  ${formatBytes(verdict.module.length)}`);
  for (const w of image.warnings) lines.push(`warning    ${w}`);
  if (verdict.accepted) lines.push(`istio      accepted: ${FORMAT_NAMES[verdict.format!]}`);
  else {
    lines.push("istio      REFUSED:");
    for (const r of verdict.reasons) lines.push(`  - ${r}`);
  }
  return `${lines.join("\n")}\n`;
}
