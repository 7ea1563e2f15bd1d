// Behaviour that belongs to particular kinds but needs the server's state: ClusterIP and
// NodePort allocation for Services, the Namespace lifecycle, CRD status and clean-up, and
// the one-hour TTL of Events.

import { formatTime } from "../../kube/objects.ts";
import type { EtcdClient, LeaseId, Op } from "../etcd/client.ts";
import {
  type Allocation,
  heldKeys,
  ipKey,
  portKey,
  type ServiceAllocator,
  serviceNeedsNodePorts,
} from "./allocators.ts";
import { ApiError, errForbidden, errInvalid, invalid } from "./errors.ts";
import type { ResourceHooks, Rest } from "./rest.ts";
import { parsedOf } from "./storage/watch-cache.ts";
import { storagePrefix } from "./types.ts";

const SERVICES_PREFIX = "/registry/services/";

export function serviceHooks(rest: () => Rest, alloc: ServiceAllocator): ResourceHooks {
  const usedIps = () => {
    const used = new Set<string>();
    for (const o of rest().store.cache.bucket(SERVICES_PREFIX).items.values())
      for (const ip of parsedOf(o).spec?.clusterIPs ?? []) used.add(ip);
    return used;
  };
  const usedPorts = () => {
    const used = new Set<number>();
    for (const o of rest().store.cache.bucket(SERVICES_PREFIX).items.values())
      for (const p of parsedOf(o).spec?.ports ?? []) if (p.nodePort) used.add(p.nodePort);
    return used;
  };
  const allocateNodePorts = (svc: any, old: any | undefined, out: Allocation) => {
    if (!serviceNeedsNodePorts(svc)) {
      for (const p of svc.spec.ports ?? []) delete p.nodePort;
      return;
    }
    const used = usedPorts();
    for (const [i, p] of (svc.spec.ports ?? []).entries()) {
      if (!p.nodePort) {
        const prev = old?.spec?.ports?.find(
          (o: any) => o.port === p.port && o.protocol === p.protocol,
        )?.nodePort;
        if (prev) {
          p.nodePort = prev;
          continue;
        }
        const port = alloc.pickNodePort(used);
        if (port === undefined)
          throw new ApiError(
            500,
            "InternalError",
            "Internal error occurred: failed to allocate a nodePort: range is full",
          );
        p.nodePort = port;
      } else if (!old?.spec?.ports?.some((o: any) => o.nodePort === p.nodePort)) {
        if (p.nodePort < alloc.nodePortMin || p.nodePort > alloc.nodePortMax)
          throw errInvalid("Service", "", svc.metadata.name, [
            invalid(
              `spec.ports[${i}].nodePort`,
              p.nodePort,
              `provided port is not in the valid range. The range of valid ports is ${alloc.nodePortMin}-${alloc.nodePortMax}`,
            ),
          ]);
        if (used.has(p.nodePort))
          throw errInvalid("Service", "", svc.metadata.name, [
            invalid(`spec.ports[${i}].nodePort`, p.nodePort, "provided port is already allocated"),
          ]);
      } else continue;
      used.add(p.nodePort);
      out.ops.push({ put: { key: portKey(p.nodePort), value: svc.metadata.name } });
      out.mustNotExist.push(portKey(p.nodePort));
    }
  };
  return {
    beforeCreate(svc) {
      const out: Allocation = { ops: [], mustNotExist: [] };
      const spec = svc.spec;
      if (spec.type === "ExternalName") {
        delete spec.clusterIP;
        delete spec.clusterIPs;
        return out;
      }
      const requested = spec.clusterIP || spec.clusterIPs?.[0];
      if (requested === "None") {
        spec.clusterIP = "None";
        spec.clusterIPs = ["None"];
      } else {
        let ip = requested;
        const used = usedIps();
        if (ip) {
          const err = alloc.checkRequestedIp(ip);
          if (err) throw errInvalid("Service", "", svc.metadata.name, [err]);
          if (used.has(ip))
            throw errInvalid("Service", "", svc.metadata.name, [
              invalid(
                "spec.clusterIPs",
                [ip],
                `failed to allocate IP ${ip}: provided IP is already allocated`,
              ),
            ]);
        } else {
          ip = alloc.pickIp(used);
          if (!ip)
            throw new ApiError(
              500,
              "InternalError",
              `Internal error occurred: failed to allocate a serviceIP: range is full`,
            );
        }
        spec.clusterIP = ip;
        spec.clusterIPs = [ip];
        out.ops.push({ put: { key: ipKey(ip), value: `${svc.metadata.namespace}/${svc.metadata.name}` } });
        out.mustNotExist.push(ipKey(ip));
      }
      allocateNodePorts(svc, undefined, out);
      return out;
    },
    prepareForUpdate(svc, old) {
      // Upstream's patchAllocatedValues: an update that omits allocated values keeps them.
      if (!svc.spec || svc.spec.type === "ExternalName") return;
      if (!svc.spec.clusterIP && old.spec?.clusterIP) svc.spec.clusterIP = old.spec.clusterIP;
      if (!svc.spec.clusterIPs?.length && old.spec?.clusterIPs) svc.spec.clusterIPs = old.spec.clusterIPs;
    },
    beforeUpdate(svc, old) {
      const out: Allocation = { ops: [], mustNotExist: [] };
      allocateNodePorts(svc, old, out);
      const keep = new Set(heldKeys(svc));
      for (const k of heldKeys(old)) if (!keep.has(k)) out.ops.push({ deleteRange: { key: k } });
      return out;
    },
    onDelete(svc): Op[] {
      return heldKeys(svc).map((key) => ({ deleteRange: { key } }));
    },
  };
}

