// Reading an image from a registry the way Istio's fetcher does: resolve the reference (an index
// to its linux/amd64 child), apply Istio's layout rules, download and verify blobs, and take the
// module out. Used by `pwasm pull` and `pwasm inspect`.
import type { Descriptor, ImageManifest } from "./artifact.js";
import { istioRealmProblem } from "./auth.js";
import { RegistryClient, RegistryError } from "./client.js";
import { descriptorsProblem } from "./descriptors.js";
import { sha256Digest } from "./digest.js";
import { extractModule, istioCandidates, IstioRejection, MAX_MODULE_BYTES, moduleProblem, type IstioFormat } from "./istio_rules.js";
import { DOCKER_MANIFEST_LIST, OCI_INDEX } from "./media_types.js";
import { manifestRef, type ImageReference } from "./reference.js";
import { UserError } from "../errors.js";

/** An index entry. */
interface IndexEntry extends Descriptor {
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** The manifest an image reference resolves to (what Istio compares `sha256` with). */
export interface ResolvedImage {
  reference: ImageReference;
  /** Digest of the image manifest (the index's linux/amd64 child when the reference names an index). */
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  /** Set when the reference named an index. */
  index?: { digest: string; mediaType: string; manifests: IndexEntry[] };
  /** Problems with the manifest document itself (not fatal for Istio). */
  warnings: string[];
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new UserError(`${what} is not a JSON object`);
}

/** Fetches the manifest a reference names, resolving an index the way go-containerregistry does. */
export async function resolveImage(client: RegistryClient, ref: ImageReference): Promise<ResolvedImage> {
  const target = manifestRef(ref);
  const fetched = await client.getManifest(ref.repository, target);
  if (!fetched) throw new RegistryError(`${ref.registry}/${ref.repository}:${target} not found`, 404, "MANIFEST_UNKNOWN");
  let doc = parseJson(fetched.bytes, `manifest ${target}`);
  let mediaType = (doc.mediaType as string | undefined) ?? fetched.mediaType;
  let { bytes, digest } = fetched;
  const warnings: string[] = [];
  let index: ResolvedImage["index"];
  if (mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST) {
    const manifests = Array.isArray(doc.manifests) ? (doc.manifests as IndexEntry[]) : [];
    const sizes = descriptorsProblem(manifests.map((m, i) => ({ role: `index entry ${i}`, size: m?.size, digest: m?.digest })), new TextDecoder().decode(bytes));
    if (sizes) throw new RegistryError(`index ${digest} of ${ref.registry}/${ref.repository}: ${sizes}; refused before downloading anything`, 200);
    const child = manifests.find((m) => m.platform?.os === "linux" && m.platform.architecture === "amd64");
    if (!child) {
      const platforms = manifests.map((m) => `${m.platform?.os ?? "?"}/${m.platform?.architecture ?? "?"}`).join(", ") || "none";
      throw new IstioIndexError(`the image index has no linux/amd64 manifest (it has: ${platforms}); Istio resolves an index to linux/amd64 only`, { digest, mediaType, manifests });
    }
    index = { digest, mediaType, manifests };
    const c = await client.getManifest(ref.repository, child.digest);
    if (!c) throw new RegistryError(`index child ${child.digest} not found`, 404, "MANIFEST_UNKNOWN");
    if (c.bytes.length !== child.size) throw new RegistryError(`index child ${child.digest}: the index says ${child.size} bytes, the registry sent ${c.bytes.length}`, 200);
    doc = parseJson(c.bytes, `manifest ${child.digest}`);
    mediaType = (doc.mediaType as string | undefined) ?? c.mediaType ?? child.mediaType;
    bytes = c.bytes;
    digest = c.digest;
    if (c.mediaType && doc.mediaType && c.mediaType !== doc.mediaType) warnings.push(`served as ${c.mediaType} but the manifest says ${String(doc.mediaType)}`);
  } else if (fetched.mediaType && doc.mediaType && fetched.mediaType !== doc.mediaType) {
    warnings.push(`served as ${fetched.mediaType} but the manifest says ${String(doc.mediaType)}`);
  }
  const realm = istioRealmProblem(client.authChallenge);
  if (realm) warnings.push(`recent Istio (master, 2026) refuses this registry's 401 challenge: ${realm}`);
  if (doc.schemaVersion !== 2) warnings.push(`schemaVersion is ${String(doc.schemaVersion)}, expected 2`);
  if (!doc.config || !Array.isArray(doc.layers)) throw new IstioIndexError(`${mediaType || "the manifest"} is not an image manifest (no config and layers)`, undefined);
  const config = doc.config as Descriptor;
  const descriptors = [{ role: "config", size: config.size, digest: config.digest }, ...(doc.layers as Descriptor[]).map((l, i) => ({ role: `layer ${i}`, size: l?.size, digest: l?.digest }))];
  const sizes = descriptorsProblem(descriptors, new TextDecoder().decode(bytes));
  if (sizes) throw new RegistryError(`manifest ${digest} of ${ref.registry}/${ref.repository}: ${sizes}; refused before downloading anything`, 200);
  return { reference: ref, digest, mediaType, manifest: doc as unknown as ImageManifest, manifestBytes: bytes, index, warnings };
}

/** An image Istio would refuse before looking at layers (index without linux/amd64, not an image manifest). */
export class IstioIndexError extends UserError {
  constructor(message: string, readonly index: { digest: string; mediaType: string; manifests: IndexEntry[] } | undefined) {
    super(message);
    this.name = "IstioIndexError";
  }
}

/** A blob's verification result. */
export interface BlobCheck {
  role: "config" | "layer";
  index: number;
  descriptor: Descriptor;
  /** True once downloaded with matching size and digest. */
  verified: boolean;
  error?: string;
}

/** What Istio would do with an image. */
export interface IstioVerdict {
  accepted: boolean;
  format?: IstioFormat;
  /** Index of the layer the module comes from. */
  layerIndex?: number;
  /** Why it is refused (when not accepted), or why other rules did not apply. */
  reasons: string[];
  module?: Uint8Array;
  moduleDigest?: string;
}

/** Options of an image check. */
export interface CheckOptions {
  /** Download and verify every blob, not only the one Istio reads (default true). */
  verifyAll?: boolean;
}

/** Downloads what Istio would read, verifies digests and sizes, and applies Istio's rules. */
export async function checkImage(client: RegistryClient, image: ResolvedImage, options: CheckOptions = {}): Promise<{ verdict: IstioVerdict; blobs: BlobCheck[] }> {
  const repo = image.reference.repository;
  const { candidates, reasons } = istioCandidates(image.manifest, image.mediaType);
  const blobs: BlobCheck[] = [
    { role: "config", index: 0, descriptor: image.manifest.config, verified: false },
    ...image.manifest.layers.map((d, i) => ({ role: "layer" as const, index: i, descriptor: d, verified: false })),
  ];
  const cache = new Map<string, Uint8Array>();
  const fetchBlob = async (check: BlobCheck): Promise<Uint8Array> => {
    const d = check.descriptor;
    const have = cache.get(d.digest);
    if (have) {
      check.verified = true;
      return have;
    }
    try {
      const data = await client.getBlob(repo, d.digest, d.size, MAX_MODULE_BYTES + 16 * 1024 * 1024);
      cache.set(d.digest, data);
      check.verified = true;
      return data;
    } catch (err) {
      check.error = (err as Error).message;
      throw err;
    }
  };
  const verdict: IstioVerdict = { accepted: false, reasons: [...reasons] };
  for (const c of candidates) {
    const check = blobs.find((b) => b.role === "layer" && b.index === c.layerIndex)!;
    const data = await fetchBlob(check);
    let module: Uint8Array;
    try {
      module = extractModule(c.format, data);
    } catch (err) {
      if (!(err instanceof IstioRejection)) throw err;
      verdict.reasons.push(`${c.format}: ${err.message}`);
      continue;
    }
    verdict.format = c.format;
    verdict.layerIndex = c.layerIndex;
    const problem = moduleProblem(module);
    if (problem) {
      verdict.reasons.push(`${c.format}: ${problem}`);
    } else {
      verdict.accepted = true;
      verdict.module = module;
      verdict.moduleDigest = sha256Digest(module);
    }
    break; // Istio uses the first rule whose layer yields a file
  }
  // Report in the order Istio applies its rules.
  const order = ["docker:", "compat:", "oci:"];
  const rank = (r: string) => order.findIndex((p) => r.startsWith(p));
  verdict.reasons.sort((a, b) => rank(a) - rank(b));
  if (options.verifyAll !== false) {
    for (const b of blobs) if (!b.verified && !b.error) await fetchBlob(b);
  }
  return { verdict, blobs };
}
