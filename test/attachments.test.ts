// Seed 003 end to end, with real containers, the real kubectl (1.33 and 1.27) and the reference
// CNI plugins: a `data` NetworkAttachmentDefinition on the bridge plugin, two running busybox
// pods; annotating one with `data` puts net8d777f385d3d inside it (what `ip` in the pod shows,
// and what network-status says), removing the annotation takes it out, and the pod is never
// restarted. Also the JSON form (an interface name and a static IP through the static IPAM
// plugin), and an invalid selection, which changes nothing and is a Warning Event.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));

let sb: Sandbox;
/** `eventually` for a value: what `fn` answered once it answered one. */
const found = async <T>(fn: () => Promise<T | undefined>, ms: number, what: string): Promise<T> =>
  (await eventually(fn, ms, what)) as T;
const NETWORKS = "k8s.v1.cni.cncf.io/networks";
const STATUS = "k8s.v1.cni.cncf.io/network-status";

before(async () => {
  sb = await startSandbox({ nodes: 1, backend: "embedded" });
});
after(async () => {
  await sb?.stop();
});

const k = async (args: string[], version: "1.33" | "1.27" = "1.33", input?: string) => {
  const r = await sb.kubectl(args, { version, input, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

/** The NAD manifests; host-local and bridges live in the sandbox's own dirs and node netns. */
const nads = () => `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: data
spec:
  config: '{"cniVersion": "1.0.0", "type": "bridge", "bridge": "data-br", "ipam": {"type": "host-local", "subnet": "10.10.0.0/24", "dataDir": "${join(sb.dir, "ipam-data")}"}}'
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: fixed
spec:
  config: '{"cniVersion": "1.0.0", "name": "fixed", "plugins": [{"type": "bridge", "bridge": "fixed-br", "capabilities": {"ips": true}, "ipam": {"type": "static"}}]}'
`;

/** What identifies a pod's run: restart counts and container IDs (a restart changes them). */
const runOf = async (pod: string) =>
  k([
    "get",
    "pod",
    pod,
    "-o",
    "jsonpath={.status.containerStatuses[*].restartCount} {.status.containerStatuses[*].containerID}",
  ]);

/** `ip -o addr` inside the pod: interface -> IPv4 addresses. */
async function addrs(pod: string): Promise<Map<string, string[]>> {
  const out = await k(["exec", pod, "--", "ip", "-o", "-4", "addr", "show"]);
  const m = new Map<string, string[]>();
  for (const line of out.trim().split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    m.set(f[1], [...(m.get(f[1]) ?? []), f[3]]);
  }
  return m;
}

const statusOf = async (pod: string) => {
  const text = await k([
    "get",
    "pod",
    pod,
    "-o",
    `jsonpath={.metadata.annotations.${STATUS.replaceAll(".", "\\.")}}`,
  ]);
  return text
    ? (JSON.parse(text) as { name: string; interface: string; ips: string[]; default: boolean }[])
    : [];
};

test("seed 003: a data attachment is hot-plugged into a running pod and out again, without a restart", async () => {
  await k(["apply", "-f", "-"], "1.33", nads());
  await k(["create", "deployment", "hello-multi-net", "--image=busybox", "--replicas=2", "--", "top"]);
  await k(["rollout", "status", "deployment/hello-multi-net", "--timeout=120s"]);
  const pods = (await k(["get", "pod", "-l", "app=hello-multi-net", "-o", "name"]))
    .trim()
    .split("\n")
    .map((p) => p.replace("pod/", ""));
  assert.equal(pods.length, 2);
  for (const [i, pod] of pods.entries()) {
    const version = i === 0 ? "1.33" : "1.27";
    const before = await runOf(pod);
    await k(["annotate", "pod", pod, `${NETWORKS}=data`], version);
    const inside = await found(
      async () => (await addrs(pod)).get("net8d777f385d3d"),
      60_000,
      `net8d777f385d3d in ${pod}`,
    );
    assert.match(inside[0], /^10\.10\.0\.\d+\/24$/);
    const status = await found(
      async () => {
        const s = await statusOf(pod);
        return s.some((e) => e.interface === "net8d777f385d3d") ? s : undefined;
      },
      30_000,
      "network-status",
    );
    assert.deepEqual(
      status.map((e) => [e.name, e.interface, e.default]),
      [
        ["raven", "eth0", true],
        ["default/data", "net8d777f385d3d", false],
      ],
    );
    assert.deepEqual(status[1].ips, [inside[0].split("/")[0]], "network-status is what the pod has");
    assert.equal(await runOf(pod), before, "not restarted");

    await k(["annotate", "pod", pod, `${NETWORKS}-`], version);
    await eventually(
      async () => !(await addrs(pod)).has("net8d777f385d3d"),
      60_000,
      `net8d777f385d3d gone from ${pod}`,
    );
    await eventually(
      async () => (await statusOf(pod)).length === 1,
      30_000,
      "network-status back to the primary",
    );
    assert.ok((await addrs(pod)).has("eth0"));
    assert.equal(await runOf(pod), before, "not restarted");
  }
});

test("a Raven-network attachment: a port of the pod on that network, bound like the primary, in raven net ports, released when unselected", async () => {
  await k(
    ["apply", "-f", "-"],
    "1.33",
    `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: blue
spec:
  config: '{"cniVersion": "1.0.0", "type": "raven", "network": "default"}'
`,
  );
  const pod = (
    await k(["get", "pod", "-l", "app=hello-multi-net", "-o", "jsonpath={.items[0].metadata.name}"])
  ).trim();
  const before = await runOf(pod);
  const iface = "netblue0";
  await k(["annotate", "--overwrite", "pod", pod, `${NETWORKS}=blue@${iface}`]);
  const ports = async () =>
    JSON.parse((await run(RAVEN, ["net", "ports", "-o", "json", "--kubeconfig", sb.kubeconfig])).stdout) as {
      name: string;
      mac_address: string;
      fixed_ips: { ip_address: string }[];
    }[];
  const port = await found(
    async () => (await ports()).find((p) => p.name === `${pod}-blue-${iface}`),
    60_000,
    "the attachment's port",
  );
  const inside = await found(async () => (await addrs(pod)).get(iface), 60_000, `${iface} in ${pod}`);
  assert.equal(inside[0].split("/")[0], port.fixed_ips[0].ip_address, "the port's address is in the pod");
  const link = await k(["exec", pod, "--", "ip", "link", "show", iface]);
  assert.match(link, new RegExp(`link/ether ${port.mac_address} `), "with the port's MAC");
  const routes = await k(["exec", pod, "--", "ip", "route"]);
  assert.match(routes, /^default .* dev eth0/m, "the default route stays the primary's");
  await eventually(
    async () =>
      (await statusOf(pod)).some((e) => e.interface === iface && e.ips[0] === port.fixed_ips[0].ip_address),
    30_000,
    "network-status lists it",
  );
  await k(["annotate", "pod", pod, `${NETWORKS}-`]);
  await eventually(async () => !(await addrs(pod)).has(iface), 60_000, `${iface} gone`);
  await eventually(
    async () => !(await ports()).some((p) => p.name.startsWith(`${pod}-blue`)),
    60_000,
    "the attachment's port released",
  );
  assert.equal(await runOf(pod), before, "not restarted");
});

test("the JSON form: an interface name and a static IP; an invalid selection changes nothing and is a Warning Event", async () => {
  const pod = (
    await k(["get", "pod", "-l", "app=hello-multi-net", "-o", "jsonpath={.items[0].metadata.name}"])
  ).trim();
  const before = await runOf(pod);
  await k([
    "annotate",
    "--overwrite",
    "pod",
    pod,
    `${NETWORKS}=[{"name":"fixed","interface":"fixed0","ips":["10.30.0.7/24"]},{"name":"data","interface":"data1"}]`,
  ]);
  await eventually(
    async () => {
      const a = await addrs(pod);
      return a.get("fixed0")?.[0] === "10.30.0.7/24" && a.has("data1");
    },
    60_000,
    "fixed0 with 10.30.0.7 and data1",
  );
  const status = await found(
    async () => {
      const s = await statusOf(pod);
      return s.length === 3 ? s : undefined;
    },
    30_000,
    "three interfaces in network-status",
  );
  assert.deepEqual(status[1], {
    ...status[1],
    name: "default/fixed",
    interface: "fixed0",
    ips: ["10.30.0.7"],
  });

  // Invalid: data on eth0. Nothing changes; the Event says why.
  await k(["annotate", "--overwrite", "pod", pod, `${NETWORKS}=data@eth0`]);
  const events = await found(
    async () => {
      const out = await k([
        "get",
        "events",
        "--field-selector",
        `involvedObject.name=${pod},reason=InvalidNetworkSelection`,
        "-o",
        "jsonpath={.items[*].message}",
      ]);
      return out.trim() || undefined;
    },
    30_000,
    "the InvalidNetworkSelection Event",
  );
  assert.match(events, /eth0 is the pod's primary interface/);
  const a = await addrs(pod);
  assert.ok(a.has("fixed0") && a.has("data1"), "the attachments are untouched");
  assert.equal((await statusOf(pod)).length, 3);

  // Deleting the pods detaches everything: no record is left on the node.
  await k(["annotate", "--overwrite", "pod", pod, `${NETWORKS}=data`]);
  await eventually(
    async () => (await addrs(pod)).has("net8d777f385d3d") && !(await addrs(pod)).has("fixed0"),
    60_000,
    "back to data only",
  );
  assert.equal(await runOf(pod), before, "not restarted");
  await k(["delete", "deployment", "hello-multi-net", "--wait"]);
  await k(["wait", "--for=delete", "pod", "-l", "app=hello-multi-net", "--timeout=120s"]);
  const records = join(sb.dir, "nodes", "node-1", "raven-agent", "attachments");
  await eventually(
    () => !existsSync(records) || readdirSync(records).length === 0,
    60_000,
    "no attachment records left",
  );
  await eventually(
    () =>
      !existsSync(join(sb.dir, "ipam-data", "data")) ||
      readdirSync(join(sb.dir, "ipam-data", "data")).filter((f) => /^\d/.test(f)).length === 0,
    30_000,
    "host-local released every address",
  );
});
