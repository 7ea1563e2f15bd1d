// Builds the sandbox's images from Debian packages on this machine (no registry): busybox
// (busybox-static), nginx (nginx-light's and curl's binaries with the libraries ldd lists), pause, hello-app and agnhost
// (small static C programs in images/, compiled with gcc -static). Each becomes an OCI
// image-layout tarball with one uncompressed layer (oci.ts), cached under a key made of the Debian
// package versions and a hash of the sources, so a second build reads the cache.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { withSafeWgetTimeout } from "./busybox-patch.ts";
import { catalogImage, IMAGE_CATALOG, type ImageName } from "./catalog.ts";
import { type ImageRuntimeConfig, ociArchitecture, ociArchive } from "./oci.ts";
import { busyboxApplets, Rootfs, sharedLibraries } from "./rootfs.ts";

const run = promisify(execFile);

/** Bump when the layout of built images changes in a way the source hash would not catch. */
const BUILDER_VERSION = 1;

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root (images/ holds the C sources). */
export const REPO_ROOT = resolve(HERE, "../../..");

const BUSYBOX = "/bin/busybox";
const NGINX = "/usr/sbin/nginx";
/** In the nginx image, as in the official one: a client that speaks today's TLS (busybox's does not). */
const CURL = "/usr/bin/curl";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface BuiltImage {
  name: ImageName;
  /** Canonical reference (catalog.ts) the tarball's index names. */
  ref: string;
  /** The OCI image-layout tarball. */
  tarball: string;
  manifestDigest: string;
  configDigest: string;
  /** Bytes of the tarball. */
  size: number;
  /** True when the tarball came from the cache. */
  cached: boolean;
  /** Time spent on this image (cache lookup or build). */
  millis: number;
}

export interface BuildOptions {
  /** Where tarballs are cached; default $XDG_CACHE_HOME/raven/images (or ~/.cache/raven/images). */
  cacheDir?: string;
  /** Build only these (default: every image in the catalog). */
  only?: ImageName[];
}

export function defaultImageCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "raven", "images");
}

interface Recipe {
  /** Debian packages whose versions go into the cache key. */
  packages: string[];
  /** C sources (repo-relative) whose content goes into the cache key. */
  sources: string[];
  /** Host files copied into the image (their size and mtime go into the key too). */
  hostFiles(): Promise<string[]>;
  build(work: string): Promise<{ rootfs: Rootfs; config: ImageRuntimeConfig }>;
}

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "daemon:x:1:1:daemon:/usr/sbin:/bin/false",
  "bin:x:2:2:bin:/bin:/bin/false",
  "sys:x:3:3:sys:/dev:/bin/false",
  "www-data:x:33:33:www-data:/var/www:/bin/false",
  "nobody:x:65534:65534:nobody:/home:/bin/false",
];
const GROUP = ["root:x:0:", "daemon:x:1:", "bin:x:2:", "sys:x:3:", "www-data:x:33:", "nogroup:x:65534:"];

/**
 * busybox-static's binary with a symlink per applet both where busybox installs it (as in Alpine,
 * which hello-app's seed relies on: `kubectl exec ... -- /usr/bin/killall hello-app`) and in /bin
 * (as in the busybox image, where every applet is in /bin); plus the usual top-level dirs.
 */
async function busyboxBase(extraUsers: string[] = [], extraGroups: string[] = []): Promise<Rootfs> {
  const fs = new Rootfs();
  fs.file("bin/busybox", withSafeWgetTimeout(await readFile(BUSYBOX)), 0o755);
  for (const path of await busyboxApplets(BUSYBOX)) {
    const inBin = `bin/${path.slice(path.lastIndexOf("/") + 1)}`;
    for (const p of [path, inBin]) if (!fs.has(p)) fs.symlink(p, "/bin/busybox");
  }
  fs.dir("tmp", 0o1777).dir("root", 0o700).dir("home").dir("var/www").dir("dev").dir("proc").dir("sys");
  fs.dir("usr/bin").dir("usr/sbin").dir("usr/local/bin").dir("sbin").dir("run").symlink("var/run", "../run");
  fs.file("etc/passwd", [...PASSWD, ...extraUsers].join("\n") + "\n");
  fs.file("etc/group", [...GROUP, ...extraGroups].join("\n") + "\n");
  return fs;
}

async function compileStatic(source: string, out: string): Promise<Buffer> {
  try {
    await run("gcc", ["-static", "-O2", "-Wall", "-o", out, join(REPO_ROOT, source)]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`gcc -static ${source} failed: ${e.stderr || e.message}`);
  }
  return readFile(out);
}

