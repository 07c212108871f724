// Builds the two OCI layouts pwasm pushes, reproducibly (same module and options ⇒ same bytes ⇒
// same manifest digest):
//  - "compat" (default): OCI image manifest, a valid image config, one tar+gzip layer holding
//    `plugin.wasm` — accepted by Istio, Envoy Gateway and ordinary image tooling.
//  - "oci": the solo-io two-layer Wasm artifact (runtime config, raw module), which Istio and
//    Envoy Gateway accept only with exactly these two layers.
// Manifests are serialized the way Go's encoding/json does (field order, sorted annotation keys,
// HTML-safe escapes), so the same layout pushed through oras gets the same digest.
import { ANNOTATION, OCI_CONFIG, OCI_LAYER_TAR_GZIP, OCI_MANIFEST, PLUGIN_FILE, WASM_CONFIG, WASM_CONTENT_LAYER } from "./media_types.js";
import { sha256Digest } from "./digest.js";
import { gzipReproducible } from "./gzip.js";
import { createTar } from "./tar.js";

/** Which layout to build. */
export type Variant = "compat" | "oci";

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** An OCI image manifest (or Docker v2 manifest, which has the same shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** A blob to upload: its descriptor and bytes. */
export interface Blob {
  descriptor: Descriptor;
  data: Uint8Array;
  /** What the blob is, for progress lines ("config", "layer plugin.wasm", …). */
  role: string;
}

/** A complete artifact: every blob, then the manifest that references them. */
export interface Artifact {
  variant: Variant;
  /** Config first, then layers, in manifest order; the config may also be a layer (oci variant). */
  blobs: Blob[];
  manifest: ImageManifest;
  /** The exact manifest bytes pushed. */
  manifestBytes: Uint8Array;
  manifestDigest: string;
  /** sha256 of the module (what WasmPlugin.sha256 holds for http(s):// URLs). */
  moduleDigest: string;
  moduleSize: number;
}

/** Options shared by both layouts. */
export interface ArtifactOptions {
  variant?: Variant;
  /** Time recorded in `org.opencontainers.image.created` and tar mtimes; default the epoch. */
  created?: Date;
  /** Extra manifest annotations (e.g. org.opencontainers.image.source). */
  annotations?: Record<string, string>;
  /** Root ids the module registers (written to the oci variant's runtime config). */
  rootIds?: string[];
  /** Proxy-Wasm ABI versions the module exports (e.g. ["0.2.1"]). */
  abiVersions?: string[];
}

/** File names oras gives the layers (its `org.opencontainers.image.title`); we write the same. */
export const COMPAT_LAYER_FILE = "plugin.tar.gz";
export const RUNTIME_CONFIG_FILE = "runtime-config.json";

/** The time a build records: SOURCE_DATE_EPOCH when set (reproducible-builds.org), else the epoch. */
export function defaultCreated(env: NodeJS.ProcessEnv = process.env): Date {
  const s = env.SOURCE_DATE_EPOCH;
  if (s && /^\d+$/.test(s)) return new Date(Number(s) * 1000);
  return new Date(0);
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, "Z");
}

