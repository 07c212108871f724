// sha256 digests in the `sha256:<hex>` form registries use.
import { createHash } from "node:crypto";

/** `sha256:<hex>` of the bytes. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${sha256Hex(data)}`;
}

/** Lower-case hex sha256 of the bytes. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The hex part of `sha256:<hex>`. */
export function digestHex(digest: string): string {
  return digest.startsWith("sha256:") ? digest.slice(7) : digest;
}