const UNDELETABLE_NAMESPACES = new Set(["default", "kube-system", "kube-public"]);

/** Deleting a namespace puts it in Terminating; the namespace controller empties and finalizes it. */
export function namespaceHooks(): ResourceHooks {
  return {
    holdsDeletion: (ns) => (ns.spec?.finalizers?.length ?? 0) > 0,
    async delete(rest, def, cur, opts) {
      const name = cur.metadata.name;
      if (UNDELETABLE_NAMESPACES.has(name))
        throw errForbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, {
          name,
          kind: "namespaces",
        });
      if (!cur.spec?.finalizers?.length) return undefined;
      if (cur.metadata.deletionTimestamp && cur.status?.phase === "Terminating")
        return { object: cur, deleted: false };
      if (opts.dryRun) return { object: cur, deleted: false };
      const obj = await rest.systemUpdate(def, "", name, (ns) => {
        ns.metadata.deletionTimestamp ??= formatTime();
        ns.metadata.deletionGracePeriodSeconds = 0;
        ns.status = { ...(ns.status ?? {}), phase: "Terminating" };
        return ns;
      });
      return { object: obj, deleted: false };
    },
  };
}

export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

function crdStatus(crd: any): any {
  const names = crd.spec?.names ?? {};
  const now = formatTime();
  const storage = (crd.spec?.versions ?? []).find((v: any) => v.storage)?.name;
  const stored = new Set<string>(crd.status?.storedVersions ?? []);
  if (storage) stored.add(storage);
  return {
    acceptedNames: {
      plural: names.plural,
      singular: names.singular ?? String(names.kind ?? "").toLowerCase(),
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      ...(names.shortNames ? { shortNames: names.shortNames } : {}),
      ...(names.categories ? { categories: names.categories } : {}),
    },
    conditions: [
      {
        type: "NamesAccepted",
        status: "True",
        lastTransitionTime: now,
        reason: "NoConflicts",
        message: "no conflicts found",
      },
      {
        type: "Established",
        status: "True",
        lastTransitionTime: now,
        reason: "InitialNamesAccepted",
        message: "the initial names have been accepted",
      },
    ],
    storedVersions: [...stored],
  };
}

/** CRDs are established as soon as they are stored (this server serves them at once). */
export function crdHooks(): ResourceHooks {
  return {
    beforeCreate(crd) {
      crd.status = crdStatus(crd);
      const fins = new Set<string>(crd.metadata.finalizers ?? []);
      fins.add(CRD_CLEANUP_FINALIZER);
      crd.metadata.finalizers = [...fins];
      return undefined;
    },
    beforeUpdate(crd, old) {
      const keepConditions = old.status?.conditions;
      crd.status = crdStatus({ ...crd, status: old.status });
      if (keepConditions) crd.status.conditions = keepConditions;
      return undefined;
    },
  };
}

/** Removes every custom resource of a deleted CRD, then its clean-up finalizer. */
export async function cleanUpCrd(rest: Rest, crd: any): Promise<void> {
  const group = crd.spec.group;
  const plural = crd.spec.names.plural;
  const prefix = storagePrefix({ group, plural });
  const { prefixEnd } = await import("../etcd/client.ts");
  await rest.store.etcd.deleteRange(prefix, prefixEnd(prefix));
  const def = rest.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;
  try {
    await rest.mutate(def, "", crd.metadata.name, {}, "", (cur) => {
      cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter(
        (f: string) => f !== CRD_CLEANUP_FINALIZER,
      );
      return cur;
    });
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 404)) throw err;
  }
}

/** Events expire an hour after their last write, through etcd leases shared per minute. */
export function eventHooks(etcd: EtcdClient, ttlSeconds = 3600): ResourceHooks {
  let current: { minute: number; id: Promise<LeaseId> } | undefined;
  return {
    async leaseFor() {
      const minute = Math.floor(Date.now() / 60_000);
      if (!current || current.minute !== minute) {
        current = { minute, id: etcd.leaseGrant(ttlSeconds + 60) };
        current.id.catch(() => {
          current = undefined;
        });
      }
      return current.id;
    },
  };
}
