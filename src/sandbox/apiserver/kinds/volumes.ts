// Validation of a PodSpec's volumes: unique DNS-label names, exactly one source each, and the
// required fields of the common sources.
import { duplicate, type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import { validateLocalDescendingPath } from "./containers.ts";
import { type Json, objects } from "./json.ts";
import { dns1123Label, dns1123Subdomain } from "./names.ts";

/** Every VolumeSource member, in upstream's checking order. */
const SOURCES = [
  "emptyDir",
  "hostPath",
  "gitRepo",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "secret",
  "nfs",
  "iscsi",
  "glusterfs",
  "flocker",
  "persistentVolumeClaim",
  "rbd",
  "cinder",
  "cephfs",
  "quobyte",
  "downwardAPI",
  "fc",
  "flexVolume",
  "configMap",
  "azureFile",
  "vsphereVolume",
  "photonPersistentDisk",
  "portworxVolume",
  "azureDisk",
  "storageos",
  "projected",
  "scaleIO",
  "csi",
  "ephemeral",
  "image",
];

const HOST_PATH_TYPES = [
  "",
  "BlockDevice",
  "CharDevice",
  "Directory",
  "DirectoryOrCreate",
  "File",
  "FileOrCreate",
  "Socket",
];
const FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive";

function validateMode(mode: unknown, path: string): FieldError[] {
  if (mode === undefined || mode === null) return [];
  return typeof mode === "number" && mode >= 0 && mode <= 0o777 ? [] : [invalid(path, mode, FILE_MODE_ERROR)];
}

/** A relative path that neither climbs out nor starts with "..". */
function validateLocalNonReservedPath(target: string, path: string): FieldError[] {
  const errs = validateLocalDescendingPath(target, path);
  if (target.startsWith("..")) errs.push(invalid(path, target, "must not start with '..'"));
  return errs;
}

function validateKeyToPaths(items: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objects(items).forEach((item, i) => {
    const p = `${path}[${i}]`;
    if (!item.key) errs.push(required(`${p}.key`, ""));
    if (!item.path) errs.push(required(`${p}.path`, ""));
    else errs.push(...validateLocalNonReservedPath(item.path, `${p}.path`));
    errs.push(...validateMode(item.mode, `${p}.mode`));
  });
  return errs;
}

function validateSource(kind: string, src: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  switch (kind) {
    case "hostPath":
      if (!src.path) return [required(`${path}.path`, "")];
      if (src.path.split("/").includes(".."))
        errs.push(invalid(`${path}.path`, src.path, "must not contain '..'"));
      if (src.type !== undefined && src.type !== null && !HOST_PATH_TYPES.includes(src.type))
        errs.push(notSupported(`${path}.type`, src.type, HOST_PATH_TYPES));
      break;
    case "secret":
      if (!src.secretName) errs.push(required(`${path}.secretName`, ""));
      errs.push(...validateMode(src.defaultMode, `${path}.defaultMode`));
      errs.push(...validateKeyToPaths(src.items, `${path}.items`));
      break;
    case "configMap":
      if (!src.name) errs.push(required(`${path}.name`, ""));
      else for (const m of dns1123Subdomain(src.name)) errs.push(invalid(`${path}.name`, src.name, m));
      errs.push(...validateMode(src.defaultMode, `${path}.defaultMode`));
      errs.push(...validateKeyToPaths(src.items, `${path}.items`));
      break;
    case "persistentVolumeClaim":
      if (!src.claimName) errs.push(required(`${path}.claimName`, ""));
      break;
    case "nfs":
      if (!src.server) errs.push(required(`${path}.server`, ""));
      if (!src.path) errs.push(required(`${path}.path`, ""));
      else if (!src.path.startsWith("/"))
        errs.push(invalid(`${path}.path`, src.path, "must be an absolute path"));
      break;
    case "downwardAPI":
    case "projected":
      errs.push(...validateMode(src.defaultMode, `${path}.defaultMode`));
      break;
    case "emptyDir":
      if (typeof src.sizeLimit === "string" && src.sizeLimit.startsWith("-"))
        errs.push(forbidden(`${path}.sizeLimit`, "SizeLimit field must be a valid resource quantity"));
      break;
  }
  return errs;
}

/** Validates the volume list; returns the names of the usable volumes alongside the errors. */
export function validateVolumes(volumes: unknown, path: string): { names: Set<string>; errs: FieldError[] } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  objects(volumes).forEach((v, i) => {
    const p = `${path}[${i}]`;
    const own: FieldError[] = [];
    let count = 0;
    for (const kind of SOURCES) {
      if (v[kind] === undefined || v[kind] === null) continue;
      if (count > 0) {
        own.push(forbidden(`${p}.${kind}`, "may not specify more than 1 volume type"));
        continue;
      }
      count++;
      own.push(...validateSource(kind, v[kind], `${p}.${kind}`));
    }
    if (count === 0) own.push(required(p, "must specify a volume type"));
    if (!v.name) own.push(required(`${p}.name`, ""));
    else for (const m of dns1123Label(v.name)) own.push(invalid(`${p}.name`, v.name, m));
    if (names.has(v.name)) own.push(duplicate(`${p}.name`, v.name));
    // Only a volume without errors can be mounted.
    if (own.length) errs.push(...own);
    else names.add(v.name);
  });
  return { names, errs };
}
