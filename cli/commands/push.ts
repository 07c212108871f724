// `pwasm push <plugin.wasm|dir> <oci://ref...>`: packs the module as an Istio-accepted OCI
// artifact (compat image by default, or the two-layer oci variant) and pushes it, natively or
// through oras; optionally writes the WasmPlugin / EnvoyExtensionPolicy for what was pushed.
import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { setExitStatus, UserError } from "../errors.js";
import { validateModule } from "../../host/plugin/validate.js";
import { addManifestOptions, deploymentFromOptions, parseTargets, renderDeployment, type ManifestCliOptions } from "../manifest/options.js";
import { checkWritable, writeFileAtomic } from "../files.js";
import { formatBytes, formatSize, shownPath } from "../format.js";
import { kubeName } from "../manifest/wasmplugin.js";
import { buildArtifact, defaultCreated, type Artifact, type Variant } from "../oci/artifact.js";
import { addRegistryOptions, connect, resolveCredentials, type RegistryCliOptions } from "../oci/connect.js";
import type { Credentials } from "../oci/credentials.js";
import { digestHex } from "../oci/digest.js";
import { pushWithOras } from "../oci/oras.js";
import { ProgressReporter } from "../oci/progress.js";
import { pushArtifact, type PushResult } from "../oci/push.js";
import { formatReference, parseReference, type ImageReference } from "../oci/reference.js";
import { keyValue, positiveInt, repeatable } from "../options.js";
import { resolvePluginArg } from "../plugin_args.js";

/** Options of `pwasm push`, as parsed. */
export interface PushOptions extends RegistryCliOptions, ManifestCliOptions {
  variant: Variant;
  with: "pwasm" | "oras";
  oras?: string;
  annotation?: string[];
  chunkSize?: number;
  mountFrom?: string;
  manifest?: string;
  json?: boolean;
  progress?: boolean;
  debug?: boolean;
}

/** The module bytes of a plugin argument: a .wasm file, or a project directory built first (build line on stderr). */
async function loadPluginModule(arg: string, debug = false): Promise<{ path: string; bytes: Uint8Array }> {
  const path = await resolvePluginArg(arg, debug);
  return { path, bytes: new Uint8Array(await readFile(path)) };
}

/** One destination's outcome. */
interface Pushed {
  ref: ImageReference;
  result: PushResult | { reference: string; digest: string; blobs: [] };
}

/** Declares `pwasm push`: arguments, flags, help; the action runs pushCommand. */
export function registerPush(program: Command): void {
  const cmd = program
    .command("push")
    .description("pack a plugin as an OCI artifact Istio and Envoy Gateway accept, and push it to a registry")
    .argument("<plugin>", ".wasm file, or a project directory (built first)")
    .argument("<refs...>", "destinations: oci://host[:port]/repo:tag (several: same artifact, blobs mounted across repositories)")
    .addOption(new Option("--variant <v>", "compat: OCI image with one tar+gzip layer holding plugin.wasm; oci: two-layer Wasm artifact (runtime config + raw module)").choices(["compat", "oci"]).default("compat"))
    .addOption(new Option("--with <tool>", "who pushes: pwasm's own registry client, or the oras CLI (same layout)").choices(["pwasm", "oras"]).default("pwasm"))
    .option("--oras <path>", "oras binary for --with oras (default: $PWASM_ORAS, else oras on PATH, else .cache/bin/oras)")
    .option("--root-id <id>", "root id the plugin registers: recorded in the oci variant's runtime config and used as pluginName by --manifest")
    .addOption(repeatable("--annotation <key=value>", "extra manifest annotation (e.g. org.opencontainers.image.source=…)"))
    .addOption(new Option("--chunk-size <bytes>", "upload blobs larger than this in PATCH chunks (default: monolithic up to 64 MiB)").argParser(positiveInt))
    .option("--mount-from <repo>", "mount blobs from this repository on the same registry instead of uploading them")
    .option("--manifest <file>", "also write a WasmPlugin (and, with --for, an EnvoyExtensionPolicy) for the pushed digest")
    .option("--json", "print the result as JSON")
    .option("--progress", "show upload progress on stderr even when it is not a terminal")
    .option("--debug", "build a project directory with the debug target");
  addRegistryOptions(cmd);
  addManifestOptions(cmd, { rootId: false });
  cmd.addHelpText("after", `
The artifact is reproducible: the same module gives the same manifest digest (fixed timestamps,
tar and gzip headers; SOURCE_DATE_EPOCH sets the recorded time). The printed digest is the
manifest digest, what WasmPlugin.sha256 holds for an oci:// URL; the module sha256 is for http(s) URLs.

Examples:
  $ pwasm push examples/add-header oci://127.0.0.1:5000/plugins/add-header:v1
  $ pwasm push plugin.wasm oci://ghcr.io/acme/add-header:1.0 --variant oci --root-id add_header
  $ echo "$TOKEN" | pwasm push plugin.wasm oci://registry.example.com/p:1 -u ci --password-stdin
  $ pwasm push plugin.wasm oci://127.0.0.1:5000/p:1 --manifest wasmplugin.yaml --root-id add_header --selector app=web`);
  cmd.action(async (plugin: string, refs: string[], o: PushOptions) => setExitStatus(await pushCommand(plugin, refs, o)));
}