/** JSON as Go's encoding/json writes it: map keys sorted, `<`, `>`, `&`, U+2028/9 escaped. */
export function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(sorted(value)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

// Struct field order of image-spec's Go types (what oras writes), maps sorted by goJson.
function descriptorJson(d: Descriptor): string {
  const parts = [`"mediaType":${JSON.stringify(d.mediaType)}`, `"digest":${JSON.stringify(d.digest)}`, `"size":${d.size}`];
  if (d.annotations && Object.keys(d.annotations).length) parts.push(`"annotations":${goJson(d.annotations)}`);
  return `{${parts.join(",")}}`;
}

/** Serializes a manifest in image-spec field order (schemaVersion, mediaType, artifactType, config, layers, annotations). */
export function serializeManifest(m: ImageManifest): Uint8Array {
  const parts = [`"schemaVersion":2`];
  if (m.mediaType) parts.push(`"mediaType":${JSON.stringify(m.mediaType)}`);
  if (m.artifactType) parts.push(`"artifactType":${JSON.stringify(m.artifactType)}`);
  parts.push(`"config":${descriptorJson(m.config)}`);
  parts.push(`"layers":[${m.layers.map(descriptorJson).join(",")}]`);
  if (m.annotations && Object.keys(m.annotations).length) parts.push(`"annotations":${goJson(m.annotations)}`);
  return new TextEncoder().encode(`{${parts.join(",")}}`);
}

function blob(mediaType: string, data: Uint8Array, role: string, annotations?: Record<string, string>): Blob {
  return { descriptor: { mediaType, digest: sha256Digest(data), size: data.length, ...(annotations ? { annotations } : {}) }, data, role };
}

/** The compat layer (tar+gzip holding plugin.wasm) and its uncompressed tar digest. */
export function compatLayer(module: Uint8Array, created: Date): { gz: Uint8Array; diffId: string } {
  const tar = createTar({ name: PLUGIN_FILE, data: module, mtime: Math.floor(created.getTime() / 1000) });
  return { gz: gzipReproducible(tar), diffId: sha256Digest(tar) };
}

/** A minimal valid image config for the compat layer: platform and rootfs.diff_ids. */
export function compatConfig(diffId: string): Uint8Array {
  // linux/amd64 is what `docker build` of a FROM-scratch image records and what Istio picks from an
  // index, so the image behaves like the Dockerfile-built images Istio documents.
  return new TextEncoder().encode(goJson({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [diffId] } }));
}

/** The oci variant's runtime config (solo-io Wasm artifact spec). */
export function runtimeConfig(rootIds: string[], abiVersions: string[]): Uint8Array {
  const cfg: Record<string, unknown> = { type: "envoy_proxy", abiVersions, config: { root_ids: rootIds } };
  return new TextEncoder().encode(goJson(cfg));
}

/** Manifest annotations both layouts carry. */
export function manifestAnnotations(variant: Variant, created: Date, extra: Record<string, string> = {}): Record<string, string> {
  return { [ANNOTATION.created]: rfc3339(created), [ANNOTATION.title]: PLUGIN_FILE, [ANNOTATION.variant]: variant, ...extra };
}

/** Builds the artifact for a module. */
export function buildArtifact(module: Uint8Array, options: ArtifactOptions = {}): Artifact {
  const variant = options.variant ?? "compat";
  const created = options.created ?? defaultCreated();
  const blobs: Blob[] = [];
  let manifest: ImageManifest;
  if (variant === "compat") {
    const { gz, diffId } = compatLayer(module, created);
    const config = blob(OCI_CONFIG, compatConfig(diffId), "config");
    const layer = blob(OCI_LAYER_TAR_GZIP, gz, `layer ${COMPAT_LAYER_FILE}`, { [ANNOTATION.title]: COMPAT_LAYER_FILE });
    blobs.push(config, layer);
    manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [layer.descriptor] };
  } else {
    const cfgBytes = runtimeConfig(options.rootIds ?? [], options.abiVersions ?? []);
    const config = blob(WASM_CONFIG, cfgBytes, "config");
    const cfgLayer = blob(WASM_CONFIG, cfgBytes, `layer ${RUNTIME_CONFIG_FILE}`, { [ANNOTATION.title]: RUNTIME_CONFIG_FILE });
    const wasm = blob(WASM_CONTENT_LAYER, module, `layer ${PLUGIN_FILE}`, { [ANNOTATION.title]: PLUGIN_FILE });
    // The config blob is both the manifest config and layer 1, as wasme pushes it: Istio requires
    // exactly two layers, one of them the module.
    blobs.push(config, wasm);
    manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [cfgLayer.descriptor, wasm.descriptor] };
  }
  manifest.annotations = manifestAnnotations(variant, created, options.annotations);
  const manifestBytes = serializeManifest(manifest);
  return {
    variant,
    blobs,
    manifest,
    manifestBytes,
    manifestDigest: sha256Digest(manifestBytes),
    moduleDigest: sha256Digest(module),
    moduleSize: module.length,
  };
}
