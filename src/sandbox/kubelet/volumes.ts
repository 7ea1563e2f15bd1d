// Pod volumes on the node: emptyDir directories, hostPath as is, and configMap, secret,
// downwardAPI and projected volumes written out as files under
// <podsDir>/<uid>/volumes/<name>. A failure is a VolumeError, reported as FailedMount.
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { KubeObject } from "../../kube/objects.ts";

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
  return !p.startsWith("/") && !p.split("/").includes("..");
}

function writeFiles(dir: string, files: FileToWrite[], defaultMode: number): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const f of files) {
    if (!safeRelative(f.path)) throw new VolumeError(`invalid file path ${f.path}`);
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.data);
    chmodSync(path, f.mode ?? defaultMode);
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

/** Removes the pod's directory (volumes included; hostPath volumes are never touched). */
export function tearDownVolumes(podsDir: string, uid: string): void {
  if (!uid) return;
  rmSync(podDir(podsDir, uid), { recursive: true, force: true });
}
