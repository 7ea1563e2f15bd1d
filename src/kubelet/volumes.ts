// Pod volumes on the node: emptyDir directories, hostPath as is, and configMap, secret,
// downwardAPI and projected volumes written out as files under
// <podsDir>/<uid>/volumes/<name>. A failure is a VolumeError, reported as FailedMount.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { KubeObject } from "../kube/objects.ts";

export class VolumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VolumeError";
  }
}

/** How the kubelet gets the ConfigMaps and Secrets a pod's volumes and env refer to. */
export interface ObjectGetter {
  configMap(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
}

export const podDir = (podsDir: string, uid: string): string => join(podsDir, uid);
export const volumeDir = (podsDir: string, uid: string, name: string): string =>
  join(podsDir, uid, "volumes", name);

interface FileToWrite {
  path: string;
  data: Buffer;
  mode?: number;
}

function keyFiles(
  obj: KubeObject,
  secret: boolean,
  items: any[] | undefined,
  optional: boolean,
  what: string,
): FileToWrite[] {
  const all = new Map<string, Buffer>();
  for (const [k, v] of Object.entries<string>(obj.data ?? {}))
    all.set(k, secret ? Buffer.from(v, "base64") : Buffer.from(v, "utf8"));
  if (!secret)
    for (const [k, v] of Object.entries<string>(obj.binaryData ?? {})) all.set(k, Buffer.from(v, "base64"));
  if (!items?.length) return [...all].map(([k, data]) => ({ path: k, data }));
  const out: FileToWrite[] = [];
  for (const item of items) {
    const data = all.get(item.key);
    if (!data) {
      if (optional) continue;
      throw new VolumeError(
        `configmap references non-existent config key: ${item.key}`.replace("configmap", what),
      );
    }
    out.push({ path: item.path, data, mode: item.mode });
  }
  return out;
}

function downwardFiles(pod: KubeObject, items: any[]): FileToWrite[] {
  return (items ?? []).map((item) => {
    const path = item.fieldRef?.fieldPath as string | undefined;
    let value = "";
    if (path === "metadata.name") value = pod.metadata.name ?? "";
    else if (path === "metadata.namespace") value = pod.metadata.namespace ?? "";
    else if (path === "metadata.uid") value = pod.metadata.uid ?? "";
    else if (path === "metadata.labels")
      value = Object.entries(pod.metadata.labels ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .sort()
        .join("\n");
    else if (path === "metadata.annotations")
      value = Object.entries(pod.metadata.annotations ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .sort()
        .join("\n");
    else if (path) {
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      if (!m) throw new VolumeError(`unsupported downwardAPI fieldPath ${path}`);
      value = (pod.metadata as any)[m[1]]?.[m[2]] ?? "";
    } else throw new VolumeError(`downwardAPI item ${item.path}: only fieldRef is supported`);
    return { path: item.path, data: Buffer.from(value), mode: item.mode };
  });
}

function safeRelative(p: string): boolean {
  // A leading ".." name would collide with the writer's own "..data" and "..<timestamp>" entries.
  return p !== "" && !p.startsWith("/") && !p.split("/").includes("..") && !p.startsWith("..");
}

/**
 * The kubelet's AtomicWriter: the files go into a fresh `..<timestamp>` directory, then the
 * `..data` symlink is swapped to it by rename, and each top-level name is a symlink through
 * `..data`. A container reading the volume sees the old set or the new one, never a mix or a
 * half-written file. Unchanged content is left alone.
 */
function writeFiles(dir: string, files: FileToWrite[], defaultMode: number): void {
  for (const f of files) if (!safeRelative(f.path)) throw new VolumeError(`invalid file path ${f.path}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const dataLink = join(dir, DATA_DIR);
  const oldTarget = linkTarget(dataLink);
  if (oldTarget === undefined) {
    // A first write (or a volume of the old plain layout): start from an empty directory.
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  } else if (sameContent(join(dir, oldTarget), files, defaultMode)) return;
  const tsDir = mkdtempSync(join(dir, `..${timestampName()}.`));
  chmodSync(tsDir, 0o755);
  for (const f of files) {
    const path = join(tsDir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.data);
    chmodSync(path, f.mode ?? defaultMode);
  }
  const tmpLink = join(dir, `${DATA_DIR}_tmp`);
  rmSync(tmpLink, { force: true });
  symlinkSync(basename(tsDir), tmpLink);
  renameSync(tmpLink, dataLink);
  const wanted = new Set(files.map((f) => f.path.split("/")[0]));
  for (const name of wanted) {
    const user = join(dir, name);
    if (linkTarget(user) !== join(DATA_DIR, name)) {
      rmSync(user, { recursive: true, force: true });
      symlinkSync(join(DATA_DIR, name), user);
    }
  }
  for (const name of readdirSync(dir)) {
    if (name.startsWith("..") || wanted.has(name)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
  if (oldTarget !== undefined && oldTarget !== basename(tsDir))
    rmSync(join(dir, oldTarget), { recursive: true, force: true });
}

const DATA_DIR = "..data";

function linkTarget(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** `2006_01_02_15_04_05` as the kubelet names its payload directories (the suffix keeps it unique). */
function timestampName(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
}

/** Whether `tsDir` holds exactly `files` (data and mode). */
function sameContent(tsDir: string, files: FileToWrite[], defaultMode: number): boolean {
  const listed = new Set<string>();
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(tsDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else listed.add(r);
    }
  };
  try {
    walk("");
    if (listed.size !== new Set(files.map((f) => f.path.replace(/\/+/g, "/"))).size) return false;
    for (const f of files) {
      const path = join(tsDir, f.path);
      if ((statSync(path).mode & 0o7777) !== (f.mode ?? defaultMode)) return false;
      if (!readFileSync(path).equals(f.data)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function fetchOrFail(
  get: (ns: string, name: string) => Promise<KubeObject | undefined>,
  namespace: string,
  name: string,
  kind: string,
  optional: boolean,
): Promise<KubeObject | undefined> {
  const obj = await get(namespace, name);
  if (!obj && !optional) throw new VolumeError(`${kind} "${name}" not found`);
  return obj;
}

/**
 * Prepares every volume of the pod; returns the host path of each by name. Throws a VolumeError
 * naming the volume ("MountVolume.SetUp failed for volume ...") when one cannot be set up.
 */
export async function setUpVolumes(
  pod: KubeObject,
  podsDir: string,
  objects: ObjectGetter,
): Promise<Map<string, string>> {
  const uid = pod.metadata.uid ?? "";
  const ns = pod.metadata.namespace ?? "";
  const paths = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    try {
      paths.set(v.name, await setUpVolume(pod, v, volumeDir(podsDir, uid, v.name), ns, objects));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${msg}`);
    }
  }
  return paths;
}

async function setUpVolume(
  pod: KubeObject,
  v: any,
  dir: string,
  ns: string,
  objects: ObjectGetter,
): Promise<string> {
  if (v.emptyDir) {
    mkdirSync(dir, { recursive: true, mode: 0o777 });
    chmodSync(dir, 0o777);
    return dir;
  }
  if (v.hostPath) {
    const p: string = v.hostPath.path;
    const type: string = v.hostPath.type ?? "";
    if (type === "DirectoryOrCreate") mkdirSync(p, { recursive: true, mode: 0o755 });
    else if (type === "FileOrCreate" && !existsSync(p)) {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, "");
    } else if (type === "Directory" && !(existsSync(p) && statSync(p).isDirectory()))
      throw new VolumeError(`hostPath type check failed: ${p} is not a directory`);
    else if (type === "File" && !(existsSync(p) && statSync(p).isFile()))
      throw new VolumeError(`hostPath type check failed: ${p} is not a file`);
    return p;
  }
  if (v.configMap) {
    const cm = await fetchOrFail(
      (n, x) => objects.configMap(n, x),
      ns,
      v.configMap.name,
      "configmap",
      Boolean(v.configMap.optional),
    );
    const files = cm
      ? keyFiles(cm, false, v.configMap.items, Boolean(v.configMap.optional), "configmap")
      : [];
    writeFiles(dir, files, v.configMap.defaultMode ?? 0o644);
    return dir;
  }
  if (v.secret) {
    const s = await fetchOrFail(
      (n, x) => objects.secret(n, x),
      ns,
      v.secret.secretName,
      "secret",
      Boolean(v.secret.optional),
    );
    const files = s ? keyFiles(s, true, v.secret.items, Boolean(v.secret.optional), "secret") : [];
    writeFiles(dir, files, v.secret.defaultMode ?? 0o644);
    return dir;
  }
  if (v.downwardAPI) {
    writeFiles(dir, downwardFiles(pod, v.downwardAPI.items), v.downwardAPI.defaultMode ?? 0o644);
    return dir;
  }
  if (v.projected) {
    const files: FileToWrite[] = [];
    for (const src of v.projected.sources ?? []) {
      if (src.configMap) {
        const cm = await fetchOrFail(
          (n, x) => objects.configMap(n, x),
          ns,
          src.configMap.name,
          "configmap",
          Boolean(src.configMap.optional),
        );
        if (cm)
          files.push(
            ...keyFiles(cm, false, src.configMap.items, Boolean(src.configMap.optional), "configmap"),
          );
      } else if (src.secret) {
        const s = await fetchOrFail(
          (n, x) => objects.secret(n, x),
          ns,
          src.secret.name,
          "secret",
          Boolean(src.secret.optional),
        );
        if (s) files.push(...keyFiles(s, true, src.secret.items, Boolean(src.secret.optional), "secret"));
      } else if (src.downwardAPI) files.push(...downwardFiles(pod, src.downwardAPI.items));
      // serviceAccountToken and clusterTrustBundle: the sandbox issues no tokens; left out.
    }
    writeFiles(dir, files, v.projected.defaultMode ?? 0o644);
    return dir;
  }
  throw new VolumeError(
    "volume type not supported by the sandbox kubelet (emptyDir, hostPath, configMap, secret, downwardAPI, projected are)",
  );
}

