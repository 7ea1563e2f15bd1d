// Real kubectl 1.33 bodies decode to exactly the JSON kubectl 1.27 (or `--dry-run=client -o json`)
// produces for the same command, less `creationTimestamp: null` and the empty `status`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeKubernetesProtobuf, KubernetesProtobufError } from "./index.ts";
import * as rec from "./recorded-bodies.ts";
import { bytes, kubernetesBody, message } from "./testing.ts";

test("create deployment --replicas=3 (recordings.txt)", () => {
  assert.deepEqual(decodeKubernetesProtobuf(rec.DEPLOYMENT_D), {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", labels: { app: "d" } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "d" } },
      template: {
        metadata: { labels: { app: "d" } },
        spec: { containers: [{ name: "nginx", image: "nginx", resources: {} }] },
      },
      strategy: {},
    },
  });
});

test("create deployment --replicas=0 keeps the explicit zero (a pointer field) and the port", () => {
  const d = decodeKubernetesProtobuf(rec.DEPLOYMENT_ZERO_REPLICAS);
  assert.equal(d.spec.replicas, 0);
  assert.deepEqual(d.spec.template.spec.containers, [
    { name: "nginx", image: "nginx", ports: [{ containerPort: 8080 }], resources: {} },
  ]);
});

test("create service clusterip (recordings.txt)", () => {
  assert.deepEqual(decodeKubernetesProtobuf(rec.SERVICE_CLUSTERIP), {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s1", labels: { app: "s1" } },
    spec: {
      ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }],
      selector: { app: "s1" },
      type: "ClusterIP",
    },
  });
});

test("create service: headless, nodeport, externalname", () => {
  assert.deepEqual(decodeKubernetesProtobuf(rec.SERVICE_HEADLESS).spec, {
    selector: { app: "hl" },
    clusterIP: "None",
    type: "ClusterIP",
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.SERVICE_NODEPORT).spec, {
    ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }],
    selector: { app: "np" },
    type: "NodePort",
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.SERVICE_EXTERNALNAME).spec, {
    ports: [{ name: "80", protocol: "TCP", port: 80, targetPort: 80 }],
    selector: { app: "en" },
    type: "ExternalName",
    externalName: "example.com",
  });
});

test("create configmap: data keeps empty values, binaryData is base64", () => {
  assert.deepEqual(decodeKubernetesProtobuf(rec.CONFIGMAP), {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cm" },
    data: { a: "1", "a.txt": "hello\n", empty: "" },
    binaryData: { bin: "AAEC/w==" },
  });
});

test("create secret generic and docker-registry: data is base64", () => {
  assert.deepEqual(decodeKubernetesProtobuf(rec.SECRET_GENERIC), {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    data: { pw: "", user: "YWRtaW4=" },
  });
  const r = decodeKubernetesProtobuf(rec.SECRET_DOCKER_REGISTRY);
  assert.equal(r.type, "kubernetes.io/dockerconfigjson");
  assert.deepEqual(JSON.parse(Buffer.from(r.data[".dockerconfigjson"], "base64").toString()), {
    auths: { "reg.example": { username: "u", password: "p", email: "e@x", auth: "dTpw" } },
  });
});

test("create namespace and serviceaccount", () => {
  assert.deepEqual(decodeKubernetesProtobuf(rec.NAMESPACE), {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "n1" },
    spec: {},
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.SERVICE_ACCOUNT), {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "sa" },
  });
});

test("create job and create cronjob", () => {
  const podTemplate = (name: string, restartPolicy: string) => ({
    metadata: {},
    spec: { containers: [{ name, image: "busybox", command: ["echo", "hi"], resources: {} }], restartPolicy },
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.JOB), {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j" },
    spec: { template: podTemplate("j", "Never") },
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.CRONJOB), {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "cj" },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: { metadata: { name: "cj" }, spec: { template: podTemplate("cj", "OnFailure") } },
    },
  });
});

test("create job --from=cronjob carries a whole pod template, pointer zeros included", () => {
  const job = decodeKubernetesProtobuf(rec.JOB_FROM_CRONJOB);
  assert.deepEqual(job.metadata, {
    name: "backup-manual",
    labels: { app: "backup" },
    annotations: { "cronjob.kubernetes.io/instantiate": "manual", team: "storage" },
    ownerReferences: [
      {
        kind: "CronJob",
        name: "backup",
        uid: "0f6c1a52-7d1e-4d2a-9a52-3c1f1f0b6a11",
        apiVersion: "batch/v1",
        controller: true,
      },
    ],
  });
  assert.deepEqual(job.spec, {
    activeDeadlineSeconds: 3600,
    backoffLimit: 0,
    ttlSecondsAfterFinished: 86400,
    template: {
      metadata: { labels: { app: "backup" } },
      spec: {
        volumes: [
          { name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
          {
            name: "conf",
            configMap: { name: "backup-conf", items: [{ key: "a", path: "a.conf" }], defaultMode: 272 },
          },
          { name: "creds", secret: { secretName: "backup-creds", optional: false } },
        ],
        containers: [
          {
            name: "backup",
            image: "busybox:1.36",
            command: ["sh", "-c"],
            args: ["tar czf /scratch/x.tgz /data"],
            ports: [{ name: "metrics", containerPort: 9090, protocol: "TCP" }],
            env: [
              { name: "MODE", value: "full" },
              { name: "EMPTY" },
              { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              {
                name: "PW",
                valueFrom: { secretKeyRef: { name: "backup-creds", key: "pw", optional: true } },
              },
            ],
            envFrom: [{ configMapRef: { name: "backup-env" } }],
            resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "100m" } },
            volumeMounts: [
              { name: "scratch", mountPath: "/scratch" },
              { name: "conf", readOnly: true, mountPath: "/etc/backup" },
            ],
            livenessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 10 },
            readinessProbe: { tcpSocket: { port: 9090 } },
            imagePullPolicy: "IfNotPresent",
            securityContext: {
              capabilities: { drop: ["ALL"] },
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
            },
          },
        ],
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 0,
        nodeSelector: { disk: "ssd" },
        securityContext: {
          runAsUser: 1000,
          runAsNonRoot: true,
          supplementalGroups: [3000, 4000],
          fsGroup: 2000,
        },
        automountServiceAccountToken: false,
        tolerations: [
          {
            key: "dedicated",
            operator: "Equal",
            value: "backup",
            effect: "NoSchedule",
            tolerationSeconds: 300,
          },
        ],
      },
    },
  });
});

