// Applying deploy/'s manifests to the sandbox as its admin would (`kubectl apply -f`): each
// object is created, or replaced when it differs. Only the kinds deploy/ uses for identities
// and RBAC are known here.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KubeClient } from "../kube/client.ts";
import { isAlreadyExists, isConflict } from "../kube/errors.ts";
import type { KubeObject } from "../kube/objects.ts";
import {
  type ApiResource,
  CLUSTERROLEBINDINGS,
  CLUSTERROLES,
  ROLEBINDINGS,
  ROLES,
  SERVICEACCOUNTS,
} from "../kube/resource.ts";

const RESOURCES: Record<string, ApiResource> = {
  ServiceAccount: SERVICEACCOUNTS,
  ClusterRole: CLUSTERROLES,
  ClusterRoleBinding: CLUSTERROLEBINDINGS,
  Role: ROLES,
  RoleBinding: ROLEBINDINGS,
};

export function loadManifest(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
      return d.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => Boolean(o));
}

/** kubectl's record of what it applied, so a later `kubectl apply -f deploy/` merges cleanly. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

export async function applyManifest(client: KubeClient, file: string): Promise<void> {
  for (const doc of loadManifest(file)) {
    const obj = structuredClone(doc);
    obj.metadata.annotations = { ...obj.metadata.annotations, [LAST_APPLIED]: `${JSON.stringify(doc)}\n` };
    const res = RESOURCES[obj.kind ?? ""];
    if (!res) throw new Error(`${file}: cannot apply a ${obj.kind}`);
    try {
      await client.create(res, obj);
      continue;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    for (let attempt = 0; ; attempt++) {
      const live = await client.get(res, obj.metadata.namespace ?? "", obj.metadata.name!);
      const { metadata: _m, apiVersion: _a, kind: _k, ...want } = obj as Record<string, unknown>;
      const { metadata: _lm, apiVersion: _la, kind: _lk, ...have } = live as Record<string, unknown>;
      const same = Object.entries(want).every(([k, v]) => JSON.stringify(have[k]) === JSON.stringify(v));
      if (same && live.metadata.annotations?.[LAST_APPLIED] === obj.metadata.annotations[LAST_APPLIED]) break;
      try {
        const annotations = { ...live.metadata.annotations, ...obj.metadata.annotations };
        await client.update(res, { ...live, ...want, metadata: { ...live.metadata, annotations } });
        break;
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  }
}
