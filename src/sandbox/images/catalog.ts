// The sandbox's images and how a pod's image reference finds one. There is no registry: every
// image is built locally (build.ts) and imported under one canonical reference; a reference
// resolves by repository name, whatever its tag or digest (`busybox:1.28` runs our busybox).

export type ImageName = "busybox" | "nginx" | "hello-app" | "agnhost" | "pause";

export interface CatalogImage {
  name: ImageName;
  /** The reference the image is imported under in containerd. */
  ref: string;
  /** Normalized repositories (no tag) that resolve to this image. */
  repositories: string[];
}

export const IMAGE_CATALOG: readonly CatalogImage[] = [
  { name: "busybox", ref: "docker.io/library/busybox:latest", repositories: ["docker.io/library/busybox"] },
  { name: "nginx", ref: "docker.io/library/nginx:latest", repositories: ["docker.io/library/nginx"] },
  {
    name: "hello-app",
    ref: "gcr.io/google-samples/hello-app:1.0",
    repositories: [
      "gcr.io/google-samples/hello-app",
      // where Google's newer docs point for the same image
      "us-docker.pkg.dev/google-samples/containers/gke/hello-app",
    ],
  },
  {
    name: "agnhost",
    ref: "registry.k8s.io/e2e-test-images/agnhost:2.47",
    repositories: ["registry.k8s.io/e2e-test-images/agnhost", "k8s.gcr.io/e2e-test-images/agnhost"],
  },
  {
    name: "pause",
    ref: "registry.k8s.io/pause:3.9",
    repositories: ["registry.k8s.io/pause", "k8s.gcr.io/pause"],
  },
];

/** The pod sandbox image (containerd's CRI `sandbox_image`). */
export const SANDBOX_IMAGE = "registry.k8s.io/pause:3.9";

export function catalogImage(name: ImageName): CatalogImage {
  const image = IMAGE_CATALOG.find((i) => i.name === name);
  if (!image) throw new Error(`no image named ${name} in the catalog`);
  return image;
}

export class InvalidImageReferenceError extends Error {
  constructor(ref: string, why: string) {
    super(`couldn't parse image reference "${ref}": invalid reference format: ${why}`);
    this.name = "InvalidImageReferenceError";
  }
}

export interface ImageReference {
  /** e.g. docker.io/library/busybox */
  repository: string;
  tag?: string;
  digest?: string;
  /** Canonical form: repository[:tag][@digest], with tag latest when neither was given. */
  ref: string;
}

// The grammar of github.com/distribution/reference.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** Normalizes like Docker: `nginx` -> docker.io/library/nginx:latest. Throws InvalidImageReferenceError. */
export function normalizeImageRef(input: string): ImageReference {
  const ref = input.trim();
  if (ref === "") throw new InvalidImageReferenceError(input, "empty reference");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidImageReferenceError(input, `bad digest "${digest}"`);
    if (/^sha256:/.test(digest) && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw new InvalidImageReferenceError(input, `bad sha256 digest "${digest}"`);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidImageReferenceError(input, `bad tag "${tag}"`);
  }
  let domain = "docker.io";
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first) {
      domain = first === "index.docker.io" ? "docker.io" : first;
      path = rest.slice(slash + 1);
      if (!DOMAIN.test(domain)) throw new InvalidImageReferenceError(input, `bad registry "${domain}"`);
    }
  }
  if (domain === "docker.io" && !path.includes("/")) path = `library/${path}`;
  if (path.toLowerCase() !== path)
    throw new InvalidImageReferenceError(input, "repository name must be lowercase");
  for (const c of path.split("/")) {
    if (!PATH_COMPONENT.test(c))
      throw new InvalidImageReferenceError(input, `bad repository component "${c}"`);
  }
  const repository = `${domain}/${path}`;
  if (repository.length > 255) throw new InvalidImageReferenceError(input, "repository name too long");
  if (!tag && !digest) tag = "latest";
  return {
    repository,
    tag,
    digest,
    ref: repository + (tag ? `:${tag}` : "") + (digest ? `@${digest}` : ""),
  };
}

/**
 * The local canonical reference a pod's image reference runs, or undefined when the sandbox has no
 * such image (the kubelet reports ErrImagePull). Throws InvalidImageReferenceError for malformed
 * references (the kubelet's InvalidImageName).
 */
export function resolveImage(ref: string): string | undefined {
  const { repository } = normalizeImageRef(ref);
  return IMAGE_CATALOG.find((i) => i.repositories.includes(repository))?.ref;
}
