// The embedded dataplane on two real nodes with the real kubectl (seed 001 with packets): pods
// reach each other across nodes, in one namespace network (VXLAN) and across two (routed by the
// nodes); raven-agent programs each Service's VIP in nftables from the load balancer's ready
// members, so HTTP to the VIP reaches every replica (hello-app answers with its hostname) from a
// pod on each node, from a node and from a replica itself (hairpin); a floating IP
// (spec.externalIPs) works from the sandbox's external host, and an externalIP outside the
// external subnet gets no rule; a Service without ready members refuses at once. Every packet
// stays inside the sandbox's namespaces.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({ nodes: 2, backend: "embedded", audit: true });
});
after(async () => {
  await sb?.stop();
});

const k = async (args: string[], input?: string) => {
  const r = await sb.kubectl(args, { input, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

/** `raven sandbox exec HOST -- argv`. */
const inHost = (host: string, argv: string[]) =>
  run(RAVEN, ["sandbox", "exec", "--dir", sb.dir, host, "--", ...argv], { timeoutMs: 60_000 });

const DEMO = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
spec:
  replicas: 3
  selector:
    matchLabels: {app: demo}
  template:
    metadata:
      labels: {app: demo}
    spec:
      containers:
      - name: hello
        image: gcr.io/google-samples/hello-app:1.0
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: demo
spec:
  selector: {app: demo}
  ports:
  - port: 80
    targetPort: 8080
`;

/** A busybox pod pinned to a node. */
const client = (name: string, node: string, namespace = "default") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  nodeName: ${node}
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
`;

/** Asks `url` from `from` (a shell command prefix) until every hostname in `want` answered. */
async function reachesAll(fetch: () => Promise<string>, want: string[], what: string): Promise<void> {
  const seen = new Set<string>();
  await eventually(
    async () => {
      const out = await fetch();
      const host = /Hostname: (\S+)/.exec(out)?.[1];
      if (host) seen.add(host);
      return want.every((h) => seen.has(h)) || undefined;
    },
    90_000,
    `${what}: every replica answers (seen: ${[...seen].join(", ")})`,
  );
}

const podIp = async (name: string, namespace = "default") =>
  k(["get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.podIP}"]);

test("a pod on node-1 reaches a pod on node-2 of its namespace (VXLAN) and of another namespace (routed)", async () => {
  await k(["create", "namespace", "other"]);
  await k(
    ["apply", "-f", "-"],
    [client("c1", "node-1"), client("c2", "node-2"), client("o2", "node-2", "other")].join("---\n"),
  );
  await k(["wait", "--for=condition=Ready", "pod/c1", "pod/c2", "--timeout=120s"]);
  await k(["wait", "-n", "other", "--for=condition=Ready", "pod/o2", "--timeout=120s"]);
  for (const [target, ns] of [
    ["c2", "default"],
    ["o2", "other"],
  ]) {
    const ip = await podIp(target, ns);
    const r = await sb.kubectl(["exec", "c1", "--", "ping", "-c", "1", "-W", "5", ip], { timeoutMs: 30_000 });
    assert.equal(
      r.code,
      0,
      `c1 (node-1) -> ${target} ${ip} (node-2, namespace ${ns}): ${r.stdout}${r.stderr}`,
    );
  }
  const back = await sb.kubectl(
    ["exec", "-n", "other", "o2", "--", "ping", "-c", "1", "-W", "5", await podIp("c1")],
    {
      timeoutMs: 30_000,
    },
  );
  assert.equal(back.code, 0, back.stdout + back.stderr);
});

let vip: string;
let replicas: string[];

test("HTTP to the VIP reaches every ready replica from a pod on each node, from a node, and from a replica itself", async () => {
  await k(["apply", "-f", "-"], DEMO);
  await k(["rollout", "status", "deployment/demo", "--timeout=120s"]);
  vip = await k(["get", "service", "demo", "-o", "jsonpath={.spec.clusterIP}"]);
  replicas = (await k(["get", "pods", "-l", "app=demo", "-o", "jsonpath={.items[*].metadata.name}"])).split(
    " ",
  );
  assert.equal(replicas.length, 3);
  // Members on both nodes, so VIP traffic crosses nodes from either client.
  const placed = new Set(
    (await k(["get", "pods", "-l", "app=demo", "-o", "jsonpath={.items[*].spec.nodeName}"])).split(" "),
  );
  assert.deepEqual([...placed].sort(), ["node-1", "node-2"], "the replicas run on both nodes");
  const url = `http://${vip}/`;
  const fromPod = async (pod: string) => {
    const r = await sb.kubectl(["exec", pod, "--", "wget", "-qO-", "-T", "2", url], { timeoutMs: 30_000 });
    return r.stdout;
  };
  await reachesAll(() => fromPod("c1"), replicas, "from c1 on node-1");
  await reachesAll(() => fromPod("c2"), replicas, "from c2 on node-2");
  await reachesAll(
    async () => (await inHost("node-1", ["wget", "-qO-", "-T", "2", url])).stdout,
    replicas,
    "from node-1",
  );
  // Hairpin: a replica reaches the VIP, itself included among the answers.
  await reachesAll(() => fromPod(replicas[0]), replicas, `from ${replicas[0]}`);
});

test("a floating IP from spec.externalIPs and a type LoadBalancer address work from the external host; an externalIP outside the external subnet gets no rule", async () => {
  await k(["patch", "service", "demo", "-p", '{"spec":{"externalIPs":["172.16.0.4"]}}']);
  await reachesAll(
    async () => (await inHost("external", ["wget", "-qO-", "-T", "2", "http://172.16.0.4/"])).stdout,
    replicas,
    "172.16.0.4 from the external host",
  );
  await k(["patch", "service", "demo", "-p", '{"spec":{"externalIPs":["172.16.0.4","10.99.0.5"]}}']);
  await eventually(
    async () =>
      (await k(["get", "events", "--field-selector", "involvedObject.name=demo", "-o", "json"])).includes(
        "10.99.0.5",
      ) || undefined,
    60_000,
    "a Warning about 10.99.0.5",
  );
  // type LoadBalancer: the pool address in status.loadBalancer.ingress works the same way.
  await k(["patch", "service", "demo", "-p", '{"spec":{"type":"LoadBalancer"}}']);
  const ingress = await eventually(
    async () =>
      (await k(["get", "service", "demo", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"])) ||
      undefined,
    60_000,
    "an ingress address",
  );
  await reachesAll(
    async () => (await inHost("external", ["wget", "-qO-", "-T", "2", `http://${ingress}/`])).stdout,
    replicas,
    `the LoadBalancer address ${ingress} from the external host`,
  );
  const table = await inHost("node-1", ["nft", "list", "table", "ip", "raven"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /172\.16\.0\.4 \. tcp \. 80/);
  assert.doesNotMatch(table.stdout, /10\.99\.0\.5/);
});

test("a Service without ready members refuses at once instead of timing out", async () => {
  await k(["scale", "deployment/demo", "--replicas=0"]);
  await eventually(
    async () => {
      const r = await sb.kubectl(["exec", "c1", "--", "wget", "-qO-", "-T", "5", `http://${vip}/`], {
        timeoutMs: 30_000,
      });
      return r.code !== 0 && /refused/i.test(r.stderr) ? r : undefined;
    },
    90_000,
    "connection refused from the VIP once no member is left",
  );
});

test("Raven is the service proxy: a pod reaches the API server at the kubernetes Service's ClusterIP", async () => {
  const ip = await k(["get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"]);
  // nginx's image has curl (busybox's wget speaks no TLS an up-to-date server accepts).
  await k(["run", "web", "--image=nginx", "--overrides", '{"spec":{"nodeName":"node-2"}}']);
  await k(["wait", "--for=condition=Ready", "pod/web", "--timeout=90s"]);
  const version = await eventually(
    async () => {
      const r = await sb.kubectl(
        ["exec", "web", "--", "curl", "-sk", "--max-time", "5", `https://${ip}/version`],
        { timeoutMs: 30_000 },
      );
      return r.code === 0 ? JSON.parse(r.stdout) : undefined;
    },
    60_000,
    `https://${ip}/version from a pod on node-2`,
  );
  assert.match(version.gitVersion, /^v1\./);
});

const FLIP = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: flip
spec:
  replicas: 2
  selector:
    matchLabels: {app: flip}
  template:
    metadata:
      labels: {app: flip}
    spec:
      containers:
      - name: hello
        image: gcr.io/google-samples/hello-app:1.0
        command: ["sh", "-c", "touch /tmp/ready && exec /hello-app"]
        readinessProbe:
          exec:
            command: ["cat", "/tmp/ready"]
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata:
  name: flip
spec:
  selector: {app: flip}
  ports:
  - port: 80
    targetPort: 8080
`;

/** The hostnames answering `count` requests to the Service from c1 (failures as "!"). */
async function answers(ip: string, count: number): Promise<string[]> {
  const script = `for i in $(seq ${count}); do wget -qO- -T 2 http://${ip}/ 2>/dev/null | sed -n 's/^Hostname: //p' || echo '!'; done`;
  const r = await sb.kubectl(["exec", "c1", "--", "sh", "-c", script], { timeoutMs: 60_000 });
  return r.stdout.split("\n").filter(Boolean);
}

test("readiness: a replica failing its probe stops getting VIP traffic and gets it again once it recovers; scaling down removes members", async () => {
  await k(["apply", "-f", "-"], FLIP);
  await k(["rollout", "status", "deployment/flip", "--timeout=120s"]);
  const ip = await k(["get", "service", "flip", "-o", "jsonpath={.spec.clusterIP}"]);
  const [a, b] = (
    await k(["get", "pods", "-l", "app=flip", "-o", "jsonpath={.items[*].metadata.name}"])
  ).split(" ");
  const both = async () => {
    const got = new Set(await answers(ip, 10));
    return got.has(a) && got.has(b) ? got : undefined;
  };
  await eventually(both, 60_000, "both replicas answer");
  await k(["exec", a, "--", "rm", "/tmp/ready"]);
  await eventually(
    async () => {
      const got = await answers(ip, 10);
      return got.length === 10 && got.every((h) => h === b) ? got : undefined;
    },
    60_000,
    `only ${b} answers once ${a} is not ready`,
  );
  await k(["exec", a, "--", "touch", "/tmp/ready"]);
  await eventually(both, 60_000, `${a} answers again once ready`);
  await k(["scale", "deployment/flip", "--replicas=1"]);
  const left = await eventually(
    async () => {
      const names = (
        await k(["get", "pods", "-l", "app=flip", "-o", "jsonpath={.items[*].metadata.name}"])
      ).split(" ");
      return names.length === 1 && names[0] ? names[0] : undefined;
    },
    60_000,
    "one replica left",
  );
  await eventually(
    async () => {
      const got = await answers(ip, 10);
      return got.length === 10 && got.every((h) => h === left) ? got : undefined;
    },
    60_000,
    `every request answered by ${left} after scaling down`,
  );
});

test("raven-agent runs on deploy/agent-rbac.yaml's grants alone: everything above worked, and the API server refused it nothing", async () => {
  const lines = readFileSync(join(sb.dir, "logs", "audit.log"), "utf8")
    .trim()
    .split("\n");
  const agent = lines
    .map((l) => JSON.parse(l))
    .filter((e) => e.user === "system:serviceaccount:kube-system:raven-agent");
  assert.ok(agent.length > 0, "the agents' requests are in the audit log, under their ServiceAccount");
  assert.deepEqual(
    agent.filter((e) => e.code === 401 || e.code === 403),
    [],
    "no request of raven-agent was refused",
  );
});
