// OCI image-layout archives (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// with one uncompressed layer: what `ctr images import` reads. The index names the image with
// containerd's `io.containerd.image.name` annotation, so the import needs no --base-name.
import { createHash } from "node:crypto";
import { writeTar } from "./tar.ts";

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

/** The runtime part of an image config (field names as in the OCI/Docker config). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  StopSignal?: string;
  Labels?: Record<string, string>;
}

export interface OciArchive {
  archive: Buffer;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
}

export const sha256 = (data: Uint8Array | string): string =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;

export function ociArchitecture(arch: string = process.arch): string {
  const map: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ppc64: "ppc64le",
    s390x: "s390x",
  };
  const a = map[arch];
  if (!a) throw new Error(`no OCI architecture for Node arch ${arch}`);
  return a;
}

/** The tag part of a normalized reference (what org.opencontainers.image.ref.name carries). */
function tagOf(ref: string): string {
  const at = ref.indexOf("@");
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(":");
  if (colon < 0 || colon < name.lastIndexOf("/")) throw new Error(`image reference without a tag: ${ref}`);
  return name.slice(colon + 1);
}

export function ociArchive(ref: string, layer: Buffer, config: ImageRuntimeConfig): OciArchive {
  const layerDigest = sha256(layer);
  const created = "1970-01-01T00:00:00Z";
  const configJson = JSON.stringify({
    created,
    architecture: ociArchitecture(),
    os: "linux",
    config,
    rootfs: { type: "layers", diff_ids: [layerDigest] },
    history: [{ created, created_by: "raven sandbox image builder (src/sandbox/images)" }],
  });
  const configDigest = sha256(configJson);
  const manifestJson = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: configDigest, size: Buffer.byteLength(configJson) },
    layers: [{ mediaType: MEDIA_TYPES.layer, digest: layerDigest, size: layer.length }],
  });
  const manifestDigest = sha256(manifestJson);
  const indexJson = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [
      {
        mediaType: MEDIA_TYPES.manifest,
        digest: manifestDigest,
        size: Buffer.byteLength(manifestJson),
        platform: { architecture: ociArchitecture(), os: "linux" },
        annotations: { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": tagOf(ref) },
      },
    ],
  });
  const blob = (digest: string, data: Uint8Array | string) => ({
    type: "file" as const,
    path: `blobs/sha256/${digest.slice("sha256:".length)}`,
    mode: 0o644,
    data: typeof data === "string" ? Buffer.from(data) : data,
  });
  const archive = writeTar([
    { type: "file", path: "oci-layout", mode: 0o644, data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { type: "file", path: "index.json", mode: 0o644, data: Buffer.from(indexJson) },
    { type: "dir", path: "blobs", mode: 0o755 },
    { type: "dir", path: "blobs/sha256", mode: 0o755 },
    blob(configDigest, configJson),
    blob(manifestDigest, manifestJson),
    blob(layerDigest, layer),
  ]);
  return { archive, manifestDigest, configDigest, layerDigest };
}
