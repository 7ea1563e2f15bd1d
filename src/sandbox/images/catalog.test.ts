import assert from "node:assert/strict";
import { test } from "node:test";
import {
  catalogImage,
  IMAGE_CATALOG,
  InvalidImageReferenceError,
  normalizeImageRef,
  resolveImage,
} from "./catalog.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

test("normalizeImageRef follows Docker's normalization", () => {
  const cases: Array<[string, string, string, string | undefined]> = [
    ["nginx", "docker.io/library/nginx", "docker.io/library/nginx:latest", "latest"],
    ["busybox:1.28", "docker.io/library/busybox", "docker.io/library/busybox:1.28", "1.28"],
    ["library/busybox", "docker.io/library/busybox", "docker.io/library/busybox:latest", "latest"],
    ["index.docker.io/library/nginx:1.25", "docker.io/library/nginx", "docker.io/library/nginx:1.25", "1.25"],
    ["bitnami/nginx", "docker.io/bitnami/nginx", "docker.io/bitnami/nginx:latest", "latest"],
    [
      "gcr.io/google-samples/hello-app:1.0",
      "gcr.io/google-samples/hello-app",
      "gcr.io/google-samples/hello-app:1.0",
      "1.0",
    ],
    ["localhost:5000/app", "localhost:5000/app", "localhost:5000/app:latest", "latest"],
    ["localhost/app:v1", "localhost/app", "localhost/app:v1", "v1"],
    [`nginx@${DIGEST}`, "docker.io/library/nginx", `docker.io/library/nginx@${DIGEST}`, undefined],
    [`nginx:1.25@${DIGEST}`, "docker.io/library/nginx", `docker.io/library/nginx:1.25@${DIGEST}`, "1.25"],
  ];
  for (const [input, repository, ref, tag] of cases) {
    const n = normalizeImageRef(input);
    assert.equal(n.repository, repository, input);
    assert.equal(n.ref, ref, input);
    assert.equal(n.tag, tag, input);
  }
  assert.equal(normalizeImageRef(`nginx@${DIGEST}`).digest, DIGEST);
});

test("normalizeImageRef rejects malformed references with Docker's message", () => {
  for (const bad of [
    "",
    "Nginx",
    "nginx:",
    "nginx:bad/tag",
    "-nginx",
    "nginx@sha256:1234",
    "nginx@sha256:" + "z".repeat(64),
    "a//b",
    "docker.io/library/UPPER",
    "nginx:" + "x".repeat(129),
  ]) {
    assert.throws(() => normalizeImageRef(bad), InvalidImageReferenceError, JSON.stringify(bad));
  }
  assert.throws(
    () => normalizeImageRef("Nginx"),
    /invalid reference format: repository name must be lowercase/,
  );
});

test("resolveImage matches by repository whatever the tag or digest", () => {
  assert.equal(resolveImage("busybox"), "docker.io/library/busybox:latest");
  assert.equal(resolveImage("busybox:1.28"), "docker.io/library/busybox:latest");
  assert.equal(resolveImage("docker.io/library/busybox:1.36.1"), "docker.io/library/busybox:latest");
  assert.equal(resolveImage(`busybox@${DIGEST}`), "docker.io/library/busybox:latest");
  assert.equal(resolveImage("nginx"), "docker.io/library/nginx:latest");
  assert.equal(resolveImage("nginx:1.14.2"), "docker.io/library/nginx:latest");
  assert.equal(resolveImage("docker.io/library/nginx:latest"), "docker.io/library/nginx:latest");
  assert.equal(resolveImage("gcr.io/google-samples/hello-app:1.0"), "gcr.io/google-samples/hello-app:1.0");
  assert.equal(resolveImage("gcr.io/google-samples/hello-app:2.0"), "gcr.io/google-samples/hello-app:1.0");
  assert.equal(
    resolveImage("us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0"),
    "gcr.io/google-samples/hello-app:1.0",
  );
  assert.equal(resolveImage("registry.k8s.io/pause:3.9"), "registry.k8s.io/pause:3.9");
  assert.equal(resolveImage("k8s.gcr.io/pause:3.2"), "registry.k8s.io/pause:3.9");
});

test("resolveImage: unknown repositories are undefined, malformed ones throw", () => {
  for (const unknown of [
    "redis",
    "alpine:3.19",
    "bitnami/nginx",
    "gcr.io/other/hello-app:1.0",
    "quay.io/busybox",
  ]) {
    assert.equal(resolveImage(unknown), undefined, unknown);
  }
  assert.throws(() => resolveImage("NGINX"), InvalidImageReferenceError);
});

test("every catalog image's ref is canonical and resolves to itself", () => {
  for (const image of IMAGE_CATALOG) {
    assert.equal(normalizeImageRef(image.ref).ref, image.ref);
    assert.equal(resolveImage(image.ref), image.ref);
    assert.equal(catalogImage(image.name), image);
    for (const repo of image.repositories) assert.equal(normalizeImageRef(repo).repository, repo);
  }
  assert.throws(() => catalogImage("redis" as never), /no image named redis/);
});
