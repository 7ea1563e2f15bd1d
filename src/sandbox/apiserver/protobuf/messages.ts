// Every message table in one lookup, and the kinds a request body may carry at the top level.
import { APPS_MESSAGES } from "./messages-apps.ts";
import { AUTHENTICATION_MESSAGES } from "./messages-authentication.ts";
import { AUTHORIZATION_MESSAGES } from "./messages-authorization.ts";
import { BATCH_MESSAGES } from "./messages-batch.ts";
import { CORE_MESSAGES } from "./messages-core.ts";
import { META_MESSAGES } from "./messages-meta.ts";
import { NETWORKING_MESSAGES } from "./messages-networking.ts";
import { POD_MESSAGES } from "./messages-pod.ts";
import { POLICY_MESSAGES } from "./messages-policy.ts";
import { RBAC_MESSAGES } from "./messages-rbac.ts";
import { SCHEDULING_MESSAGES } from "./messages-scheduling.ts";
import { VOLUME_MESSAGES } from "./messages-volumes.ts";
import type { MessageTable } from "./schema.ts";

/** Message names are unique across the groups covered (checked by a test), so one flat table serves. */
export const MESSAGE_TABLES: readonly MessageTable[] = [
  META_MESSAGES,
  CORE_MESSAGES,
  POD_MESSAGES,
  VOLUME_MESSAGES,
  APPS_MESSAGES,
  BATCH_MESSAGES,
  POLICY_MESSAGES,
  SCHEDULING_MESSAGES,
  RBAC_MESSAGES,
  NETWORKING_MESSAGES,
  AUTHENTICATION_MESSAGES,
  AUTHORIZATION_MESSAGES,
];

export const MESSAGES: MessageTable = Object.assign({}, ...MESSAGE_TABLES);

/** apiVersion → kind → top-level message. The message name is the kind in every case. */
const ROOT_KINDS: Readonly<Record<string, readonly string[]>> = {
  v1: ["Namespace", "ConfigMap", "Secret", "Service", "ServiceAccount", "Pod", "ResourceQuota"],
  "apps/v1": ["Deployment", "ReplicaSet", "DaemonSet"],
  "batch/v1": ["Job", "CronJob"],
  "policy/v1": ["PodDisruptionBudget", "Eviction"],
  "scheduling.k8s.io/v1": ["PriorityClass"],
  "rbac.authorization.k8s.io/v1": ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"],
  "networking.k8s.io/v1": ["Ingress"],
  "authentication.k8s.io/v1": ["TokenRequest", "SelfSubjectReview"],
  "authorization.k8s.io/v1": [
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "SubjectAccessReview",
    "LocalSubjectAccessReview",
  ],
};

/** The message to decode a top-level object with, or undefined when there is no table for it. */
export function rootMessage(apiVersion: string, kind: string): string | undefined {
  // Typed clients send DELETE bodies as DeleteOptions tagged with their own group version ("v1", ...).
  if (kind === "DeleteOptions") return "DeleteOptions";
  return ROOT_KINDS[apiVersion]?.includes(kind) ? kind : undefined;
}

/** "apiVersion kind" for every top-level kind with a table (DeleteOptions: any apiVersion). */
export function supportedKinds(): string[] {
  return [
    ...Object.entries(ROOT_KINDS).flatMap(([apiVersion, kinds]) => kinds.map((k) => `${apiVersion} ${k}`)),
    "* DeleteOptions",
  ];
}