/** `pwasm push`'s work: packs the module, pushes it to every destination, prints the digests. Returns 0 (a failure throws). */
export async function pushCommand(plugin: string, refArgs: string[], o: PushOptions): Promise<number> {
  // Destinations carry their scheme, so a mistyped second file name is never taken for an image on Docker Hub.
  const bare = refArgs.find((a) => !/^oci:\/\//i.test(a.trim()));
  if (bare !== undefined) throw new UserError(`push destination '${bare}' is not an oci:// reference (expected oci://host[:port]/repo:tag)`);
  const refs = refArgs.map(parseReference);
  const annotations = Object.fromEntries((o.annotation ?? []).map((a) => keyValue(a, "--annotation")));
  const { path, bytes } = await loadPluginModule(plugin, o.debug);
  let abiVersions: string[] = [];
  try {
    abiVersions = [validateModule(bytes).abiVersion];
  } catch (err) {
    process.stderr.write(`pwasm: warning: Envoy would refuse this module: ${(err as Error).message}\n`);
  }
  const artifact = buildArtifact(bytes, {
    variant: o.variant,
    created: defaultCreated(),
    annotations,
    rootIds: o.rootId ? [o.rootId] : [],
    abiVersions,
  });

  // Render the manifest first: a bad option fails before anything is pushed.
  let manifestYaml: string | undefined;
  if (o.manifest) {
    const first = refs[0]!;
    const deployment = await deploymentFromOptions(o, {
      url: `oci://${formatReference(first, { digest: first.digest })}`,
      sha256: digestHex(artifact.manifestDigest),
      defaultName: kubeName(first.repository.split("/").pop()!),
    });
    const r = renderDeployment(deployment, parseTargets(o.for));
    for (const w of r.warnings) process.stderr.write(`pwasm: warning: ${w}\n`);
    manifestYaml = r.yaml;
    checkWritable(o.manifest);
  }

  const progress = new ProgressReporter(process.stderr, !!o.progress || !!process.stderr.isTTY);
  const pushed: Pushed[] = [];
  let firstCredentials: Credentials | undefined;
  for (const [i, ref] of refs.entries()) {
    if (!o.json) process.stderr.write(`pwasm: pushing ${shownPath(path)} (${formatBytes(bytes.length)}) as ${artifact.variant} to ${formatReference(ref)}${o.with === "oras" ? " with oras" : ""}\n`);
    // --username/--password-stdin (stdin is read once) apply to the first destination's registry.
    const sameAsFirst = ref.registry === refs[0]!.registry;
    if (i === 0) firstCredentials = await resolveCredentials(ref, o);
    const credentials = sameAsFirst ? firstCredentials : await resolveCredentials(ref, { ...o, username: undefined, passwordStdin: false });
    const client = connect(ref, o, credentials);
    if (o.with === "oras") {
      await client.ping(); // learns whether the registry speaks HTTPS or plain HTTP
      const digest = await pushWithOras(artifact, ref, { oras: o.oras, plainHttp: client.baseUrl!.startsWith("http:"), credentials, verbose: o.verbose });
      if (digest !== artifact.manifestDigest) process.stderr.write(`pwasm: warning: oras pushed ${digest}; pwasm's layout has ${artifact.manifestDigest}\n`);
      pushed.push({ ref, result: { reference: formatReference(ref), digest, blobs: [] } });
      continue;
    }
    // Later destinations on the same registry mount the blobs the first one uploaded.
    const earlier = pushed.find((p) => p.ref.registry === ref.registry && p.ref.repository !== ref.repository);
    const result = await pushArtifact(client, ref, artifact, {
      chunkSize: o.chunkSize,
      mountFrom: o.mountFrom ?? earlier?.ref.repository,
      onProgress: (blob, done, total) => progress.update(`  ${blob.role} ${blob.descriptor.digest.slice(7, 19)}`, done, total),
      onBlob: (blob, outcome) => {
        progress.end();
        if (!o.json) process.stderr.write(`  ${blob.role.padEnd(26)} ${blob.descriptor.digest.slice(0, 19)}…  ${formatSize(blob.data.length).padStart(9)}  ${outcome}\n`);
      },
    });
    pushed.push({ ref, result });
  }
  if (o.manifest && manifestYaml !== undefined) {
    await writeFileAtomic(o.manifest, manifestYaml);
  }
  printPushResult(artifact, pushed, o);
  return 0;
}

function printPushResult(artifact: Artifact, pushed: Pushed[], o: PushOptions): void {
  if (o.json) {
    const out = {
      variant: artifact.variant,
      pushedWith: o.with,
      digest: pushed[0]!.result.digest,
      sha256: digestHex(pushed[0]!.result.digest),
      moduleDigest: artifact.moduleDigest,
      moduleSize: artifact.moduleSize,
      references: pushed.map((p) => ({ reference: p.result.reference, url: `oci://${p.result.reference}`, digest: p.result.digest, blobs: p.result.blobs })),
      ...(o.manifest ? { manifest: o.manifest } : {}),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  for (const p of pushed) process.stdout.write(`pushed oci://${p.result.reference}\n`);
  process.stdout.write(`digest: ${pushed[0]!.result.digest}  (manifest digest: WasmPlugin.sha256 for oci:// URLs)\n`);
  process.stdout.write(`module: ${artifact.moduleDigest}  (plugin.wasm, ${formatBytes(artifact.moduleSize)}: sha256 for http(s):// URLs)\n`);
  if (o.manifest) process.stdout.write(`wrote ${o.manifest}\n`);
}
