// The EndpointSlice and Endpoints controllers against a real sandbox: pods made with kubectl on
// virtual nodes, readiness flipped with the sandbox's ready annotation, checked through the
// API and through kubectl's own output.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KubeObject } from "../src/kube/objects.ts";
import { ENDPOINTS, ENDPOINTSLICES } from "../src/kube/resource.ts";
import { EndpointsController } from "../src/sandbox/controllers/endpoints.ts";
import { EndpointSliceController } from "../src/sandbox/controllers/endpointslice.ts";
import { eventually, runControllers, type Sandbox, startSandbox } from "./support/sandbox.ts";

/** `eventually`, for a value: polls until `fn` answers one (not undefined/false) and returns it. */
async function until<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs?: number,
  what?: string,
): Promise<T> {
  return (await eventually(fn, timeoutMs, what)) as T;
}

let sb: Sandbox;
let stopControllers: (() => Promise<void>) | undefined;

before(async () => {
  sb = await startSandbox({
    virtualNodes: 2,
    controllers: "*,-endpointslice-controller,-endpoint-controller",
  });
  stopControllers = await runControllers(sb, [new EndpointSliceController(), new EndpointsController()]);
});
after(async () => {
  await stopControllers?.();
  await sb?.stop();
});

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await sb.kubectl(args, { input });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function slicesOf(service: string, namespace = "default"): Promise<KubeObject[]> {
  const list = await sb.client.list(ENDPOINTSLICES, {
    namespace,
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  return list.items;
}

async function endpointsOf(service: string, namespace = "default"): Promise<KubeObject | undefined> {
  try {
    return await sb.client.get(ENDPOINTS, namespace, service);
  } catch {
    return undefined;
  }
}

/** name → conditions.ready of every endpoint in the Service's slices. */
async function readiness(service: string): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const s of await slicesOf(service))
    for (const ep of s.endpoints ?? []) out[ep.targetRef.name] = ep.conditions.ready;
  return out;
}

const names = (addrs: any[] | undefined) => (addrs ?? []).map((a) => a.targetRef.name).sort();

test("a Service over three pods gets one slice and an Endpoints object", async () => {
  for (const i of [1, 2, 3]) await kubectl(["run", `demo-${i}`, "--image=nginx", "--labels=app=demo"]);
  await kubectl(["create", "service", "clusterip", "demo", "--tcp=80:8080"]);

  const slices = await until(
    async () => {
      const s = await slicesOf("demo");
      return s.length === 1 &&
        s[0].endpoints?.length === 3 &&
        s[0].endpoints.every((e: any) => e.conditions.ready)
        ? s
        : undefined;
    },
    20_000,
    "one slice with three ready endpoints",
  );
  const [slice] = slices;
  assert.equal(slice.addressType, "IPv4");
  assert.match(slice.metadata.name!, /^demo-[a-z0-9]{5}$/);
  assert.equal(
    slice.metadata.labels!["endpointslice.kubernetes.io/managed-by"],
    "endpointslice-controller.k8s.io",
  );
  assert.equal(slice.metadata.ownerReferences![0].kind, "Service");
  assert.equal(slice.metadata.ownerReferences![0].controller, true);
  assert.deepEqual(slice.ports, [{ name: "80-8080", port: 8080, protocol: "TCP" }]);
  for (const ep of slice.endpoints) {
    assert.match(ep.addresses[0], /^10\.254\./);
    assert.deepEqual(ep.conditions, { ready: true, serving: true, terminating: false });
    assert.match(ep.nodeName, /^virtual-node-\d$/);
    assert.equal(ep.targetRef.kind, "Pod");
  }

  const ep = await until(async () => {
    const e = await endpointsOf("demo");
    return e?.subsets?.[0]?.addresses?.length === 3 ? e : undefined;
  });
  assert.equal(ep.subsets.length, 1);
  assert.deepEqual(names(ep.subsets[0].addresses), ["demo-1", "demo-2", "demo-3"]);
  assert.deepEqual(ep.subsets[0].ports, [{ name: "80-8080", port: 8080, protocol: "TCP" }]);
  assert.equal(ep.metadata.labels?.["endpoints.kubernetes.io/managed-by"], "endpoint-controller");
  assert.match(
    ep.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"] ?? "",
    /^\d{4}-\d\d-\d\dT/,
  );

  // kubectl prints it as a real cluster does.
  const out = await kubectl(["get", "endpoints", "demo"]);
  assert.match(out, /^NAME\s+ENDPOINTS\s+AGE\n/);
  assert.match(
    out,
    /\ndemo\s+10\.254\.\d+\.\d+:8080,10\.254\.\d+\.\d+:8080,10\.254\.\d+\.\d+:8080\s+\d+s\n$/,
  );
  const sliceOut = await kubectl(["get", "endpointslices", "-l", "kubernetes.io/service-name=demo"]);
  assert.match(
    sliceOut,
    /\ndemo-\S+\s+IPv4\s+8080\s+10\.254\.\d+\.\d+,10\.254\.\d+\.\d+,10\.254\.\d+\.\d+\s+\d+s\n$/,
  );
});

