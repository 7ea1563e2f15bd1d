import assert from "node:assert/strict";
import { test } from "node:test";
import { errInvalid } from "../errors.ts";
import { strategies } from "./index.ts";
import { validatePodStatusUpdate } from "./pods.ts";
import { asText, created, createErrors, updateErrors } from "./testing.ts";

const pods = strategies["/pods"];

const pod = (name: string, spec: object) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec,
});
const nginx = pod("nginx", { containers: [{ name: "nginx", image: "nginx" }] });
const busybox = pod("busybox", {
  containers: [{ name: "busybox", image: "busybox", command: ["sleep", "3600"] }],
});

test("seed pods are valid: nginx, busybox sleeping, OnFailure and Never restart policies", () => {
  assert.deepEqual(createErrors(pods, nginx), []);
  assert.deepEqual(createErrors(pods, busybox), []);
  for (const restartPolicy of ["OnFailure", "Never"]) {
    const p = pod("once", {
      restartPolicy,
      containers: [{ name: "c", image: "busybox:1.36", command: ["true"] }],
    });
    assert.deepEqual(createErrors(pods, p), []);
    assert.equal(created(pods, p).spec.restartPolicy, restartPolicy);
  }
});

test("a new pod gets upstream's defaults and admission additions", () => {
  const p = created(pods, nginx);
  assert.deepEqual(
    { ...p.spec, containers: undefined },
    {
      containers: undefined,
      dnsPolicy: "ClusterFirst",
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
      priority: 0,
      restartPolicy: "Always",
      schedulerName: "default-scheduler",
      securityContext: {},
      serviceAccount: "default",
      serviceAccountName: "default",
      terminationGracePeriodSeconds: 30,
      tolerations: [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
        {
          key: "node.kubernetes.io/unreachable",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
      ],
    },
  );
  assert.deepEqual(p.spec.containers[0], {
    name: "nginx",
    image: "nginx",
    imagePullPolicy: "Always",
    resources: {},
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
  });
  assert.deepEqual(p.status, { phase: "Pending", qosClass: "BestEffort" });
});

test("image pull policy follows the tag; probes, ports and env refs get their defaults", () => {
  const p = created(
    pods,
    pod("p", {
      containers: [
        {
          name: "a",
          image: "nginx:1.25",
          ports: [{ containerPort: 80 }],
          livenessProbe: { httpGet: { port: 80 } },
          env: [{ name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
        },
        { name: "b", image: "nginx:latest" },
        { name: "c", image: "nginx@sha256:abcd" },
        { name: "d", image: "localhost:5000/app" },
      ],
      volumes: [{ name: "scratch" }, { name: "cfg", configMap: { name: "cfg" } }],
    }),
  );
  const [a, b, c, d] = p.spec.containers;
  assert.deepEqual(
    [a, b, c, d].map((x: any) => x.imagePullPolicy),
    ["IfNotPresent", "Always", "IfNotPresent", "Always"],
  );
  assert.deepEqual(a.ports, [{ containerPort: 80, protocol: "TCP" }]);
  assert.deepEqual(a.livenessProbe, {
    httpGet: { port: 80, path: "/", scheme: "HTTP" },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(a.env[0].valueFrom.fieldRef.apiVersion, "v1");
  assert.deepEqual(p.spec.volumes, [
    { name: "scratch", emptyDir: {} },
    { name: "cfg", configMap: { name: "cfg", defaultMode: 420 } },
  ]);
});

test("requests default to limits, quantities are canonical, and the QoS class follows", () => {
  const guaranteed = created(
    pods,
    pod("g", {
      containers: [{ name: "c", image: "x", resources: { limits: { cpu: "0.5", memory: "1024Mi" } } }],
    }),
  );
  assert.deepEqual(guaranteed.spec.containers[0].resources, {
    limits: { cpu: "500m", memory: "1Gi" },
    requests: { cpu: "500m", memory: "1Gi" },
  });
  assert.equal(guaranteed.status.qosClass, "Guaranteed");
  const burstable = created(
    pods,
    pod("b", { containers: [{ name: "c", image: "x", resources: { requests: { cpu: "100m" } } }] }),
  );
  assert.equal(burstable.status.qosClass, "Burstable");
});

test("invalid pods are rejected with upstream's paths and messages", () => {
  const bad = pod("bad", {
    restartPolicy: "Sometimes",
    containers: [
      { name: "web", image: "nginx", ports: [{ containerPort: 70000 }] },
      { name: "web", image: "" },
    ],
  });
  const errs = createErrors(pods, bad);
  assert.deepEqual(errs, [
    "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    "spec.containers[1].image: Required value",
    'spec.containers[1].name: Duplicate value: "web"',
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  ]);
  const s = pods.validate!(created(pods, bad));
  assert.equal(
    errInvalid("Pod", "", "bad", s.slice(1, 2)).message,
    'Pod "bad" is invalid: spec.containers[1].image: Required value',
  );
});

test("a pod needs containers; init and regular container names share one namespace", () => {
  assert.deepEqual(createErrors(pods, pod("p", { containers: [] })), ["spec.containers: Required value"]);
  const clash = pod("p", {
    initContainers: [{ name: "app", image: "busybox" }],
    containers: [{ name: "app", image: "nginx" }],
  });
  assert.deepEqual(createErrors(pods, clash), ['spec.initContainers[0].name: Duplicate value: "app"']);
});

test("updates may change images but nothing else in the spec", () => {
  const stored = created(pods, busybox);
  const newImage = structuredClone(stored);
  newImage.spec.containers[0].image = "busybox:1.37";
  assert.deepEqual(updateErrors(pods, newImage, stored), []);
  const newCommand = structuredClone(stored);
  newCommand.spec.containers[0].command = ["sleep", "7200"];
  const errs = updateErrors(pods, newCommand, stored);
  assert.equal(errs.length, 1);
  assert.ok(
    errs[0].startsWith(
      "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n",
    ),
    errs[0],
  );
  assert.match(errs[0], /containers\[0\]\.command\[1\]: "3600"/);
  const added = structuredClone(stored);
  added.spec.containers.push({ name: "sidecar", image: "x" });
  assert.deepEqual(updateErrors(pods, added, stored), [
    "spec.containers: Forbidden: pod updates may not add or remove containers",
  ]);
});

test("activeDeadlineSeconds may only shrink and tolerations may only be added", () => {
  const stored = created(
    pods,
    pod("p", { activeDeadlineSeconds: 100, containers: [{ name: "c", image: "x" }] }),
  );
  const shorter = structuredClone(stored);
  shorter.spec.activeDeadlineSeconds = 50;
  shorter.spec.tolerations.push({ key: "k", operator: "Exists" });
  assert.deepEqual(updateErrors(pods, shorter, stored), []);
  const longer = structuredClone(stored);
  longer.spec.activeDeadlineSeconds = 200;
  assert.deepEqual(updateErrors(pods, longer, stored), [
    "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value",
  ]);
  const dropped = structuredClone(stored);
  dropped.spec.tolerations = [];
  assert.deepEqual(updateErrors(pods, dropped, stored), [
    "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds",
  ]);
});

test("status writes: IPs must be valid, QoS and node fixed, terminated containers stay terminated", () => {
  const stored = created(pods, pod("p", { restartPolicy: "Never", containers: [{ name: "c", image: "x" }] }));
  const ok = structuredClone(stored);
  ok.status = {
    ...ok.status,
    phase: "Running",
    podIP: "10.244.0.5",
    conditions: [{ type: "Ready", status: "True" }],
  };
  assert.deepEqual(validatePodStatusUpdate(ok, stored), []);
  const bad = structuredClone(stored);
  bad.status = {
    phase: "Running",
    qosClass: "Guaranteed",
    podIP: "10.244.0.300",
    conditions: [{ type: "bad type", status: "True" }],
  };
  bad.spec.nodeName = "node-1";
  assert.deepEqual(asText(validatePodStatusUpdate(bad, stored)), [
    `metadata.conditions[0].Type: Invalid value: "bad type": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    "status.nodeName: Forbidden: may not be changed directly",
    'status.qosClass: Invalid value: "Guaranteed": field is immutable',
    'status.podIPs[0]: Invalid value: "10.244.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  ]);
  const done = structuredClone(stored);
  done.status.containerStatuses = [{ name: "c", state: { terminated: { exitCode: 0 } } }];
  const revived = structuredClone(done);
  revived.status.containerStatuses = [{ name: "c", state: { running: {} } }];
  assert.deepEqual(asText(validatePodStatusUpdate(revived, done)), [
    "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state",
  ]);
});

test("podIP and podIPs are kept in step on every write", () => {
  const p = created(pods, nginx);
  p.status.podIP = "10.244.0.7";
  pods.defaults!(p);
  assert.deepEqual(p.status.podIPs, [{ ip: "10.244.0.7" }]);
});

test("pods select on node, phase, IP and the other upstream fields", () => {
  const p = created(
    pods,
    pod("p", { nodeName: "n1", hostNetwork: true, containers: [{ name: "c", image: "x" }] }),
  );
  p.status.podIPs = [{ ip: "10.0.0.9" }];
  assert.deepEqual(pods.selectableFields!(p), {
    "spec.nodeName": "n1",
    "spec.restartPolicy": "Always",
    "spec.schedulerName": "default-scheduler",
    "spec.serviceAccountName": "default",
    "spec.hostNetwork": "true",
    "status.phase": "Pending",
    "status.podIP": "10.0.0.9",
    "status.nominatedNodeName": "",
  });
});