/** The volume kinds whose content follows API objects (or the pod) and is rewritten as they change. */
const isRefreshable = (v: any): boolean => Boolean(v.configMap || v.secret || v.downwardAPI || v.projected);

/**
 * Rewrites the pod's configMap, secret, downwardAPI and projected volumes that were set up
 * before (the kubelet's periodic remount). A volume that cannot be refreshed (its object gone,
 * a key missing) keeps its last content; the failures come back as messages for the log.
 * subPath mounts do not see updates: the runtime resolved them to a payload file at start.
 */
export async function refreshVolumes(
  pod: KubeObject,
  podsDir: string,
  objects: ObjectGetter,
): Promise<string[]> {
  const uid = pod.metadata.uid ?? "";
  const ns = pod.metadata.namespace ?? "";
  const failures: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    const dir = volumeDir(podsDir, uid, v.name);
    if (!isRefreshable(v) || !existsSync(dir)) continue;
    try {
      await setUpVolume(pod, v, dir, ns, objects);
    } catch (err) {
      failures.push(`MountVolume.SetUp failed for volume "${v.name}" : ${(err as Error)?.message ?? err}`);
    }
  }
  return failures;
}

/** Removes the pod's directory (volumes included; hostPath volumes are never touched). */
export function tearDownVolumes(podsDir: string, uid: string): void {
  if (!uid) return;
  rmSync(podDir(podsDir, uid), { recursive: true, force: true });
}
