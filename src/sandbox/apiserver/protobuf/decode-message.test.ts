// Synthetic bodies for what the recordings do not show, built with the test encoder and the field
// numbers from the tables (see messages-*.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage } from "./decode-message.ts";
import { KubernetesProtobufError } from "./errors.ts";
import { decodeKubernetesProtobuf } from "./index.ts";
import { bytes, fixed32, fixed64, kubernetesBody, mapEntry, message, varint } from "./testing.ts";

const isError = (reason: string) => (e: unknown) =>
  e instanceof KubernetesProtobufError && e.reason === reason;
const intOrString = (type: number, intVal: number, strVal: string) =>
  message(varint(1, type), varint(2, intVal), bytes(3, strVal));
const quantity = (s: string) => message(bytes(1, s));

test("IntOrString: int, string, and 0 (Go's JSON prints a zero IntOrString, as a struct)", () => {
  const port = (target: Buffer) => message(varint(3, 80), bytes(4, target));
  const spec = decodeMessage(
    message(
      bytes(1, port(intOrString(0, 8080, ""))),
      bytes(1, port(intOrString(1, 0, "http"))),
      bytes(1, port(intOrString(0, 0, ""))),
    ),
    "ServiceSpec",
    "Service.spec",
  );
  assert.deepEqual(spec.ports, [
    { port: 80, targetPort: 8080 },
    { port: 80, targetPort: "http" },
    { port: 80, targetPort: 0 },
  ]);
});

test("IntOrString in a pointer field: 0 when set (maxSurge: 0 is a real setting), absent when not", () => {
  const rolling = message(bytes(1, intOrString(1, 0, "25%")), bytes(2, intOrString(0, 0, "")));
  assert.deepEqual(decodeMessage(rolling, "RollingUpdateDeployment", "x"), {
    maxUnavailable: "25%",
    maxSurge: 0,
  });
  assert.deepEqual(decodeMessage(message(), "RollingUpdateDeployment", "x"), {});
});

test("Quantity map values are strings", () => {
  const resources = message(
    mapEntry(1, "cpu", quantity("500m")),
    mapEntry(1, "memory", quantity("128Mi")),
    mapEntry(2, "cpu", Buffer.alloc(0)),
  );
  assert.deepEqual(decodeMessage(resources, "ResourceRequirements", "x"), {
    limits: { cpu: "500m", memory: "128Mi" },
    requests: { cpu: "0" },
  });
});

test("bytes maps are base64; a missing map value is the zero value, a missing key is ''", () => {
  const secret = message(
    mapEntry(2, "bin", Buffer.from([0, 255])),
    bytes(2, message(bytes(1, "novalue"))),
    bytes(2, message(bytes(2, Buffer.from("v")))),
    mapEntry(4, "plain", "text"),
    bytes(3, "Opaque"),
  );
  assert.deepEqual(decodeMessage(secret, "Secret", "Secret"), {
    data: { bin: "AP8=", novalue: "", "": "dg==" },
    stringData: { plain: "text" },
    type: "Opaque",
  });
});

test("string maps keep empty values", () => {
  const meta = message(
    bytes(1, "x"),
    mapEntry(11, "a", ""),
    mapEntry(11, "b", "2"),
    mapEntry(12, "note", ""),
  );
  assert.deepEqual(decodeMessage(meta, "ObjectMeta", "x"), {
    name: "x",
    labels: { a: "", b: "2" },
    annotations: { note: "" },
  });
});