// Copies of the official nginx image's configuration (nginx:1.2x, /etc/nginx), minus the IPv6
// listener (pods here may have no IPv6) and with Debian's paths.
const NGINX_CONF = `user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
`;
const NGINX_DEFAULT_SITE = `server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
`;
const NGINX_50X = `<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
</body>
</html>
`;

const RECIPES: Record<ImageName, Recipe> = {
  busybox: {
    packages: ["busybox-static"],
    sources: [],
    hostFiles: async () => [BUSYBOX],
    build: async () => ({
      rootfs: await busyboxBase(),
      config: { Env: [PATH_ENV], Cmd: ["sh"], WorkingDir: "/" },
    }),
  },

  pause: {
    packages: ["gcc", "libc6-dev"],
    sources: ["images/pause/pause.c"],
    hostFiles: async () => [],
    build: async (work) => {
      const fs = new Rootfs().file(
        "pause",
        await compileStatic("images/pause/pause.c", join(work, "pause")),
        0o755,
      );
      return { rootfs: fs, config: { Env: [PATH_ENV], Entrypoint: ["/pause"], WorkingDir: "/" } };
    },
  },

  "hello-app": {
    packages: ["gcc", "libc6-dev", "busybox-static"],
    sources: ["images/hello-app/hello-app.c"],
    hostFiles: async () => [BUSYBOX],
    build: async (work) => {
      const fs = await busyboxBase();
      fs.file(
        "hello-app",
        await compileStatic("images/hello-app/hello-app.c", join(work, "hello-app")),
        0o755,
      );
      // on PATH as well, so `hello-app` works as a command in kubectl exec or a pod's command
      fs.symlink("usr/local/bin/hello-app", "/hello-app");
      return {
        rootfs: fs,
        config: {
          Env: [PATH_ENV, "PORT=8080"],
          Cmd: ["/hello-app"],
          WorkingDir: "/",
          ExposedPorts: { "8080/tcp": {} },
        },
      };
    },
  },

  // Kubernetes' e2e test image, with the two subcommands network-policy tests use.
  agnhost: {
    packages: ["gcc", "libc6-dev", "busybox-static"],
    sources: ["images/agnhost/agnhost.c"],
    hostFiles: async () => [BUSYBOX],
    build: async (work) => {
      const fs = await busyboxBase();
      fs.file("agnhost", await compileStatic("images/agnhost/agnhost.c", join(work, "agnhost")), 0o755);
      fs.symlink("usr/local/bin/agnhost", "/agnhost");
      return { rootfs: fs, config: { Env: [PATH_ENV], Entrypoint: ["/agnhost"], WorkingDir: "/" } };
    },
  },

  nginx: {
    packages: [
      "busybox-static",
      "nginx-light",
      "nginx-common",
      "libc6",
      "libssl3",
      "libpcre2-8-0",
      "zlib1g",
      "libcrypt1",
      "curl",
      "libcurl4",
    ],
    sources: [],
    hostFiles: async () => [
      BUSYBOX,
      NGINX,
      ...(await sharedLibraries(NGINX)),
      CURL,
      ...(await sharedLibraries(CURL)),
      "/etc/nginx/mime.types",
      "/usr/share/nginx/html/index.html",
    ],
    build: async () => {
      const fs = await busyboxBase(["nginx:x:101:101:nginx user:/nonexistent:/bin/false"], ["nginx:x:101:"]);
      await fs.copy(NGINX);
      // the loader and libraries at the paths ldd resolved them to (the loader's default search dirs)
      for (const lib of await sharedLibraries(NGINX)) await fs.copy(lib);
      await fs.copy(CURL);
      for (const lib of await sharedLibraries(CURL)) if (!fs.has(lib)) await fs.copy(lib);
      await fs.copy("/etc/nginx/mime.types");
      await fs.copy("/usr/share/nginx/html/index.html");
      fs.file("usr/share/nginx/html/50x.html", NGINX_50X);
      fs.file("etc/nginx/nginx.conf", NGINX_CONF);
      fs.file("etc/nginx/conf.d/default.conf", NGINX_DEFAULT_SITE);
      // like the official image: logs go to the container's stdout/stderr
      fs.symlink("var/log/nginx/access.log", "/dev/stdout").symlink("var/log/nginx/error.log", "/dev/stderr");
      fs.dir("var/lib/nginx").dir("var/cache/nginx");
      return {
        rootfs: fs,
        config: {
          Env: [PATH_ENV, "NGINX_VERSION=1.22.1"],
          Cmd: ["nginx", "-g", "daemon off;"],
          WorkingDir: "/",
          ExposedPorts: { "80/tcp": {} },
          StopSignal: "SIGQUIT",
        },
      };
    },
  },
};

