// Pod event handling shared by controllers that own pods directly (Job, DaemonSet), in the
// shape upstream gives it: a pod event wakes the owner its controller reference points at
// (after checking the UID), or, for an orphan, every owner whose selector could adopt it;
// and it settles the owner's expectations (a pod appearing is a creation observed, a pod
// going or starting to terminate a deletion observed).

import type { SharedInformer } from "../../kube/informer.ts";
import { fromLabelSelector, matches, type Requirement } from "../../kube/labels.ts";
import { controllerOf, type KubeObject, objectKey } from "../../kube/objects.ts";
import type { ControllerExpectations } from "./expectations.ts";
import { podKey } from "./pod-control.ts";

const compiled = new WeakMap<object, Requirement[] | null>();

/** An owner's compiled spec.selector, cached per (immutable) cached object. */
export function ownerSelector(owner: KubeObject): Requirement[] | null {
  let reqs = compiled.get(owner);
  if (reqs === undefined) {
    try {
      reqs = fromLabelSelector(owner.spec?.selector);
    } catch {
      reqs = null;
    }
    compiled.set(owner, reqs);
  }
  return reqs;
}

/** The key of the `kind` owner controlling `pod`, when that very owner (same UID) is cached. */
export function controllerKeyOf(pod: KubeObject, kind: string, owners: SharedInformer): string | undefined {
  const ref = controllerOf(pod);
  if (!ref || ref.kind !== kind) return undefined;
  const key = `${pod.metadata.namespace}/${ref.name}`;
  return owners.get(key)?.metadata.uid === ref.uid ? key : undefined;
}

/** Keys of the owners in the pod's namespace that could adopt it. */
export function ownersSelecting(pod: KubeObject, owners: SharedInformer): string[] {
  return owners
    .byIndex("namespace", pod.metadata.namespace ?? "")
    .filter((o) => matches(ownerSelector(o), pod.metadata.labels))
    .map(objectKey);
}

/** Wires pod events to `enqueue` and `expectations` for owners of `kind` cached in `owners`. */
export function watchOwnedPods(
  pods: SharedInformer,
  owners: SharedInformer,
  kind: string,
  expectations: ControllerExpectations,
  enqueue: (key: string) => void,
): void {
  const gone = (pod: KubeObject) => {
    const key = controllerKeyOf(pod, kind, owners);
    if (!key) return;
    expectations.deletionObserved(key, podKey(pod));
    enqueue(key);
  };
  pods.addEventHandler({
    onAdd: (pod) => {
      // Seen for the first time already terminating (after a restart): not a creation.
      if (pod.metadata.deletionTimestamp) return gone(pod);
      const key = controllerKeyOf(pod, kind, owners);
      if (key) {
        expectations.creationObserved(key);
        enqueue(key);
      } else if (!controllerOf(pod)) {
        ownersSelecting(pod, owners).forEach(enqueue);
      }
    },
    onUpdate: (old, cur) => {
      if (old === cur) return;
      if (cur.metadata.deletionTimestamp) return gone(cur);
      const oldKey = controllerKeyOf(old, kind, owners);
      const key = controllerKeyOf(cur, kind, owners);
      if (oldKey && oldKey !== key) enqueue(oldKey);
      if (key) enqueue(key);
      else if (
        !controllerOf(cur) &&
        JSON.stringify(old.metadata.labels) !== JSON.stringify(cur.metadata.labels)
      )
        ownersSelecting(cur, owners).forEach(enqueue);
    },
    onDelete: (pod) => gone(pod),
  });
}
