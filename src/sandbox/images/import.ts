// Imports the built image tarballs into a node's containerd, namespace k8s.io (where the CRI
// plugin looks), with `ctr images import` (unpacked to the default snapshotter, so the first pod
// does not pay for it). Images already present with the same manifest digest are skipped, so a
// restarted node does not re-import.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export const CRI_NAMESPACE = "k8s.io";

export interface ImageTarball {
  /** The reference the tarball's index names (io.containerd.image.name). */
  ref: string;
  manifestDigest: string;
  tarball: string;
}

export interface ImportResult {
  imported: string[];
  skipped: string[];
  millis: number;
}

async function ctr(socket: string, namespace: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run("ctr", ["-a", socket, "-n", namespace, ...args], { maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ctr -a ${socket} -n ${namespace} ${args.join(" ")}: ${(e.stderr || e.message).trim()}`);
  }
}

/** The images in a containerd namespace: reference -> manifest (target) digest. */
export async function listImages(socket: string, namespace = CRI_NAMESPACE): Promise<Map<string, string>> {
  const out = await ctr(socket, namespace, ["images", "ls"]);
  const images = new Map<string, string>();
  // columns: REF TYPE DIGEST SIZE PLATFORMS LABELS (SIZE has a space, so only the first three are split)
  for (const line of out.split("\n").slice(1)) {
    const [ref, , digest] = line.trim().split(/\s+/);
    if (ref && digest?.startsWith("sha256:")) images.set(ref, digest);
  }
  return images;
}

export async function importImages(
  containerdSocket: string,
  tarballs: ImageTarball[],
  namespace = CRI_NAMESPACE,
): Promise<ImportResult> {
  const t0 = performance.now();
  const present = await listImages(containerdSocket, namespace);
  const todo = tarballs.filter((t) => present.get(t.ref) !== t.manifestDigest);
  // one at a time: parallel imports contend inside containerd and took 2-3x longer here
  for (const t of todo) {
    await ctr(containerdSocket, namespace, ["images", "import", "--no-unpack=false", t.tarball]);
  }
  const after = await listImages(containerdSocket, namespace);
  const wrong = todo.filter((t) => after.get(t.ref) !== t.manifestDigest);
  if (wrong.length) {
    throw new Error(
      `after import, containerd does not have ${wrong.map((t) => `${t.ref}@${t.manifestDigest}`).join(", ")}`,
    );
  }
  return {
    imported: todo.map((t) => t.ref),
    skipped: tarballs.filter((t) => !todo.includes(t)).map((t) => t.ref),
    millis: performance.now() - t0,
  };
}