/** Installed versions of Debian packages; a clear error names any that is missing. */
async function packageVersions(packages: string[]): Promise<Record<string, string>> {
  const unique = [...new Set(packages)].sort();
  const { stdout } = await run("dpkg-query", [
    "-W",
    // dpkg-query's own ${field} syntax, not a JS template
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format
    "-f=${Package} ${db:Status-Abbrev} ${Version}\\n",
    ...unique,
  ]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  const versions: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const [pkg, status, version] = line.trim().split(/\s+/);
    if (pkg && status === "ii" && version) versions[pkg] = version;
  }
  const missing = unique.filter((p) => !versions[p]);
  if (missing.length) {
    throw new Error(
      `building the sandbox images needs Debian packages ${missing.join(", ")}: run scripts/setup.sh`,
    );
  }
  return versions;
}

/** The cache key: builder sources, C sources, package versions, host file sizes and mtimes. */
async function cacheKey(name: ImageName, recipe: Recipe, versions: Record<string, string>): Promise<string> {
  const h = createHash("sha256");
  h.update(JSON.stringify({ BUILDER_VERSION, name, ref: catalogImage(name).ref, arch: ociArchitecture() }));
  for (const p of recipe.packages) h.update(`${p}=${versions[p]}\n`);
  const builderFiles = ["build.ts", "busybox-patch.ts", "rootfs.ts", "oci.ts", "tar.ts"].map((f) =>
    join(HERE, f),
  );
  for (const f of [...builderFiles, ...recipe.sources.map((s) => join(REPO_ROOT, s))]) {
    h.update(`${f}\n`).update(await readFile(f));
  }
  for (const f of await recipe.hostFiles()) {
    const st = await stat(f);
    h.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  return h.digest("hex").slice(0, 20);
}

interface CacheRecord {
  ref: string;
  manifestDigest: string;
  configDigest: string;
  size: number;
}

async function readCache(tarball: string): Promise<CacheRecord | undefined> {
  try {
    const rec = JSON.parse(await readFile(`${tarball}.json`, "utf8")) as CacheRecord;
    const st = await stat(tarball);
    return st.size === rec.size ? rec : undefined;
  } catch {
    return undefined;
  }
}

/** Removes this image's older cache entries (a day old: a concurrent sandbox may still use one). */
async function pruneCache(cacheDir: string, name: ImageName, keep: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const f of await readdir(cacheDir)) {
    if (!f.startsWith(`${name}-`) || f.startsWith(keep)) continue;
    const p = join(cacheDir, f);
    const st = await stat(p).catch(() => undefined);
    if (st && st.mtimeMs < dayAgo) await rm(p, { force: true });
  }
}

async function buildOne(
  name: ImageName,
  cacheDir: string,
  versions: Record<string, string>,
  work: string,
): Promise<BuiltImage> {
  const t0 = performance.now();
  const recipe = RECIPES[name];
  const { ref } = catalogImage(name);
  const base = `${name}-${await cacheKey(name, recipe, versions)}`;
  const tarball = join(cacheDir, `${base}.tar`);
  const hit = await readCache(tarball);
  if (hit) return { name, tarball, ...hit, ref, cached: true, millis: performance.now() - t0 };

  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  const { rootfs, config } = await recipe.build(dir);
  const oci = ociArchive(ref, rootfs.tar(), config);
  const record: CacheRecord = {
    ref,
    manifestDigest: oci.manifestDigest,
    configDigest: oci.configDigest,
    size: oci.archive.length,
  };
  // write-then-rename: a concurrent builder or reader never sees half a tarball
  const tmp = `${tarball}.${process.pid}.tmp`;
  await writeFile(tmp, oci.archive);
  await writeFile(`${tmp}.json`, JSON.stringify(record));
  await rename(tmp, tarball);
  await rename(`${tmp}.json`, `${tarball}.json`);
  await pruneCache(cacheDir, name, base);
  return { name, tarball, ...record, cached: false, millis: performance.now() - t0 };
}

/** Builds (or finds in the cache) the sandbox's images, in catalog order. */
export async function buildImages(opts: BuildOptions = {}): Promise<BuiltImage[]> {
  const cacheDir = opts.cacheDir ?? defaultImageCacheDir();
  const names = opts.only ?? IMAGE_CATALOG.map((i) => i.name);
  for (const n of names) if (!RECIPES[n]) throw new Error(`unknown image ${n}`);
  await mkdir(cacheDir, { recursive: true });
  const versions = await packageVersions(names.flatMap((n) => RECIPES[n].packages));
  const work = await mkdtemp(join(tmpdir(), "raven-images-"));
  try {
    return await Promise.all(names.map((n) => buildOne(n, cacheDir, versions, work)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
