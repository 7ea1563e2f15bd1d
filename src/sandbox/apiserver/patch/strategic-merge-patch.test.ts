import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../errors.ts";
import { applyStrategicMergePatch, mergeStrategically } from "./strategic-merge-patch.ts";

function assertRejected(original: object, patch: object, model: string, code: number, message: RegExp) {
  assert.throws(
    () => applyStrategicMergePatch(original, patch, model),
    (err: unknown) => {
      assert.ok(err instanceof ApiError, `expected ApiError, got ${err}`);
      assert.equal(err.code, code);
      assert.match(err.message, message);
      return true;
    },
  );
}

/** Every key anywhere in a value, to check that no directive leaks into a result. */
function allKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(allKeys);
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => [k, ...allKeys(v)]);
  return [];
}

const assertNoDirectives = (value: unknown) =>
  assert.deepEqual(
    allKeys(value).filter((k) => k.startsWith("$")),
    [],
  );

const names = (list: Array<{ name: string }>) => list.map((c) => c.name);

function nginxPod() {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "nginx",
      namespace: "default",
      labels: { app: "nginx" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"old":true}\n' },
      finalizers: ["example.com/a", "example.com/b", "example.com/c"],
    },
    spec: {
      containers: [
        {
          name: "nginx",
          image: "nginx:1.25",
          ports: [
            { containerPort: 80, protocol: "TCP" },
            { containerPort: 8080, name: "admin", protocol: "TCP" },
          ],
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
          ],
          terminationMessagePath: "/dev/termination-log",
          imagePullPolicy: "IfNotPresent",
        },
      ],
      tolerations: [{ key: "a", operator: "Exists" }],
      nodeSelector: { disk: "ssd" },
      restartPolicy: "Always",
    },
    status: {
      phase: "Running",
      conditions: [
        { type: "Initialized", status: "True" },
        { type: "Ready", status: "False" },
        { type: "PodScheduled", status: "True" },
      ],
    },
  };
}

function deployment() {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", annotations: { "deployment.kubernetes.io/revision": "1" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "app",
              image: "example/app:1",
              ports: [{ containerPort: 80, name: "http", protocol: "TCP" }],
              livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 5, periodSeconds: 10 },
            },
            {
              name: "sidecar",
              image: "example/sidecar:1",
              livenessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 10 },
            },
          ],
          volumes: [{ name: "data", emptyDir: {} }],
        },
      },
    },
  };
}

// ---- patches exactly as kubectl sends them ----

test("kubectl apply (client-side) updating a pod's image", () => {
  // The body kubectl sends, verbatim.
  const body = JSON.parse(
    '{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\\"new\\":true}\\n"}},"spec":{"$setElementOrder/containers":[{"name":"nginx"}],"containers":[{"image":"nginx:1.26","name":"nginx"}]}}',
  );
  const result = applyStrategicMergePatch(nginxPod(), body, "V1Pod") as any;
  const expected = nginxPod() as any;
  expected.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"] = '{"new":true}\n';
  expected.spec.containers[0].image = "nginx:1.26";
  assert.deepEqual(result, expected);
  assertNoDirectives(result);
});

test("kubectl apply changing one container's probe port in a deployment template", () => {
  const body = {
    metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}\n" } },
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "app" }, { name: "sidecar" }],
          containers: [{ livenessProbe: { tcpSocket: { port: 8081 } }, name: "app" }],
        },
      },
    },
  };
  const result = applyStrategicMergePatch(deployment(), body, "V1Deployment") as any;
  const expected = deployment() as any;
  expected.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"] = "{}\n";
  expected.spec.template.spec.containers[0].livenessProbe.tcpSocket.port = 8081;
  assert.deepEqual(result, expected);
  assert.equal(result.spec.template.spec.containers[1].livenessProbe.tcpSocket.port, 9000);
});

test("kubectl patch service externalIPs replaces the list (no patch strategy)", () => {
  const service = {
    metadata: { name: "demo" },
    spec: {
      ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }],
      externalIPs: ["172.16.0.3", "10.0.0.9"],
      selector: { app: "demo" },
    },
  };
  const result = applyStrategicMergePatch(
    service,
    { spec: { externalIPs: ["172.16.0.4"] } },
    "V1Service",
  ) as any;
  assert.deepEqual(result.spec, { ...service.spec, externalIPs: ["172.16.0.4"] });
});

