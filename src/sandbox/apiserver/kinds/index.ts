// Strategies by resource, keyed "<group>/<plural>" (the core group is ""), e.g.
// strategies["/pods"] or strategies["apps/deployments"].
import { type FieldError, fieldErrorBody } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { configMapStrategy } from "./configmaps.ts";
import { crdStrategy } from "./crds.ts";
import { daemonSetStrategy } from "./daemonsets.ts";
import { deploymentStrategy } from "./deployments.ts";
import { endpointsStrategy } from "./endpoints.ts";
import { endpointSliceStrategy } from "./endpointslices.ts";
import { eventStrategy } from "./events.ts";
import { genericStrategy } from "./generic.ts";
import { jobStrategy } from "./jobs.ts";
import { leaseStrategy } from "./leases.ts";
import { validateGenericMeta } from "./meta.ts";
import { namespaceStrategy } from "./namespaces.ts";
import { networkPolicyStrategy } from "./networkpolicies.ts";
import { nodeStrategy } from "./nodes.ts";
import { podStrategy } from "./pods.ts";
import {
  clusterRoleBindingStrategy,
  clusterRoleStrategy,
  roleBindingStrategy,
  roleStrategyNamespaced,
} from "./rbac.ts";
import { replicaSetStrategy } from "./replicasets.ts";
import { secretStrategy } from "./secrets.ts";
import { serviceAccountStrategy } from "./serviceaccounts.ts";
import { serviceStrategy } from "./services.ts";

export { prepareJobForCreate } from "./jobs.ts";
export { validatePodStatusUpdate } from "./pods.ts";

/** Drops repeated errors, as upstream's aggregate does when several passes report the same thing. */
function dedupe(errs: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errs.filter((e) => {
    const key = `${e.field}\u0000${fieldErrorBody(e)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Adds the generic registry's own metadata pass (names must be URL path segments) after a
 * kind's validation, the way upstream runs it after the strategy's.
 */
function withGenericChecks(s: Strategy): Strategy {
  const validate = s.validate;
  return {
    ...s,
    validate: (obj) => dedupe([...(validate?.(obj) ?? []), ...validateGenericMeta(obj.metadata)]),
  };
}

export const strategies: Record<string, Strategy> = Object.fromEntries(
  Object.entries({
    "/pods": podStrategy,
    "/services": serviceStrategy,
    "/namespaces": namespaceStrategy,
    "/nodes": nodeStrategy,
    "/events": eventStrategy,
    "/endpoints": endpointsStrategy,
    "/configmaps": configMapStrategy,
    "/secrets": secretStrategy,
    "/serviceaccounts": serviceAccountStrategy,
    "apps/deployments": deploymentStrategy,
    "apps/replicasets": replicaSetStrategy,
    "apps/daemonsets": daemonSetStrategy,
    "batch/jobs": jobStrategy,
    "discovery.k8s.io/endpointslices": endpointSliceStrategy,
    "networking.k8s.io/networkpolicies": networkPolicyStrategy,
    "coordination.k8s.io/leases": leaseStrategy,
    "apiextensions.k8s.io/customresourcedefinitions": crdStrategy,
    "rbac.authorization.k8s.io/roles": roleStrategyNamespaced,
    "rbac.authorization.k8s.io/clusterroles": clusterRoleStrategy,
    "rbac.authorization.k8s.io/rolebindings": roleBindingStrategy,
    "rbac.authorization.k8s.io/clusterrolebindings": clusterRoleBindingStrategy,
  }).map(([key, s]) => [key, withGenericChecks(s)]),
);

/** The fallback for any other resource: metadata validation only, no status, no generation. */
export const fallbackStrategy: Strategy = withGenericChecks(genericStrategy);

export function strategyFor(group: string, plural: string): Strategy {
  return strategies[`${group}/${plural}`] ?? fallbackStrategy;
}