test("zero scalars: dropped for non-pointer fields (Go always encodes them), kept for pointer fields", () => {
  const spec = message(
    varint(1, 0), // replicas *int32
    varint(5, 0), // minReadySeconds int32
    varint(6, 0), // revisionHistoryLimit *int32
    varint(7, 0), // paused bool
    bytes(4, message(bytes(1, ""))), // strategy {type ""}
  );
  assert.deepEqual(decodeMessage(spec, "DeploymentSpec", "x"), {
    replicas: 0,
    revisionHistoryLimit: 0,
    strategy: {},
  });
  const sa = message(bytes(1, message(bytes(1, "sa"))), varint(4, false));
  assert.deepEqual(decodeMessage(sa, "ServiceAccount", "x"), {
    metadata: { name: "sa" },
    automountServiceAccountToken: false,
  });
  const pod = message(varint(11, false), varint(21, false), bytes(3, ""), varint(4, 0)); // hostNetwork, automount..., restartPolicy, terminationGracePeriodSeconds
  assert.deepEqual(decodeMessage(pod, "PodSpec", "x"), {
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: 0,
  });
});

test("required fields (no omitempty in Go) keep their zero, as Go's JSON prints it", () => {
  const container = message(
    bytes(1, ""), // name
    bytes(6, message(varint(3, 0))), // ports[0].containerPort
    bytes(12, message(bytes(1, message(bytes(4, message(varint(1, 0))))))), // lifecycle.postStart.sleep.seconds
  );
  assert.deepEqual(decodeMessage(container, "Container", "x"), {
    name: "",
    ports: [{ containerPort: 0 }],
    lifecycle: { postStart: { sleep: { seconds: 0 } } },
  });
});

test("list items are kept as sent, zeros included; packed varint lists are accepted", () => {
  const container = message(bytes(1, "c"), bytes(3, "sh"), bytes(3, ""), bytes(4, "-c"));
  assert.deepEqual(decodeMessage(container, "Container", "x"), {
    name: "c",
    command: ["sh", ""],
    args: ["-c"],
  });
  const unpacked = message(varint(4, 1000), varint(4, 0));
  const packed = bytes(4, Buffer.from([0xe8, 0x07, 0x00]));
  for (const psc of [unpacked, packed])
    assert.deepEqual(decodeMessage(psc, "PodSecurityContext", "x"), { supplementalGroups: [1000, 0] });
});

test("unknown fields of every wire type are skipped, at the top level and nested", () => {
  const meta = message(bytes(1, "n1"), varint(99, 5), fixed32(98, 1), fixed64(97, 2n), bytes(96, "junk"));
  const ns = message(
    bytes(1, meta),
    bytes(2, message()),
    bytes(3, message(bytes(1, "Active"))),
    varint(50, 1),
  );
  assert.deepEqual(decodeKubernetesProtobuf(kubernetesBody("v1", "Namespace", ns)), {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "n1" },
    spec: {},
  });
});

test("Time: the empty message is unset (kubectl's creationTimestamp), else RFC 3339 in seconds", () => {
  const meta = message(
    bytes(1, "x"),
    bytes(8, message()),
    bytes(9, message(varint(1, 1_700_000_000), varint(2, 500_000_000))),
  );
  assert.deepEqual(decodeMessage(meta, "ObjectMeta", "x"), {
    name: "x",
    deletionTimestamp: "2023-11-14T22:13:20Z",
  });
  const epoch = message(bytes(8, message(varint(1, 0), varint(2, 0))));
  assert.deepEqual(decodeMessage(epoch, "ObjectMeta", "x"), { creationTimestamp: "1970-01-01T00:00:00Z" });
});

test("managedFields: time and the raw JSON of fieldsV1", () => {
  const entry = message(
    bytes(1, "kubectl"),
    bytes(2, "Update"),
    bytes(4, message(varint(1, 1_700_000_000))),
    bytes(6, "FieldsV1"),
    bytes(7, message(bytes(1, '{"f:metadata":{"f:labels":{}}}'))),
  );
  assert.deepEqual(decodeMessage(message(bytes(17, entry)), "ObjectMeta", "x"), {
    managedFields: [
      {
        manager: "kubectl",
        operation: "Update",
        time: "2023-11-14T22:13:20Z",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:metadata": { "f:labels": {} } },
      },
    ],
  });
});

