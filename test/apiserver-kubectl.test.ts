// The sandbox API server through the real kubectl (1.33 and 1.27): the seeds' manifests and
// commands, watches, explain, and the answers to bad input.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { eventually, KUBECTL, type Sandbox, startSandbox } from "./support/sandbox.ts";
import { probeDeployment } from "./support/seed-004-manifests.ts";

const NGINX_POD = `apiVersion: v1
kind: Pod
metadata:
  name: nginx
spec:
  containers:
    - name: nginx
      image: nginx
`;

const DEMO_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: demo
spec:
  ports:
    -
      port: 80
  selector:
    app: demo
`;

const DEMO_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
spec:
  replicas: 3
  selector:
    matchLabels:
      app: demo
  template:
    metadata:
      labels:
        app: demo
    spec:
      containers:
      - name: nginx
        image: nginx
        resources:
          requests:
            cpu: 100m
            memory: 100Mi
        ports:
        - containerPort: 80
`;

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({ virtualNodes: 1 });
});
after(async () => {
  await sb?.stop();
});

for (const version of ["1.33", "1.27"] as const) {
  describe(`kubectl ${version}`, () => {
    const k = (args: string[], input?: string) => sb.kubectl(args, { version, input });
    const ns = `seed-${version.replace(".", "-")}`;

    test("namespace for this version", async () => {
      const r = await k(["create", "namespace", ns]);
      assert.equal(r.code, 0, r.stderr);
    });

    test("seed 000: the nginx pod is created, listed, described, annotated, templated and deleted", async () => {
      let r = await k(["-n", ns, "create", "-f", "-"], NGINX_POD);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /pod\/nginx created/);
      await eventually(
        async () =>
          (await k(["-n", ns, "get", "pod", "nginx", "-o", "jsonpath={.status.phase}"])).stdout === "Running",
        20_000,
        "nginx Running",
      );
      r = await k(["-n", ns, "get", "pods", "-o", "wide"]);
      assert.match(
        r.stdout,
        /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n/,
      );
      assert.match(r.stdout, /\nnginx\s+1\/1\s+Running\s+0\s+\S+\s+\d+\.\d+\.\d+\.\d+\s+virtual-node-1\s/);
      r = await k(["-n", ns, "annotate", "pod", "nginx", 'raven.io/port={"name":"nginx"}']);
      assert.equal(r.code, 0, r.stderr);
      r = await k([
        "-n",
        ns,
        "get",
        "pod",
        "nginx",
        "-o",
        "template",
        "--template={{.metadata.annotations}}",
      ]);
      assert.equal(r.stdout, 'map[raven.io/port:{"name":"nginx"}]');
      r = await k(["-n", ns, "describe", "pod", "nginx"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Name:\s+nginx$/m);
      assert.match(r.stdout, /^Status:\s+Running$/m);
      assert.match(r.stdout, /Successfully assigned .*\/nginx to virtual-node-1/);
      r = await k(["-n", ns, "delete", "pod", "nginx"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /pod "nginx" deleted/);
      r = await k(["-n", ns, "get", "pod", "nginx"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Error from server \(NotFound\): pods "nginx" not found/);
    });

    test("seed 001: the demo Service gets a ClusterIP, takes the externalIPs patch and is deleted", async () => {
      let r = await k(["-n", ns, "create", "-f", "-"], DEMO_SERVICE);
      assert.equal(r.code, 0, r.stderr);
      const ip = (await k(["-n", ns, "get", "svc", "demo", "-o", "jsonpath={.spec.clusterIP}"])).stdout;
      assert.match(ip, /^10\.0\.0\.\d+$/);
      r = await k(["-n", ns, "patch", "service", "demo", "-p", '{"spec":{"externalIPs":["172.16.0.4"]}}']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /service\/demo patched/);
      r = await k(["-n", ns, "get", "svc", "demo"]);
      assert.match(
        r.stdout,
        new RegExp(`demo\\s+ClusterIP\\s+${ip.replace(/\./g, "\\.")}\\s+172\\.16\\.0\\.4\\s+80/TCP`),
      );
      r = await k(["-n", ns, "get", "svc", "demo", "-o", "jsonpath={.spec.clusterIP}"]);
      assert.equal(r.stdout, ip, "the ClusterIP survives the patch");
      r = await k(["-n", ns, "delete", "service", "demo"]);
      assert.match(r.stdout, /service "demo" deleted/);
    });

    test("seed 001 walkthrough: the demo Deployment's pods outlive the Service and go with the Deployment", async () => {
      let r = await k(["-n", ns, "create", "-f", "-"], DEMO_DEPLOYMENT);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deployment.apps\/demo created/);
      r = await k(["-n", ns, "create", "-f", "-"], DEMO_SERVICE);
      assert.equal(r.code, 0, r.stderr);
      const pods = await eventually(
        async () => {
          const out = (await k(["-n", ns, "get", "pods", "--no-headers"])).stdout
            .trim()
            .split("\n")
            .filter(Boolean);
          return out.length === 3 && out.every((l) => /\s1\/1\s+Running\s/.test(l)) ? out : undefined;
        },
        30_000,
        "3 running demo pods",
      );
      for (const line of pods ?? [])
        assert.match(line, /^demo-\d+-[a-z0-9]{5}\s/, "pod names like demo-914545731-ralez");
      r = await k(["-n", ns, "get", "deploy", "demo"]);
      assert.match(r.stdout, /demo\s+3\/3\s+3\s+3\s/);
      await eventually(
        async () =>
          (
            await k(["-n", ns, "get", "endpoints", "demo", "-o", "jsonpath={.subsets[0].addresses[*].ip}"])
          ).stdout
            .split(" ")
            .filter(Boolean).length === 3,
        20_000,
        "3 endpoints",
      );
      r = await k(["-n", ns, "delete", "service", "demo"]);
      assert.match(r.stdout, /service "demo" deleted/);
      r = await k(["-n", ns, "get", "pods", "--no-headers"]);
      assert.equal(r.stdout.trim().split("\n").length, 3, "deleting the Service leaves the pods");
      r = await k(["-n", ns, "delete", "deployment", "demo"]);
      assert.match(r.stdout, /deployment.apps "demo" deleted/);
      await eventually(
        async () => (await k(["-n", ns, "get", "pods,rs", "--no-headers"])).stdout.trim() === "",
        30_000,
        "no pods or ReplicaSets",
      );
    });

    test("seed 004: the probe Deployment is applied, re-applied with port 8080 and explained", async () => {
      let r = await k(["-n", ns, "apply", "-f", "-"], probeDeployment(8081));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deployment.apps\/hello-world created/);
      r = await k(["-n", ns, "apply", "-f", "-"], probeDeployment(8080));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deployment.apps\/hello-world configured/);
      r = await k([
        "-n",
        ns,
        "get",
        "deploy",
        "hello-world",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].livenessProbe.tcpSocket.port} {.spec.template.spec.containers[0].readinessProbe.httpGet.port} {.metadata.generation}",
      ]);
      assert.equal(r.stdout, "8080 8080 2");
      r = await k(["explain", "pods.spec.restartPolicy"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /FIELD:\s+restartPolicy <string>/);
      assert.match(r.stdout, /Restart policy for all containers within the pod/);
      r = await k(["-n", ns, "delete", "deployment", "hello-world"]);
      assert.equal(r.code, 0, r.stderr);
    });

    test("label, edit, wait and delete --wait behave as on a real cluster", async () => {
      let r = await k(
        ["-n", ns, "create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ed}\ndata: {a: 'one'}\n",
      );
      assert.equal(r.code, 0, r.stderr);
      r = await k(["-n", ns, "label", "configmap", "ed", "tier=web"]);
      assert.match(r.stdout, /configmap\/ed labeled/);
      r = await k(["-n", ns, "get", "cm", "-l", "tier=web", "-o", "name"]);
      assert.equal(r.stdout.trim(), "configmap/ed");
      const editor = `${sb.dir}/editor.sh`;
      writeFileSync(editor, "#!/bin/sh\nsed -i 's/a: one/a: two/' \"$1\"\n", { mode: 0o755 });
      r = await sb.kubectl(["-n", ns, "edit", "configmap", "ed"], {
        version,
        env: { EDITOR: editor, KUBE_EDITOR: editor },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /configmap\/ed edited/);
      r = await k(["-n", ns, "get", "cm", "ed", "-o", "jsonpath={.data.a}"]);
      assert.equal(r.stdout, "two");
      r = await k(["-n", ns, "run", "waiter", "--image=busybox", "--", "sleep", "3600"]);
      assert.equal(r.code, 0, r.stderr);
      r = await k(["-n", ns, "wait", "--for=condition=Ready", "pod/waiter", "--timeout=30s"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /pod\/waiter condition met/);
      r = await k(["-n", ns, "delete", "pod", "waiter", "--wait=true", "--timeout=30s"]);
      assert.equal(r.code, 0, r.stderr);
      r = await k(["-n", ns, "get", "pod", "waiter"]);
      assert.match(r.stderr, /NotFound/);
    });

    test("bad input gets Kubernetes status errors", async () => {
      let r = await k(
        ["-n", ns, "create", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c, image: x}]}\n",
      );
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /The Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
      );
      r = await k(
        ["-n", ns, "create", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {restartPolicy: Sometimes, containers: [{name: c, image: x}]}\n",
      );
      assert.match(
        r.stderr,
        /spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"/,
      );
      r = await k(["-n", ns, "create", "-f", "-"], "apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n");
      assert.match(r.stderr, /no matches for kind "Widget" in version "v1"/);
      r = await k(
        ["-n", ns, "create", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x, imagee: y}]}\n",
      );
      assert.match(r.stderr, /unknown field "spec.containers\[0\].imagee"/);
      r = await k(["-n", ns, "create", "configmap", "dup", "--from-literal=a=b"]);
      r = await k(
        ["-n", ns, "create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\n",
      );
      assert.match(r.stderr, /AlreadyExists.*configmaps "dup" already exists/);
    });
  });
}

