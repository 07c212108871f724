// Istio's rules for Wasm images (istio/istio pkg/wasm/imagefetcher.go; Envoy Gateway ports them):
// which manifest types and layer layouts its fetcher accepts, which layer it reads, and how it
// gets the module out of that layer. pwasm pull and inspect apply exactly these rules, so
// "pwasm says it is accepted" means "Istio's fetcher would load it".
import type { Descriptor, ImageManifest } from "./artifact.js";
import { gunzipBounded, isGzip, isZstd } from "./gzip.js";
import { DOCKER_LAYER, DOCKER_MANIFEST, OCI_ARTIFACT_MANIFEST, OCI_LAYER_TAR_GZIP, PLUGIN_FILE, WASM_CONTENT_LAYER } from "./media_types.js";
import { readTar, TarError } from "./tar.js";

/** The three layouts Istio's fetcher accepts. */
export type IstioFormat = "docker" | "compat" | "oci";

/** Human names of the formats. */
export const FORMAT_NAMES: Record<IstioFormat, string> = {
  docker: "Docker image (last layer tar+gzip with plugin.wasm)",
  compat: "OCI image, compat variant (last layer tar+gzip with plugin.wasm)",
  oci: "OCI Wasm artifact, oci variant (2 layers, raw module layer)",
};

/** Istio's cap on a module (ISTIO_WASM_MAX_BINARY_SIZE_BYTES default). */
export const MAX_MODULE_BYTES = 256 * 1024 * 1024;

/** A layer Istio would read, under one of its rules. */
export interface IstioCandidate {
  format: IstioFormat;
  layerIndex: number;
  layer: Descriptor;
}

/** The layers Istio would try, in its order, and why the other rules do not apply. */
export interface IstioSelection {
  candidates: IstioCandidate[];
  /** One line per rule that does not apply (e.g. "compat: last layer is …"). */
  reasons: string[];
}

/**
 * Applies Istio's manifest-level rules. `mediaType` is the manifest's type (its `mediaType` field,
 * or the Content-Type it was served with).
 */
export function istioCandidates(manifest: ImageManifest, mediaType: string): IstioSelection {
  const layers = manifest.layers ?? [];
  const reasons: string[] = [];
  const candidates: IstioCandidate[] = [];
  if (mediaType === OCI_ARTIFACT_MANIFEST) {
    return { candidates, reasons: [`${OCI_ARTIFACT_MANIFEST} is the withdrawn OCI artifact manifest, not an image manifest`] };
  }
  const last = layers.length - 1;
  if (mediaType === DOCKER_MANIFEST) {
    // A Docker manifest gets the Docker rule only.
    if (layers.length === 0) reasons.push("docker: the manifest has no layers");
    else if (layers[last]!.mediaType !== DOCKER_LAYER) reasons.push(`docker: invalid media type ${layers[last]!.mediaType} of the last layer (expect ${DOCKER_LAYER})`);
    else candidates.push({ format: "docker", layerIndex: last, layer: layers[last]! });
    return { candidates, reasons };
  }
  if (layers.length === 0) reasons.push("compat: the manifest has no layers");
  else if (layers[last]!.mediaType !== OCI_LAYER_TAR_GZIP) reasons.push(`compat: invalid media type ${layers[last]!.mediaType} of the last layer (expect ${OCI_LAYER_TAR_GZIP})`);
  else candidates.push({ format: "compat", layerIndex: last, layer: layers[last]! });
  if (layers.length !== 2) reasons.push(`oci: number of layers must be 2 but got ${layers.length}`);
  else {
    const i = layers.findIndex((l) => l.mediaType === WASM_CONTENT_LAYER);
    if (i < 0) reasons.push(`oci: no layer of type ${WASM_CONTENT_LAYER}`);
    else candidates.push({ format: "oci", layerIndex: i, layer: layers[i]! });
  }
  return { candidates, reasons };
}

/** A layer that does not hold what its rule expects. */
export class IstioRejection extends Error {
  override name = "IstioRejection";
}

/** Gets the module out of a layer the way Istio does for that format. */
export function extractModule(format: IstioFormat, blob: Uint8Array): Uint8Array {
  if (format === "oci") return blob; // the raw module, read without decompression
  if (isZstd(blob)) throw new IstioRejection("failed to parse layer as tar.gz: the layer is zstd-compressed");
  if (!isGzip(blob)) throw new IstioRejection("failed to parse layer as tar.gz: not gzip data");
  let tar: Uint8Array;
  try {
    // Module cap plus room for tar headers.
    tar = gunzipBounded(blob, MAX_MODULE_BYTES + 1024 * 1024);
  } catch (err) {
    throw new IstioRejection(`failed to parse layer as tar.gz: ${(err as Error).message}`);
  }
  try {
    for (const entry of readTar(tar)) {
      const base = entry.name.split("/").pop();
      if (base === PLUGIN_FILE) {
        if (entry.type !== "0") throw new IstioRejection(`${entry.name} in the archive is not a regular file (tar type '${entry.type}')`);
        return entry.data;
      }
    }
  } catch (err) {
    if (err instanceof TarError) throw new IstioRejection(`the layer's tar is malformed: ${err.message}`);
    throw err;
  }
  throw new IstioRejection(`${PLUGIN_FILE} not found in the archive`);
}

/** Istio's checks on the extracted module (isValidWasmBinary and the size cap); undefined when fine. */
export function moduleProblem(module: Uint8Array): string | undefined {
  if (module.length < 8 || module[0] !== 0 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d) {
    return "the extracted file is not a WebAssembly module (no \\0asm magic)";
  }
  if (module.length > MAX_MODULE_BYTES) return `the module is ${module.length} bytes, more than Istio's ${MAX_MODULE_BYTES} limit`;
  return undefined;
}