test("a pod turning NotReady is reflected at once, in place", async () => {
  const [before] = await slicesOf("demo");
  const t0 = Date.now();
  await kubectl(["annotate", "pod", "demo-2", "sandbox.raven.io/ready=false"]);
  await until(async () => (await readiness("demo"))["demo-2"] === false, 10_000, "demo-2 not ready");
  const elapsed = Date.now() - t0;
  const [after] = await slicesOf("demo");
  assert.equal(after.metadata.name, before.metadata.name, "the slice is updated, not replaced");
  const ep2 = after.endpoints.find((e: any) => e.targetRef.name === "demo-2");
  assert.deepEqual(ep2.conditions, { ready: false, serving: false, terminating: false });
  const ep = await until(async () => {
    const e = await endpointsOf("demo");
    return names(e?.subsets?.[0]?.notReadyAddresses).includes("demo-2") ? e : undefined;
  });
  assert.deepEqual(names(ep.subsets[0].addresses), ["demo-1", "demo-3"]);
  assert.deepEqual(names(ep.subsets[0].notReadyAddresses), ["demo-2"]);
  // kubectl annotate, the virtual kubelet's status write and our slice write, end to end.
  assert.ok(elapsed < 5000, `took ${elapsed} ms`);

  await kubectl(["annotate", "pod", "demo-2", "sandbox.raven.io/ready-"]);
  await until(async () => (await readiness("demo"))["demo-2"] === true, 10_000, "demo-2 ready again");
});

test("a deleted pod leaves both objects", async () => {
  await kubectl(["delete", "pod", "demo-3", "--wait=false"]);
  await until(
    async () => {
      const r = await readiness("demo");
      return !("demo-3" in r) && Object.keys(r).length === 2;
    },
    20_000,
    "demo-3 gone from the slice",
  );
  await until(
    async () => {
      const e = await endpointsOf("demo");
      return JSON.stringify(names(e?.subsets?.[0]?.addresses)) === JSON.stringify(["demo-1", "demo-2"]);
    },
    20_000,
    "demo-3 gone from Endpoints",
  );
});

test("relabelled pods and selector changes move endpoints", async () => {
  await kubectl(["label", "pod", "demo-1", "app=other", "--overwrite"]);
  await until(
    async () => JSON.stringify(Object.keys(await readiness("demo"))) === '["demo-2"]',
    10_000,
    "demo-1 out",
  );
  await kubectl(["patch", "service", "demo", "--type=merge", "-p", '{"spec":{"selector":{"app":"other"}}}']);
  await until(
    async () => JSON.stringify(Object.keys(await readiness("demo"))) === '["demo-1"]',
    10_000,
    "selector follows",
  );
  await until(async () => {
    const e = await endpointsOf("demo");
    return JSON.stringify(names(e?.subsets?.[0]?.addresses)) === '["demo-1"]';
  });
  await kubectl(["patch", "service", "demo", "--type=merge", "-p", '{"spec":{"selector":{"app":"demo"}}}']);
  await until(
    async () => JSON.stringify(Object.keys(await readiness("demo"))) === '["demo-2"]',
    10_000,
    "back",
  );
});

test("a named targetPort resolves per pod; differing pods get separate slices", async () => {
  const podYaml = (name: string, port: number) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: web}}
spec:
  containers:
  - name: web
    image: nginx
    ports: [{name: http, containerPort: ${port}}]
`;
  await kubectl(["apply", "-f", "-"], podYaml("web-a", 8080));
  await kubectl(["apply", "-f", "-"], podYaml("web-b", 8080));
  await kubectl(["apply", "-f", "-"], podYaml("web-c", 9090));
  await kubectl(
    ["apply", "-f", "-"],
    `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, appProtocol: http}]
`,
  );
  const slices = await until(
    async () => {
      const s = await slicesOf("web");
      const total = s.reduce((n, x) => n + (x.endpoints?.length ?? 0), 0);
      return s.length === 2 && total === 3 ? s : undefined;
    },
    20_000,
    "two slices for web",
  );
  const byPort = Object.fromEntries(
    slices.map((s) => [s.ports[0].port, s.endpoints.map((e: any) => e.targetRef.name).sort()]),
  );
  assert.deepEqual(byPort, { 8080: ["web-a", "web-b"], 9090: ["web-c"] });
  assert.deepEqual(slices[0].ports[0].appProtocol, "http");

  const ep = await until(async () => {
    const e = await endpointsOf("web");
    return e?.subsets?.length === 2 ? e : undefined;
  });
  assert.deepEqual(ep.subsets.map((ss: any) => [ss.ports[0].port, names(ss.addresses)]).sort(), [
    [8080, ["web-a", "web-b"]],
    [9090, ["web-c"]],
  ]);
});

test("Services without a selector are left alone; deleted Services lose their objects", async () => {
  // The API server's own Service: its Endpoints belong to someone else.
  const slices = await slicesOf("kubernetes");
  assert.equal(slices.filter((s) => s.metadata.labels?.["endpointslice.kubernetes.io/managed-by"]).length, 0);

  await kubectl(["create", "service", "clusterip", "empty", "--tcp=80:80"]);
  const placeholder = await until(async () => (await slicesOf("empty"))[0], 10_000, "placeholder slice");
  assert.deepEqual(placeholder.endpoints ?? [], []);
  await until(async () => (await endpointsOf("empty")) !== undefined, 10_000, "empty Endpoints");

  await kubectl(["delete", "service", "web", "empty"]);
  await until(
    async () => (await slicesOf("web")).length === 0 && (await slicesOf("empty")).length === 0,
    20_000,
    "slices gone",
  );
  await until(
    async () => (await endpointsOf("web")) === undefined && (await endpointsOf("empty")) === undefined,
    20_000,
    "Endpoints gone",
  );
});
