// Pushing an artifact: every blob first (HEAD, mount or upload), the manifest last, so a tag
// never points at content the registry does not have in full.
import type { Artifact, Blob } from "./artifact.js";
import { RegistryClient, type UploadOutcome } from "./client.js";
import { UserError } from "../errors.js";
import { formatReference, type ImageReference } from "./reference.js";

/** Options of one push. */
export interface PushOptions {
  /** PATCH chunk size for blobs larger than this (default: monolithic up to 64 MiB, then 16 MiB chunks). */
  chunkSize?: number;
  /** Repository on the same registry to mount blobs from. */
  mountFrom?: string;
  /** Progress of each blob upload. */
  onProgress?: (blob: Blob, done: number, total: number) => void;
  /** Each blob's outcome as it completes. */
  onBlob?: (blob: Blob, outcome: UploadOutcome) => void;
}

/** What a push did. */
export interface PushResult {
  /** `host/repo:tag` (no scheme). */
  reference: string;
  /** Manifest digest (`sha256:<hex>`): WasmPlugin.sha256 for oci:// URLs (as hex). */
  digest: string;
  blobs: Array<{ role: string; digest: string; size: number; outcome: UploadOutcome }>;
}

const AUTO_CHUNK_THRESHOLD = 64 * 1024 * 1024;
const AUTO_CHUNK_SIZE = 16 * 1024 * 1024;

/** Pushes the artifact's blobs, then its manifest under the reference's tag (or digest). */
export async function pushArtifact(client: RegistryClient, ref: ImageReference, artifact: Artifact, options: PushOptions = {}): Promise<PushResult> {
  if (ref.digest && ref.digest !== artifact.manifestDigest) {
    throw new UserError(`${formatReference(ref)} pins ${ref.digest}, but this artifact's manifest digest is ${artifact.manifestDigest}`);
  }
  const repo = ref.repository;
  const blobs: PushResult["blobs"] = [];
  const seen = new Set<string>();
  for (const blob of artifact.blobs) {
    if (seen.has(blob.descriptor.digest)) continue;
    seen.add(blob.descriptor.digest);
    const chunkSize = options.chunkSize ?? (blob.data.length > AUTO_CHUNK_THRESHOLD ? AUTO_CHUNK_SIZE : undefined);
    const outcome = await client.pushBlob(repo, blob.descriptor.digest, blob.data, {
      chunkSize,
      mountFrom: options.mountFrom && options.mountFrom !== repo ? options.mountFrom : undefined,
      onProgress: options.onProgress && ((done, total) => options.onProgress!(blob, done, total)),
    });
    options.onBlob?.(blob, outcome);
    blobs.push({ role: blob.role, digest: blob.descriptor.digest, size: blob.data.length, outcome });
  }
  // Last: only now can the tag point at complete content.
  const digest = await client.putManifest(repo, ref.tag ?? artifact.manifestDigest, artifact.manifestBytes, artifact.manifest.mediaType!);
  return { reference: formatReference(ref), digest, blobs };
}
