// Media types and annotation keys of the OCI image spec, Docker's registry formats and the Wasm
// module formats Istio's and Envoy Gateway's image fetchers understand.

/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index (multi-platform). */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI layer: tar + gzip (the only OCI layer type Istio's compat rule accepts). */
export const OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** OCI layer: uncompressed tar (oras' default; refused by Istio). */
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
/** OCI 1.1 empty descriptor (`{}`). */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** The withdrawn OCI 1.1-rc artifact manifest: not an image manifest, refused by Istio. */
export const OCI_ARTIFACT_MANIFEST = "application/vnd.oci.artifact.manifest.v1+json";

/** Docker image manifest v2 schema 2. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list (multi-platform). */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker layer (tar + gzip). */
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** solo-io "oci" variant: runtime config (manifest config and first layer). */
export const WASM_CONFIG = "application/vnd.module.wasm.config.v1+json";
/** solo-io "oci" variant: the raw module layer. */
export const WASM_CONTENT_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm";

/** Every manifest type a pull asks for, most specific first. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST].join(", ");

/** Annotation keys we write. */
export const ANNOTATION = {
  title: "org.opencontainers.image.title",
  created: "org.opencontainers.image.created",
  source: "org.opencontainers.image.source",
  version: "org.opencontainers.image.version",
  description: "org.opencontainers.image.description",
  /** solo-io compat spec: `compat` or `oci`. */
  variant: "module.wasm.image/variant",
} as const;

/** The name Istio's fetcher looks for inside a compat layer's tar. */
export const PLUGIN_FILE = "plugin.wasm";
