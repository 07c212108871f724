// `pwasm manifest <url>`: writes the resources that deploy a plugin — Istio's WasmPlugin or
// TrafficExtension, Envoy Gateway's EnvoyExtensionPolicy — and warns (stderr, before anything is
// written) about choices Istio would refuse or that would surprise. For oci:// URLs the sha256 is the manifest digest, looked up in the registry
// unless given; for http(s):// URLs it is the module's sha256 (--wasm computes it).
import type { Command } from "commander";
import { setExitStatus, UserError } from "../errors.js";
import { addManifestOptions, deploymentFromOptions, parseTargets, renderDeployment, type ManifestCliOptions } from "../manifest/options.js";
import { readUserFile, writeFileAtomic } from "../files.js";
import { moduleWarnings } from "../manifest/warnings.js";
import { kubeName } from "../manifest/wasmplugin.js";
import { addRegistryOptions, connect, resolveCredentials, type RegistryCliOptions } from "../oci/connect.js";
import { digestHex, sha256Hex } from "../oci/digest.js";
import { resolveImage } from "../oci/image.js";
import { istioCandidates } from "../oci/istio_rules.js";
import { formatReference, parseReference } from "../oci/reference.js";
import { assertWasm } from "../plugin_args.js";

/** Options of `pwasm manifest`, as parsed. */
export interface ManifestOptions extends ManifestCliOptions, RegistryCliOptions {
  sha256?: string;
  wasm?: string;
  resolve: boolean;
  pin?: boolean;
  output?: string;
}

/** Declares `pwasm manifest`: arguments, flags, help; the action runs manifestCommand. */
export function registerManifest(program: Command): void {
  const cmd = program
    .command("manifest")
    .description("write the Istio WasmPlugin or TrafficExtension (and/or Envoy Gateway EnvoyExtensionPolicy) that deploys a plugin")
    .argument("<url>", "oci://host/repo:tag (the registry is asked for the digest), https://…/plugin.wasm or file:///…")
    .option("--sha256 <digest>", "manifest digest (oci://) or module sha256 (http/https); hex or sha256:hex")
    .option("--wasm <file>", "the module: for http(s)/file URLs sha256 is computed from it; for any URL it is checked against the deployment (the configuration as Istio passes it, the plugin type)")
    .option("--no-resolve", "for oci:// without --sha256: do not ask the registry (no sha256 is written)")
    .option("--pin", "for oci://: put the digest in the URL (…@sha256:…) as well as in sha256")
    .option("-o, --output <file>", "write to this file (atomically) instead of stdout");
  addManifestOptions(cmd);
  addRegistryOptions(cmd);
  cmd.addHelpText("after", `
Examples:
  $ pwasm manifest oci://127.0.0.1:5000/plugins/add-header:v1 --root-id add_header --selector app=web
  $ pwasm manifest oci://127.0.0.1:5000/plugins/add-header:v1 --kind TrafficExtension --phase STATS --wasm build/release.wasm
  $ pwasm manifest oci://ghcr.io/acme/add-header:1.0 --kind WasmPlugin,EnvoyExtensionPolicy --target-ref Gateway/eg --plugin-config config.yaml
  $ pwasm manifest https://example.com/add-header.wasm --wasm build/release.wasm -o wasmplugin.yaml`);
  cmd.action(async (url: string, o: ManifestOptions) => setExitStatus(await manifestCommand(url, o)));
}

/** `pwasm manifest`'s work: renders the resources, warns on stderr, writes them. Returns 0 (bad input throws). */
export async function manifestCommand(urlArg: string, o: ManifestOptions): Promise<number> {
  let module: Uint8Array | undefined;
  if (o.wasm) {
    module = new Uint8Array(await readUserFile(o.wasm));
    assertWasm(module, o.wasm);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(urlArg)?.[1]?.toLowerCase() ?? "";
  let url = urlArg;
  let sha256 = o.sha256;
  let defaultName: string;
  if (scheme === "oci" || scheme === "") {
    const ref = parseReference(urlArg);
    // Docker Hub only when named: a bare word (a typo, a missing scheme) must not wait on docker.io.
    if (o.resolve && !o.sha256 && !ref.digest && ref.registry === "docker.io" && !/^(oci:\/\/)?(docker\.io|index\.docker\.io)\//i.test(urlArg)) throw new UserError(`'${urlArg}' names no registry (it would mean docker.io/${ref.repository}); give oci://host/repo:tag, oci://docker.io/… for Docker Hub, or --no-resolve`);
    defaultName = kubeName(ref.repository.split("/").pop()!);
    if (!sha256 && ref.digest) sha256 = ref.digest;
    if (!sha256 && o.resolve) {
      const client = connect(ref, o, await resolveCredentials(ref, o));
      const image = await resolveImage(client, ref);
      sha256 = image.digest;
      // The layer rules need no download; content problems are left to `pwasm inspect`.
      const { candidates, reasons } = istioCandidates(image.manifest, image.mediaType);
      if (!candidates.length) process.stderr.write(`pwasm: warning: Istio would refuse ${formatReference(ref)}: ${reasons.join("; ")}\n`);
      if (image.index) process.stderr.write(`pwasm: ${formatReference(ref)} is an index; using its linux/amd64 manifest ${image.digest} (the digest Istio compares)\n`);
    }
    if (o.pin) {
      if (!sha256) throw new UserError("--pin needs the digest: give --sha256 or let pwasm resolve it");
      url = `oci://${formatReference(ref, { digest: `sha256:${digestHex(sha256)}`, tag: false })}`;
    } else {
      url = `oci://${formatReference(ref)}`;
    }
  } else if (scheme === "http" || scheme === "https" || scheme === "file") {
    defaultName = kubeName((new URL(urlArg).pathname.split("/").pop() ?? "").replace(/\.wasm$/, ""));
    if (module && o.wasm) {
      const computed = sha256Hex(module);
      if (sha256 && digestHex(sha256).toLowerCase() !== computed) throw new UserError(`--sha256 ${sha256} does not match ${o.wasm} (sha256:${computed})`);
      sha256 = computed;
    }
    if (!sha256 && scheme !== "file") process.stderr.write("pwasm: warning: no sha256 (give --sha256 or --wasm): the proxy will not verify the module it downloads\n");
  } else {
    throw new UserError(`url must be oci://, http://, https:// or file://, got ${scheme}://`);
  }
  const deployment = await deploymentFromOptions(o, { url, sha256, defaultName });
  const kinds = parseTargets(o.for);
  const { yaml, warnings } = renderDeployment(deployment, kinds);
  const istioKinds = kinds.filter((k) => k !== "EnvoyExtensionPolicy");
  if (module && istioKinds.length) warnings.push(...(await moduleWarnings(deployment, module)).map((w) => `${istioKinds.join(", ")}: ${w}`));
  for (const w of warnings) process.stderr.write(`pwasm: warning: ${w}\n`);
  if (o.output) {
    await writeFileAtomic(o.output, yaml);
    process.stderr.write(`pwasm: wrote ${o.output}\n`);
  } else {
    process.stdout.write(yaml);
  }
  return 0;
}