test("DeleteOptions from a typed client's DELETE, tagged with the client's group version", () => {
  assert.deepEqual(decodeKubernetesProtobuf(rec.DELETE_OPTIONS), {
    apiVersion: "v1",
    kind: "DeleteOptions",
    gracePeriodSeconds: 0,
  });
});

test("the other generators: priorityclass, rolebinding, clusterrole, ingress, pdb, quota, token", () => {
  assert.deepEqual(decodeKubernetesProtobuf(rec.PRIORITY_CLASS_ZERO), {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "pc0" },
    value: 0, // no omitempty in Go: kubectl 1.27 sends "value":0 too
    preemptionPolicy: "PreemptLowerPriority",
  });
  const rbac = "rbac.authorization.k8s.io";
  assert.deepEqual(decodeKubernetesProtobuf(rec.ROLE_BINDING), {
    apiVersion: `${rbac}/v1`,
    kind: "RoleBinding",
    metadata: { name: "rb1" },
    subjects: [
      { kind: "User", apiGroup: rbac, name: "alice" },
      { kind: "Group", apiGroup: rbac, name: "devs" },
      { kind: "ServiceAccount", name: "sa", namespace: "default" },
    ],
    roleRef: { apiGroup: rbac, kind: "Role", name: "r1" },
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.CLUSTER_ROLE_AGGREGATED), {
    apiVersion: `${rbac}/v1`,
    kind: "ClusterRole",
    metadata: { name: "cr2" },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { "rbac.example.com/aggregate": "true" } }] },
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.INGRESS), {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "ing1", annotations: { a: "b" } },
    spec: {
      defaultBackend: { service: { name: "defsvc", port: { name: "http" } } },
      tls: [{ hosts: ["foo.com"], secretName: "my-cert" }],
      rules: [
        {
          host: "foo.com",
          http: {
            paths: [
              {
                path: "/bar",
                backend: { service: { name: "svc1", port: { number: 8080 } } },
                pathType: "Exact",
              },
            ],
          },
        },
      ],
      ingressClassName: "nginx",
    },
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.PDB_MAX_UNAVAILABLE_ZERO).spec, {
    selector: { matchLabels: { app: "x" } },
    maxUnavailable: 0,
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.QUOTA).spec, {
    hard: { pods: "2", "requests.cpu": "500m" },
    scopes: ["BestEffort"],
  });
  assert.deepEqual(decodeKubernetesProtobuf(rec.TOKEN_REQUEST), {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    metadata: {},
    spec: {
      audiences: ["api"],
      boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p1", uid: "p-uid" },
      expirationSeconds: 600,
    },
  });
});

test("a kind without a table: UnsupportedKind naming the kind", () => {
  const body = kubernetesBody("apps/v1", "StatefulSet", message(bytes(1, message(bytes(1, "web")))));
  assert.throws(
    () => decodeKubernetesProtobuf(body),
    (e: unknown) =>
      e instanceof KubernetesProtobufError &&
      e.reason === "UnsupportedKind" &&
      e.kind === "StatefulSet" &&
      e.apiVersion === "apps/v1" &&
      e.message ===
        'cannot decode a protobuf body of kind "StatefulSet" (apiVersion "apps/v1"); send it as application/json',
  );
});

test("a body without the k8s\\0 magic: NotKubernetesProtobuf", () => {
  for (const body of [Buffer.from('{"kind":"Pod"}'), Buffer.alloc(0), Buffer.from("k8s")]) {
    assert.throws(
      () => decodeKubernetesProtobuf(body),
      (e: unknown) => e instanceof KubernetesProtobufError && e.reason === "NotKubernetesProtobuf",
    );
  }
});

test("a truncated body: Truncated, wherever the cut falls inside a field", () => {
  // magic (4) + typeMeta field (2 + 21) + raw field header (3) + raw (163) + two empty strings (4)
  const body = rec.DEPLOYMENT_D;
  assert.equal(body.length, 197);
  for (let len = 5; len < 193; len++) {
    if (len === 27) continue; // between typeMeta and raw: a shorter but well-formed message
    assert.throws(
      () => decodeKubernetesProtobuf(body.subarray(0, len)),
      (e: unknown) =>
        e instanceof KubernetesProtobufError && e.reason === "Truncated" && /truncated/.test(e.message),
      `cut at ${len}`,
    );
  }
});
