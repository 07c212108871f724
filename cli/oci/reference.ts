// Image references, parsed with go-containerregistry's rules (what Istio's fetcher uses), so a
// reference means the same thing to `pwasm` and to the proxy that pulls it:
// `oci://host[:port]/repo[:tag][@sha256:<hex>]`, the `oci://` scheme optional, no registry ⇒
// Docker Hub (`library/` for one-component names), no tag and no digest ⇒ `latest`.
import { isIP } from "node:net";
import { UserError } from "../errors.js";

/** A parsed image reference. */
export interface ImageReference {
  /** Registry as written (`docker.io` for Docker Hub), with the port if any. */
  registry: string;
  /** Host:port the distribution API is spoken to (`registry-1.docker.io` for Docker Hub). */
  apiHost: string;
  /** Repository path, e.g. `team/plugins/add-header`. */
  repository: string;
  /** Tag, if the reference has one (or `latest` when it has neither tag nor digest). */
  tag?: string;
  /** `sha256:<hex>`, if the reference pins a digest. */
  digest?: string;
}

const DOCKER_HUB = "docker.io";
const DOCKER_HUB_API = "registry-1.docker.io";
// distribution/reference grammar: lower-case components joined by '.', '_', '__' or dashes.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses `oci://host[:port]/repo[:tag][@digest]` (scheme optional). Throws UserError. */
export function parseReference(input: string): ImageReference {
  let rest = input.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    if (!rest.toLowerCase().startsWith("oci://")) throw new UserError(`not an OCI reference: ${input} (expected oci://host/repo:tag)`);
    rest = rest.slice("oci://".length);
  }
  if (!rest) throw new UserError("empty image reference");
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new UserError(`bad digest in ${input}: expected sha256: and 64 lower-case hex digits`);
  }
  // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new UserError(`bad tag '${tag}' in ${input}: letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'`);
  }
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  const first = parts[0]!;
  // Docker's rule: the first component names a registry when it has a '.' or ':' or is localhost.
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))) {
    registry = first;
    parts.shift();
  }
  if (registry === "index.docker.io") registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (!repository || !parts.every((p) => COMPONENT.test(p))) {
    throw new UserError(`bad repository '${repository}' in ${input}: lower-case letters, digits and separators (. _ -), components joined by '/'`);
  }
  if (!tag && !digest) tag = "latest";
  return { registry, apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API : registry, repository, tag, digest };
}

/** The reference as `host/repo[:tag][@digest]` (no scheme). */
export function formatReference(ref: ImageReference, options: { digest?: string; tag?: boolean } = {}): string {
  const digest = options.digest ?? ref.digest;
  const tag = options.tag === false ? undefined : ref.tag;
  return `${ref.registry}/${ref.repository}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
}

/** The tag, or the digest, a manifest is addressed by. */
export function manifestRef(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** Host part of `host[:port]` (brackets of IPv6 literals removed). */
export function hostOf(registry: string): string {
  if (registry.startsWith("[")) return registry.slice(1, registry.indexOf("]"));
  const i = registry.lastIndexOf(":");
  return i >= 0 ? registry.slice(0, i) : registry;
}

/** True for localhost and loopback addresses, where plain HTTP is allowed without --insecure. */
export function isLoopback(registry: string): boolean {
  const host = hostOf(registry).toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1";
  return false;
}