test("kubectl apply removing a container port with $patch: delete", () => {
  const body = {
    spec: {
      "$setElementOrder/containers": [{ name: "nginx" }],
      containers: [
        {
          "$setElementOrder/ports": [{ containerPort: 80 }],
          name: "nginx",
          ports: [{ $patch: "delete", containerPort: 8080 }],
        },
      ],
    },
  };
  const result = applyStrategicMergePatch(nginxPod(), body, "V1Pod") as any;
  assert.deepEqual(result.spec.containers[0].ports, [{ containerPort: 80, protocol: "TCP" }]);
  assert.equal(result.spec.containers[0].image, "nginx:1.25");
  assertNoDirectives(result);
});

test("kubectl patch removing a container port without setElementOrder", () => {
  const body = {
    spec: { containers: [{ name: "nginx", ports: [{ containerPort: 80, $patch: "delete" }] }] },
  };
  const result = applyStrategicMergePatch(nginxPod(), body, "V1Pod") as any;
  assert.deepEqual(result.spec.containers[0].ports, [
    { containerPort: 8080, name: "admin", protocol: "TCP" },
  ]);
});

test("removing a finalizer with $deleteFromPrimitiveList", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    { metadata: { "$deleteFromPrimitiveList/finalizers": ["example.com/b"] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.metadata.finalizers, ["example.com/a", "example.com/c"]);
  assertNoDirectives(result);

  // As kubectl apply sends it, with the order of what remains.
  const applied = applyStrategicMergePatch(
    nginxPod(),
    {
      metadata: {
        "$setElementOrder/finalizers": ["example.com/c", "example.com/a"],
        "$deleteFromPrimitiveList/finalizers": ["example.com/b"],
      },
    },
    "V1Pod",
  ) as any;
  assert.deepEqual(applied.metadata.finalizers, ["example.com/c", "example.com/a"]);

  // Deleting from a list the object does not have is a no-op.
  const noList = applyStrategicMergePatch(
    { metadata: {} },
    { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"] } },
    "V1Pod",
  );
  assert.deepEqual(noList, { metadata: {} });
});

test("a merged primitive list is a union, ordered as upstream orders it", () => {
  const appended = applyStrategicMergePatch(
    nginxPod(),
    { metadata: { finalizers: ["example.com/c", "example.com/z"] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(appended.metadata.finalizers, [
    "example.com/a",
    "example.com/b",
    "example.com/c",
    "example.com/z",
  ]);
  // New values stay next to the patch values they were sent with: z follows b, ahead of c.
  const interleaved = applyStrategicMergePatch(
    nginxPod(),
    { metadata: { finalizers: ["example.com/b", "example.com/z"] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(interleaved.metadata.finalizers, [
    "example.com/a",
    "example.com/b",
    "example.com/z",
    "example.com/c",
  ]);
  const cidrs = applyStrategicMergePatch(
    { spec: { podCIDRs: ["10.0.0.0/24"] } },
    { spec: { podCIDRs: ["fd00::/64"] } },
    "V1Node",
  ) as any;
  // Only new values in the patch: they go first (upstream's documented "kubectl patch" result
  // for a new container shows the same).
  assert.deepEqual(cidrs.spec.podCIDRs, ["fd00::/64", "10.0.0.0/24"]);
});

// ---- null deletion ----

test("null deletes map keys, fields and list-item fields", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    {
      metadata: { labels: { app: null, tier: "fe" } },
      spec: { nodeSelector: null, containers: [{ name: "nginx", imagePullPolicy: null }] },
    },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.metadata.labels, { tier: "fe" });
  assert.equal("nodeSelector" in result.spec, false);
  assert.equal("imagePullPolicy" in result.spec.containers[0], false);
  assert.equal(result.spec.containers[0].image, "nginx:1.25");
});

test("nulls inside values the original lacks are dropped", () => {
  const pod = nginxPod() as any;
  delete pod.spec.nodeSelector;
  const result = applyStrategicMergePatch(
    pod,
    { spec: { nodeSelector: { a: null, b: "x" } } },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.spec.nodeSelector, { b: "x" });
  const added = applyStrategicMergePatch(
    pod,
    { spec: { containers: [{ name: "new", image: "i", command: null }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(
    added.spec.containers.find((c: any) => c.name === "new"),
    { name: "new", image: "i" },
  );
});

test("an env var switching from value to valueFrom", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    {
      spec: {
        containers: [
          {
            name: "nginx",
            env: [{ name: "B", value: null, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
          },
        ],
      },
    },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.spec.containers[0].env, [
    { name: "A", value: "1" },
    { name: "B", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
  ]);
});

// ---- nested merges by key ----

test("merges into spec.template.spec.containers[name=app].ports by containerPort", () => {
  const result = applyStrategicMergePatch(
    deployment(),
    {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "app",
                ports: [
                  { containerPort: 80, name: "web" },
                  { containerPort: 9090, name: "metrics" },
                ],
              },
            ],
          },
        },
      },
    },
    "V1Deployment",
  ) as any;
  const [app, sidecar] = result.spec.template.spec.containers;
  assert.deepEqual(app.ports, [
    { containerPort: 80, name: "web", protocol: "TCP" },
    { containerPort: 9090, name: "metrics" },
  ]);
  assert.equal(app.image, "example/app:1");
  assert.deepEqual(app.livenessProbe, deployment().spec.template.spec.containers[0].livenessProbe);
  assert.deepEqual(sidecar, deployment().spec.template.spec.containers[1]);
});

test("merges service ports by port and appends new ones", () => {
  const service = { spec: { ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] } };
  const result = applyStrategicMergePatch(
    service,
    {
      spec: {
        ports: [
          { port: 80, targetPort: 9090 },
          { name: "https", port: 443 },
        ],
      },
    },
    "V1Service",
  ) as any;
  assert.deepEqual(result.spec.ports, [
    { name: "http", port: 80, targetPort: 9090, protocol: "TCP" },
    { name: "https", port: 443 },
  ]);
});

test("status conditions merge by type, as the kubelet patches them", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    {
      status: {
        "$setElementOrder/conditions": [{ type: "Initialized" }, { type: "Ready" }, { type: "PodScheduled" }],
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2024-01-01T00:00:00Z" }],
      },
    },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.status.conditions, [
    { type: "Initialized", status: "True" },
    { type: "Ready", status: "True", lastTransitionTime: "2024-01-01T00:00:00Z" },
    { type: "PodScheduled", status: "True" },
  ]);
});

test("ownerReferences merge by uid", () => {
  const obj = { metadata: { ownerReferences: [{ uid: "1", kind: "ReplicaSet", name: "a" }] } };
  const result = applyStrategicMergePatch(
    obj,
    {
      metadata: {
        ownerReferences: [
          { uid: "1", controller: true },
          { uid: "2", kind: "Job", name: "b" },
        ],
      },
    },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.metadata.ownerReferences, [
    { uid: "1", kind: "ReplicaSet", name: "a", controller: true },
    { uid: "2", kind: "Job", name: "b" },
  ]);
});

test("lists without a strategy are replaced", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    {
      spec: {
        tolerations: [{ key: "b", operator: "Exists" }],
        containers: [{ name: "nginx", args: ["-g"] }],
      },
    },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.spec.tolerations, [{ key: "b", operator: "Exists" }]);
  const withArgs = applyStrategicMergePatch(
    result,
    { spec: { containers: [{ name: "nginx", args: ["-x"] }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(withArgs.spec.containers[0].args, ["-x"]);
});

test("a merged list the original lacks is built from the patch", () => {
  const pod = { spec: {} };
  const result = applyStrategicMergePatch(
    pod,
    {
      spec: {
        containers: [
          { name: "a", image: "x" },
          { name: "gone", $patch: "delete" },
        ],
      },
    },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.spec.containers, [{ name: "a", image: "x" }]);
});

// ---- order ----

test("without $setElementOrder, the list is ordered by upstream's interleaving rule", () => {
  const pod = { spec: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }] } };
  // Untouched items that preceded the first patched item stay in front of it.
  const appended = applyStrategicMergePatch(
    pod,
    { spec: { containers: [{ name: "c", image: "x" }, { name: "d" }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(names(appended.spec.containers), ["a", "b", "c", "d"]);
  assert.equal(appended.spec.containers[2].image, "x");
  // A patch of only new items puts them first, as upstream does (kubectl apply always sends
  // $setElementOrder, so it is not affected).
  const prepended = applyStrategicMergePatch(pod, { spec: { containers: [{ name: "d" }] } }, "V1Pod") as any;
  assert.deepEqual(names(prepended.spec.containers), ["d", "a", "b", "c"]);
  // The patch's own relative order (c before a) is honoured, as upstream does.
  const swapped = applyStrategicMergePatch(
    pod,
    { spec: { containers: [{ name: "c" }, { name: "a" }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(names(swapped.spec.containers), ["b", "c", "a"]);
});

test("$setElementOrder fixes the order of the merged list", () => {
  const pod = {
    spec: {
      containers: [
        { name: "a", image: "1" },
        { name: "b", image: "2" },
        { name: "c", image: "3" },
      ],
    },
  };
  const reordered = applyStrategicMergePatch(
    pod,
    { spec: { "$setElementOrder/containers": [{ name: "c" }, { name: "a" }, { name: "b" }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(names(reordered.spec.containers), ["c", "a", "b"]);
  assert.equal(reordered.spec.containers[0].image, "3");

  const inserted = applyStrategicMergePatch(
    pod,
    {
      spec: {
        "$setElementOrder/containers": [{ name: "a" }, { name: "new" }, { name: "b" }, { name: "c" }],
        containers: [{ name: "new", image: "n" }],
      },
    },
    "V1Pod",
  ) as any;
  assert.deepEqual(names(inserted.spec.containers), ["a", "new", "b", "c"]);
  assertNoDirectives(inserted);
});

test("$setElementOrder on a list without a strategy is ignored and the list replaced", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    { spec: { "$setElementOrder/tolerations": [{ key: "z" }], tolerations: [{ key: "z" }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.spec.tolerations, [{ key: "z" }]);
  assertNoDirectives(result);
});

// ---- directives ----

test("$patch: replace on a map replaces it instead of merging", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    { metadata: { labels: { $patch: "replace", only: "this" } } },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.metadata.labels, { only: "this" });
  assert.equal(result.metadata.name, "nginx");
});

test("$patch: replace in a list replaces the whole list with the patch's items", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    { spec: { containers: [{ name: "solo", image: "busybox" }, { $patch: "replace" }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.spec.containers, [{ name: "solo", image: "busybox" }]);
  const finalizers = applyStrategicMergePatch(
    nginxPod(),
    { metadata: { finalizers: ["only", { $patch: "replace" }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(finalizers.metadata.finalizers, ["only"]);
});

test("$patch: delete on a map removes it; on a list item removes that item", () => {
  const result = applyStrategicMergePatch(
    deployment(),
    { spec: { strategy: { rollingUpdate: { $patch: "delete" } } } },
    "V1Deployment",
  ) as any;
  assert.deepEqual(result.spec.strategy, { type: "RollingUpdate" });

  const gone = applyStrategicMergePatch(
    deployment(),
    { spec: { template: { spec: { containers: [{ name: "sidecar", $patch: "delete" }] } } } },
    "V1Deployment",
  ) as any;
  assert.deepEqual(names(gone.spec.template.spec.containers), ["app"]);

  assert.deepEqual(applyStrategicMergePatch(deployment(), { $patch: "delete" }, "V1Deployment"), {});
});

test("$patch: merge is the default and leaves no trace", () => {
  const result = applyStrategicMergePatch(
    nginxPod(),
    { metadata: { labels: { $patch: "merge", tier: "fe" } } },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.metadata.labels, { app: "nginx", tier: "fe" });
});

test("$retainKeys switches a deployment from RollingUpdate to Recreate", () => {
  // As kubectl apply sends it.
  const applied = applyStrategicMergePatch(
    deployment(),
    { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: null, type: "Recreate" } } },
    "V1Deployment",
  ) as any;
  assert.deepEqual(applied.spec.strategy, { type: "Recreate" });
  // $retainKeys alone also clears the other union members.
  const bare = applyStrategicMergePatch(
    deployment(),
    { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } },
    "V1Deployment",
  ) as any;
  assert.deepEqual(bare.spec.strategy, { type: "Recreate" });
  // Without it, a plain patch keeps rollingUpdate (and validation will complain), as upstream.
  const plain = applyStrategicMergePatch(
    deployment(),
    { spec: { strategy: { type: "Recreate" } } },
    "V1Deployment",
  ) as any;
  assert.deepEqual(plain.spec.strategy.rollingUpdate, { maxSurge: "25%", maxUnavailable: "25%" });
});

test("$retainKeys in a volume switches its source (volumes are merge,retainKeys)", () => {
  const result = applyStrategicMergePatch(
    deployment(),
    {
      spec: {
        template: {
          spec: {
            volumes: [{ $retainKeys: ["configMap", "name"], configMap: { name: "cm" }, name: "data" }],
          },
        },
      },
    },
    "V1Deployment",
  ) as any;
  assert.deepEqual(result.spec.template.spec.volumes, [{ name: "data", configMap: { name: "cm" } }]);
});

test("directives in values the original lacks are still honoured", () => {
  const noStrategy = deployment() as any;
  delete noStrategy.spec.strategy;
  const result = applyStrategicMergePatch(
    noStrategy,
    { spec: { strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null } } },
    "V1Deployment",
  ) as any;
  assert.deepEqual(result.spec.strategy, { type: "Recreate" });
});

test("invalid directives are rejected", () => {
  const pod = nginxPod();
  assertRejected(
    pod,
    { metadata: { labels: { $patch: "explode" } } },
    "V1Pod",
    400,
    /unknown patch type: "explode"/,
  );
  assertRejected(
    pod,
    { spec: { containers: [{ name: "nginx", $patch: "nope" }] } },
    "V1Pod",
    400,
    /unknown patch type: "nope"/,
  );
  assertRejected(
    pod,
    { spec: { containers: [{ $patch: "delete" }] } },
    "V1Pod",
    422,
    /does not contain declared merge key: name/,
  );
  assertRejected(
    pod,
    { spec: { containers: [{ image: "x" }] } },
    "V1Pod",
    422,
    /does not contain declared merge key: name/,
  );
  assertRejected(
    pod,
    { spec: { containers: ["nginx"] } },
    "V1Pod",
    422,
    /expected a map in a list merged by name/,
  );
  assertRejected(
    pod,
    { metadata: { finalizers: [{ $patch: "delete" }] } },
    "V1Pod",
    422,
    /list of primitives/,
  );
  assertRejected(
    deployment(),
    { spec: { strategy: { $retainKeys: "type" } } },
    "V1Deployment",
    400,
    /invalid patch format of retainKeys/,
  );
  assertRejected(
    deployment(),
    { spec: { strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: { maxSurge: 1 } } } },
    "V1Deployment",
    400,
    /"rollingUpdate" is set but not in \$retainKeys/,
  );
  assertRejected(
    pod,
    { spec: { "$setElementOrder/containers": "nginx" } },
    "V1Pod",
    400,
    /setElementOrder list/,
  );
  assertRejected(
    pod,
    { spec: { "$setElementOrder/containers": [{ image: "x" }] } },
    "V1Pod",
    400,
    /merge key name/,
  );
  assertRejected(
    pod,
    { spec: { "$setElementOrder/containers": [{ name: "a" }], containers: [{ name: "b" }] } },
    "V1Pod",
    400,
    /doesn't match \$setElementOrder\/containers list/,
  );
  assertRejected(
    pod,
    {
      spec: {
        "$setElementOrder/containers": [{ name: "a" }, { name: "b" }],
        containers: [{ name: "b" }, { name: "a" }],
      },
    },
    "V1Pod",
    400,
    /doesn't match/,
  );
  assertRejected(
    pod,
    { metadata: { "$deleteFromPrimitiveList/finalizers": "example.com/a" } },
    "V1Pod",
    400,
    /primitive list/,
  );
  assertRejected(
    pod,
    { metadata: { "$deleteFromPrimitiveList/name": ["nginx"] } },
    "V1Pod",
    422,
    /name is not a list/,
  );
});

// ---- schema-less parts ----

test("unknown models and fields merge as plain JSON merge patch", () => {
  const obj = { spec: { containers: [{ name: "a" }], extra: { list: [1, 2], keep: true } } };
  const patch = { spec: { containers: [{ name: "b" }], extra: { list: [3] } } };
  const unknown = applyStrategicMergePatch(obj, patch, "NoSuchModel") as any;
  assert.deepEqual(unknown.spec, { containers: [{ name: "b" }], extra: { list: [3], keep: true } });
  // An unknown field of a known model too.
  const pod = applyStrategicMergePatch(
    { spec: { custom: { items: [{ name: "x" }] } } },
    { spec: { custom: { items: [{ name: "y" }] } } },
    "V1Pod",
  ) as any;
  assert.deepEqual(pod.spec.custom.items, [{ name: "y" }]);
});

test("keys that merely start with $ (such as JSON schema $ref) are data", () => {
  const crd = {
    spec: {
      versions: [
        {
          name: "v1",
          schema: { openAPIV3Schema: { type: "object", properties: { a: { $ref: "#/x", type: "string" } } } },
        },
      ],
    },
  };
  const result = applyStrategicMergePatch(
    crd,
    {
      spec: {
        versions: [{ name: "v1", schema: { openAPIV3Schema: { properties: { a: { description: "d" } } } } }],
      },
    },
    "V1CustomResourceDefinition",
  ) as any;
  // versions has no strategy, so the list is replaced whole.
  assert.deepEqual(result.spec.versions, [
    { name: "v1", schema: { openAPIV3Schema: { properties: { a: { description: "d" } } } } },
  ]);
  const merged = applyStrategicMergePatch(
    crd.spec.versions[0],
    { schema: { openAPIV3Schema: { properties: { a: { $ref: "#/y" } } } } },
    "V1CustomResourceDefinitionVersion",
  ) as any;
  assert.deepEqual(merged.schema.openAPIV3Schema.properties.a, { $ref: "#/y", type: "string" });
});

test("a value of another type replaces the original", () => {
  const result = applyStrategicMergePatch(
    { spec: { nodeSelector: "odd", containers: "odd" } },
    { spec: { nodeSelector: { a: "b" }, containers: [{ name: "x" }] } },
    "V1Pod",
  ) as any;
  assert.deepEqual(result.spec, { nodeSelector: { a: "b" }, containers: [{ name: "x" }] });
});

// ---- purity ----

test("does not modify its inputs nor share structure with the result", () => {
  const original = nginxPod();
  const patch = {
    metadata: { labels: { app: null } },
    spec: {
      containers: [
        { name: "nginx", ports: [{ containerPort: 80, $patch: "delete" }] },
        { name: "new", env: [{ name: "X" }] },
      ],
    },
  };
  const before = structuredClone({ original, patch });
  const result = applyStrategicMergePatch(original, patch, "V1Pod") as any;
  assert.deepEqual({ original, patch }, before);
  result.spec.containers[1].env[0].name = "changed";
  result.spec.tolerations[0].key = "changed";
  assert.deepEqual({ original, patch }, before);
});

test("apply mode treats null and $-keys as data rather than instructions", () => {
  const result = mergeStrategically(
    nginxPod(),
    {
      metadata: { labels: { app: null } },
      spec: { nodeSelector: null, containers: [{ name: "nginx", image: "nginx:2" }] },
    },
    "V1Pod",
    "apply",
  ) as any;
  assert.deepEqual(result.metadata.labels, { app: "nginx" });
  assert.deepEqual(result.spec.nodeSelector, { disk: "ssd" });
  assert.equal(result.spec.containers[0].image, "nginx:2");
  assert.equal(result.spec.containers[0].ports.length, 2);
});

test("a non-object patch is malformed", () => {
  assertRejected(nginxPod(), [] as unknown as object, "V1Pod", 400, /must be a JSON object/);
});