test("embedded Go structs are inlined: Volume's VolumeSource, LocalObjectReference, Probe's handler", () => {
  const configMap = message(bytes(1, message(bytes(1, "cm"))), varint(4, false));
  const volume = message(bytes(1, "conf"), bytes(2, message(bytes(19, configMap))));
  assert.deepEqual(decodeMessage(volume, "Volume", "x"), {
    name: "conf",
    configMap: { name: "cm", optional: false },
  });
  const probe = message(
    bytes(1, message(bytes(3, message(bytes(1, intOrString(0, 8080, "")))))), // handler.tcpSocket.port
    varint(4, 5), // periodSeconds
  );
  assert.deepEqual(decodeMessage(probe, "Probe", "x"), { tcpSocket: { port: 8080 }, periodSeconds: 5 });
});

test("a singular message sent twice is merged, as protobuf specifies", () => {
  const dep = message(bytes(1, message(bytes(1, "d"))), bytes(1, message(mapEntry(11, "app", "d"))));
  assert.deepEqual(decodeMessage(dep, "Deployment", "x"), { metadata: { name: "d", labels: { app: "d" } } });
});

test("status is not decoded: a create ignores it", () => {
  const pod = message(bytes(1, message(bytes(1, "p"))), bytes(3, message(bytes(3, "Running"))));
  assert.deepEqual(decodeKubernetesProtobuf(kubernetesBody("v1", "Pod", pod)), {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
  });
});

test("every covered kind decodes from an empty message", () => {
  for (const [apiVersion, kind] of [
    ["v1", "Namespace"],
    ["v1", "ConfigMap"],
    ["v1", "Secret"],
    ["v1", "Service"],
    ["v1", "ServiceAccount"],
    ["v1", "Pod"],
    ["apps/v1", "Deployment"],
    ["apps/v1", "ReplicaSet"],
    ["apps/v1", "DaemonSet"],
    ["batch/v1", "Job"],
    ["batch/v1", "CronJob"],
    ["policy/v1", "Eviction"],
    ["meta.k8s.io/v1", "DeleteOptions"],
  ])
    assert.deepEqual(decodeKubernetesProtobuf(kubernetesBody(apiVersion, kind, Buffer.alloc(0))), {
      apiVersion,
      kind,
    });
});

test("the same kind in a version without a table is UnsupportedKind", () => {
  assert.throws(
    () => decodeKubernetesProtobuf(kubernetesBody("apps/v1beta1", "Deployment", Buffer.alloc(0))),
    (e) => {
      assert.ok(isError("UnsupportedKind")(e));
      assert.match((e as Error).message, /"Deployment" \(apiVersion "apps\/v1beta1"\)/);
      return true;
    },
  );
});

test("a field with the wrong wire type is Malformed, naming where", () => {
  const meta = message(varint(1, 3));
  assert.throws(
    () => decodeKubernetesProtobuf(kubernetesBody("v1", "ConfigMap", message(bytes(1, meta)))),
    (e) => isError("Malformed")(e) && /ConfigMap\.metadata\.name/.test((e as Error).message),
  );
});

test("a nested length prefix running past its parent is Truncated, naming where", () => {
  const spec = Buffer.concat([Buffer.from([(2 << 3) | 2, 50]), Buffer.from("short")]);
  assert.throws(
    () => decodeKubernetesProtobuf(kubernetesBody("apps/v1", "Deployment", message(bytes(2, spec)))),
    (e) => isError("Truncated")(e) && /Deployment\.spec/.test((e as Error).message),
  );
});

test("a compressed inner object (contentEncoding set) is refused as Malformed", () => {
  const body = Buffer.concat([
    Buffer.from("k8s\0", "latin1"),
    bytes(1, message(bytes(1, "v1"), bytes(2, "Pod"))),
    bytes(2, "x"),
    bytes(3, "gzip"),
  ]);
  assert.throws(() => decodeKubernetesProtobuf(body), isError("Malformed"));
});
