// The default ClusterRoles and ClusterRoleBindings a cluster starts with (upstream's
// plugin/pkg/auth/authorizer/rbac/bootstrappolicy), as far as the sandbox's users and
// components need them: cluster-admin for system:masters, discovery and self-review for every
// authenticated user, the user-facing admin/edit/view roles, and the identities of the
// sandbox's own components (kubelets as system:node; the controller-manager, which bundles the
// scheduler, the virtual nodes and every controller, as system:kube-controller-manager).
import type { KubeObject } from "../../../kube/objects.ts";
import type { PolicyRule } from "./authorizer.ts";

const BOOTSTRAP_LABELS = { "kubernetes.io/bootstrapping": "rbac-defaults" };
const AUTOUPDATE = { "rbac.authorization.kubernetes.io/autoupdate": "true" };

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];

const rule = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule => ({
  apiGroups,
  resources,
  verbs,
});

/** What `view` may read (upstream's list, without secrets). */
const VIEW_RULES: PolicyRule[] = [
  rule(
    [""],
    [
      "configmaps",
      "endpoints",
      "persistentvolumeclaims",
      "persistentvolumeclaims/status",
      "pods",
      "pods/log",
      "pods/status",
      "replicationcontrollers",
      "replicationcontrollers/scale",
      "replicationcontrollers/status",
      "serviceaccounts",
      "services",
      "services/status",
      "bindings",
      "events",
      "limitranges",
      "namespaces/status",
      "resourcequotas",
      "resourcequotas/status",
    ],
    READ,
  ),
  rule([""], ["namespaces"], READ),
  rule(["discovery.k8s.io"], ["endpointslices"], READ),
  rule(
    ["apps"],
    [
      "controllerrevisions",
      "daemonsets",
      "daemonsets/status",
      "deployments",
      "deployments/scale",
      "deployments/status",
      "replicasets",
      "replicasets/scale",
      "replicasets/status",
      "statefulsets",
      "statefulsets/scale",
      "statefulsets/status",
    ],
    READ,
  ),
  rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], READ),
  rule(["coordination.k8s.io"], ["leases"], READ),
];

/** What `edit` may change on top of `view` (upstream's list, without roles and bindings). */
const EDIT_RULES: PolicyRule[] = [
  rule(
    [""],
    ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
    READ,
  ),
  rule([""], ["serviceaccounts"], ["impersonate"]),
  rule(
    [""],
    [
      "pods",
      "pods/attach",
      "pods/exec",
      "pods/portforward",
      "pods/proxy",
      "pods/eviction",
      "configmaps",
      "endpoints",
      "persistentvolumeclaims",
      "replicationcontrollers",
      "replicationcontrollers/scale",
      "secrets",
      "serviceaccounts",
      "services",
      "services/proxy",
    ],
    WRITE,
  ),
  rule([""], ["serviceaccounts/token"], ["create"]),
  rule(
    ["apps"],
    [
      "daemonsets",
      "deployments",
      "deployments/rollback",
      "deployments/scale",
      "replicasets",
      "replicasets/scale",
      "statefulsets",
      "statefulsets/scale",
    ],
    WRITE,
  ),
  rule(["batch"], ["cronjobs", "jobs"], WRITE),
  rule(["discovery.k8s.io"], ["endpointslices"], WRITE),
  rule(["coordination.k8s.io"], ["leases"], WRITE),
];

const ADMIN_RULES: PolicyRule[] = [
  rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], [...READ, ...WRITE]),
  rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
];

const clusterRole = (name: string, rules: PolicyRule[]): KubeObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
  rules,
});

const binding = (name: string, role: string, subjects: { kind: string; name: string }[]): KubeObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
  subjects: subjects.map((s) => ({ apiGroup: "rbac.authorization.k8s.io", ...s })),
});

const group = (name: string) => ({ kind: "Group", name });
const user = (name: string) => ({ kind: "User", name });

export const PRIVILEGED_GROUP = "system:masters";

export const BOOTSTRAP_CLUSTER_ROLES: KubeObject[] = [
  clusterRole("cluster-admin", [rule(["*"], ["*"], ["*"]), { nonResourceURLs: ["*"], verbs: ["*"] }]),
  clusterRole("system:discovery", [
    {
      nonResourceURLs: [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
      ],
      verbs: ["get"],
    },
  ]),
  clusterRole("system:public-info-viewer", [
    { nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"], verbs: ["get"] },
  ]),
  clusterRole("system:basic-user", [
    rule(["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]),
    rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
  ]),
  clusterRole("view", VIEW_RULES),
  clusterRole("edit", [...VIEW_RULES, ...EDIT_RULES]),
  clusterRole("admin", [...VIEW_RULES, ...EDIT_RULES, ...ADMIN_RULES]),
  clusterRole("system:node", [
    rule([""], ["nodes"], [...READ, "create", "update", "patch", "delete"]),
    rule([""], ["nodes/status"], ["patch", "update"]),
    rule([""], ["pods"], [...READ, "create", "delete"]),
    rule([""], ["pods/status"], ["patch", "update"]),
    rule([""], ["pods/eviction"], ["create"]),
    rule([""], ["configmaps", "secrets", "serviceaccounts", "services", "endpoints", "namespaces"], READ),
    rule([""], ["events"], ["create", "patch", "update"]),
    rule(["events.k8s.io"], ["events"], ["create", "patch", "update"]),
    rule(["coordination.k8s.io"], ["leases"], [...READ, "create", "update", "patch", "delete"]),
    rule(["discovery.k8s.io"], ["endpointslices"], READ),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
  ]),
  // The sandbox's controller-manager is one process for the scheduler, the virtual nodes and
  // every controller (the garbage collector and the namespace controller alone need to read and
  // delete every kind), so it gets everything, as kube-controller-manager's many roles together
  // nearly do.
  clusterRole("system:kube-controller-manager", [rule(["*"], ["*"], ["*"])]),
];

export const BOOTSTRAP_CLUSTER_ROLE_BINDINGS: KubeObject[] = [
  binding("cluster-admin", "cluster-admin", [group(PRIVILEGED_GROUP)]),
  binding("system:discovery", "system:discovery", [group("system:authenticated")]),
  binding("system:basic-user", "system:basic-user", [group("system:authenticated")]),
  binding("system:public-info-viewer", "system:public-info-viewer", [
    group("system:authenticated"),
    group("system:unauthenticated"),
  ]),
  binding("system:node", "system:node", [group("system:nodes")]),
  binding("system:kube-controller-manager", "system:kube-controller-manager", [
    user("system:kube-controller-manager"),
  ]),
];