test("kubectl get -w streams ADDED, MODIFIED and DELETED", async () => {
  const child = spawn(KUBECTL("1.33"), ["get", "configmaps", "-w", "--output-watch-events"], {
    env: { ...process.env, KUBECONFIG: sb.kubeconfig, HOME: `${sb.dir}/home` },
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  try {
    // The header appears once the initial list is done and the watch is open.
    await eventually(() => out.includes("EVENT") || out === "", 5000);
    await new Promise((r) => setTimeout(r, 1000));
    await sb.kubectl(["create", "-f", "-"], {
      input: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: '1'}\n",
    });
    await sb.kubectl(["label", "configmap", "watched", "x=y"]);
    await sb.kubectl(["delete", "configmap", "watched"]);
    await eventually(() => /DELETED\s+watched/.test(out), 15_000, "DELETED line");
    assert.match(out, /ADDED\s+watched\s+1\s/);
    assert.match(out, /MODIFIED\s+watched\s+1\s/);
  } finally {
    child.kill();
  }
});

test("a stale resourceVersion conflicts, an oversized object is refused, and the server stays healthy", async () => {
  const cm = (await sb.client.create(
    { group: "", version: "v1", plural: "configmaps", namespaced: true },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "occ", namespace: "default" },
      data: { a: "1" },
    },
  )) as any;
  await sb.client.update(
    { group: "", version: "v1", plural: "configmaps", namespaced: true },
    { ...cm, data: { a: "2" } },
  );
  await assert.rejects(
    sb.client.update(
      { group: "", version: "v1", plural: "configmaps", namespaced: true },
      { ...cm, data: { a: "3" } },
    ),
    (err: any) => err.code === 409 && /the object has been modified/.test(err.message),
  );
  const big = "x".repeat(4 * 1024 * 1024);
  await assert.rejects(
    sb.client.create(
      { group: "", version: "v1", plural: "configmaps", namespaced: true },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "big", namespace: "default" },
        data: { a: big },
      },
    ),
    (err: any) => err.code === 413,
  );
  const bad: any = await sb.client
    .raw("POST", "/api/v1/namespaces/default/configmaps", undefined, {
      contentType: "application/json",
      headers: {},
    })
    .catch((e) => e);
  assert.equal(bad.code, 400);
  const malformed: any = await sb.client
    .raw("POST", "/api/v1/namespaces/default/configmaps", '{"metadata": {"name": "x"', {
      contentType: "application/json",
    })
    .catch((e) => e);
  assert.equal(malformed.code, 400);
  assert.match(malformed.message, /not valid JSON/);
  const badYaml: any = await sb.client
    .raw("POST", "/api/v1/namespaces/default/configmaps", "metadata: {name: [x", {
      contentType: "application/yaml",
    })
    .catch((e) => e);
  assert.equal(badYaml.code, 400);
  assert.match(badYaml.message, /error converting YAML to JSON/);
  const unknown: any = await sb.client.raw("GET", "/api/v1/namespaces/default/widgets").catch((e) => e);
  assert.equal(unknown.code, 404);
  const got = (await sb.client.get(
    { group: "", version: "v1", plural: "configmaps", namespaced: true },
    "default",
    "occ",
  )) as any;
  assert.equal(got.data.a, "2", "the stored object is intact");
  const health = await sb.kubectl(["get", "--raw", "/readyz"]);
  assert.equal(health.stdout, "ok");
});
