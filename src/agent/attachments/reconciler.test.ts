// The attachment reconciler over fakes (a CNI that records its calls, a sandbox finder, records
// on a temp dir): one scenario per test, the calls, records, status and Events out. The real
// plugins in real pods are test/attachments.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION } from "../../api/network-attachments.ts";
import { silentLogger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import type { CniConfig, CniInvocation, CniResult } from "./cni-exec.ts";
import { AttachmentReconciler } from "./reconciler.ts";
import { RecordStore } from "./records.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

class FakeCni {
  readonly calls: string[] = [];
  failAdd = new Set<string>();
  private n = 0;
  async add(config: CniConfig, inv: CniInvocation): Promise<CniResult> {
    this.calls.push(`ADD ${inv.ifname} ${config.name} ${JSON.stringify(inv.runtimeConfig)}`);
    if (this.failAdd.has(inv.ifname)) throw new Error("plugin failed");
    const ip = `10.10.0.${++this.n + 1}`;
    return {
      cniVersion: "1.0.0",
      interfaces: [{ name: inv.ifname, mac: `02:00:00:00:00:0${this.n}`, sandbox: inv.netns }],
      ips: [{ address: `${ip}/24`, interface: 0 }],
    };
  }
  async del(config: CniConfig, inv: CniInvocation, prev?: CniResult): Promise<void> {
    this.calls.push(`DEL ${inv.ifname} ${config.name} ${prev ? "with prevResult" : "no prevResult"}`);
  }
}

function nad(
  name: string,
  config: object | string = { cniVersion: "1.0.0", type: "bridge", bridge: "data-br" },
) {
  return {
    apiVersion: "k8s.cni.cncf.io/v1",
    kind: "NetworkAttachmentDefinition",
    metadata: { name, namespace: "default" },
    spec: { config: typeof config === "string" ? config : JSON.stringify(config) },
  } as KubeObject;
}

function fixture(dir = mkdtempSync(join(tmpdir(), "raven-attach-"))) {
  if (!dirs.includes(dir)) dirs.push(dir);
  const pods = new Map<string, KubeObject>();
  const nads = new Map<string, KubeObject>([
    ["default/data", nad("data")],
    ["default/green", nad("green")],
  ]);
  const cni = new FakeCni();
  const events: string[] = [];
  const patches: Record<string, string | null>[] = [];
  let sandbox: { id: string; netns: string } | undefined = { id: "sb1", netns: "/run/netns/cni-1" };
  const r = new AttachmentReconciler({
    pods: { get: (k) => pods.get(k) },
    nads: { get: (k) => nads.get(k) },
    sandboxes: { find: async () => sandbox },
    cni,
    records: new RecordStore(dir),
    patchAnnotations: async (pod, a) => {
      patches.push(a);
      pod.metadata.annotations = { ...pod.metadata.annotations, ...(a as Record<string, string>) };
    },
    event: (_pod, type, reason, message) => events.push(`${type} ${reason} ${message}`),
    primary: () => ({
      name: "raven",
      interface: "eth0",
      ips: ["192.168.0.5"],
      mac: "fa:16:3e:00:00:01",
      default: true,
    }),
    log: silentLogger,
  });
  const pod = (selection?: string) => {
    const p: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "web",
        namespace: "default",
        uid: "uid-web",
        annotations: { ...pods.get("default/web")?.metadata.annotations },
      },
      spec: { nodeName: "node-1" },
      status: { phase: "Running" },
    };
    if (selection === undefined) delete p.metadata.annotations![NETWORKS_ANNOTATION];
    else p.metadata.annotations![NETWORKS_ANNOTATION] = selection;
    pods.set("default/web", p);
    return p;
  };
  const status = () =>
    JSON.parse(pods.get("default/web")!.metadata.annotations?.[NETWORK_STATUS_ANNOTATION] ?? "[]");
  return {
    r,
    dir,
    pods,
    nads,
    cni,
    events,
    patches,
    pod,
    status,
    setSandbox: (s: typeof sandbox) => {
      sandbox = s;
    },
  };
}

test("adding a selection attaches it; network-status lists the primary and the attachment; removing it detaches with the ADD's result", async () => {
  const f = fixture();
  f.pod("data");
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, ["ADD net8d777f385d3d data {}"]);
  assert.deepEqual(f.status(), [
    { name: "raven", interface: "eth0", ips: ["192.168.0.5"], mac: "fa:16:3e:00:00:01", default: true },
    {
      name: "default/data",
      interface: "net8d777f385d3d",
      ips: ["10.10.0.2"],
      mac: "02:00:00:00:00:01",
      default: false,
    },
  ]);
  assert.deepEqual(f.events, ["Normal AddedInterface added net8d777f385d3d [10.10.0.2] from default/data"]);
  // Nothing changed: nothing is called, nothing written.
  f.cni.calls.length = 0;
  f.patches.length = 0;
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, []);
  assert.deepEqual(f.patches, []);
  // Removed from the selection.
  f.pod("");
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, ["DEL net8d777f385d3d data with prevResult"]);
  assert.equal(f.status().length, 1, "only the primary is left");
});

test("one update that adds one and removes another does both, and the status says so", async () => {
  const f = fixture();
  f.pod("data");
  await f.r.sync("default/web");
  f.cni.calls.length = 0;
  f.pod('[{"name":"green","interface":"g1","ips":["10.20.0.5/24"],"mac":"02:aa:00:00:00:01"}]');
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls.sort(), [
    'ADD g1 green {"ips":["10.20.0.5/24"],"mac":"02:aa:00:00:00:01"}',
    "DEL net8d777f385d3d data with prevResult",
  ]);
  assert.deepEqual(
    f.status().map((s: { interface: string }) => s.interface),
    ["eth0", "g1"],
  );
});

test("an invalid selection changes nothing and is one Warning Event", async () => {
  const f = fixture();
  f.pod("data");
  await f.r.sync("default/web");
  f.cni.calls.length = 0;
  f.events.length = 0;
  f.pod("data,Bad_Name");
  await f.r.sync("default/web");
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, []);
  assert.equal(f.events.length, 1);
  assert.match(f.events[0], /^Warning InvalidNetworkSelection .*Bad_Name.*no interface was changed/);
  assert.equal(f.status().length, 2, "the attached one is still listed");
});

test("a failed ADD is an Event and a retry, is cleaned up, and does not hold back the others", async () => {
  const f = fixture();
  f.cni.failAdd.add("g1");
  f.pod("data,green@g1");
  await assert.rejects(f.r.sync("default/web"), /g1: plugin failed/);
  assert.ok(f.cni.calls.includes("DEL g1 green no prevResult"), "what it half made is deleted");
  assert.deepEqual(
    f.status().map((s: { interface: string }) => s.interface),
    ["eth0", "net8d777f385d3d"],
  );
  assert.ok(f.events.some((e) => e.startsWith("Warning FailedAddingInterface g1 (default/green)")));
  f.cni.failAdd.clear();
  await f.r.sync("default/web");
  assert.deepEqual(
    f.status().map((s: { interface: string }) => s.interface),
    ["eth0", "net8d777f385d3d", "g1"],
  );
});

test("a missing NetworkAttachmentDefinition is an Event and a retry; a deleted one in use keeps its interface until unselected", async () => {
  const f = fixture();
  f.pod("blue");
  await assert.rejects(f.r.sync("default/web"), /default\/blue not found/);
  assert.ok(f.events.some((e) => /FailedAddingInterface .*default\/blue not found/.test(e)));
  f.pod("data");
  await f.r.sync("default/web");
  f.nads.delete("default/data");
  f.cni.calls.length = 0;
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, [], "still attached");
  f.pod("");
  await f.r.sync("default/web");
  assert.deepEqual(
    f.cni.calls,
    ["DEL net8d777f385d3d data with prevResult"],
    "DEL uses the recorded configuration",
  );
});

test("after a crash mid-ADD, a restarted agent deletes the unsettled attachment and adds it again: no duplicate, no leak", async () => {
  const f = fixture();
  f.pod("data");
  await f.r.sync("default/web");
  // The record as a crash during ADD leaves it.
  const store = new RecordStore(f.dir);
  const [rec] = store.forPod("uid-web");
  store.put({ ...rec, phase: "adding", result: undefined });
  const g = fixture(f.dir);
  g.pods.set("default/web", f.pods.get("default/web")!);
  await g.r.sync("default/web");
  assert.deepEqual(g.cni.calls, ["DEL net8d777f385d3d data no prevResult", "ADD net8d777f385d3d data {}"]);
  assert.equal(new RecordStore(f.dir).forPod("uid-web")[0].phase, "added");
});

test("a new sandbox (the pod's network namespace was made again) gets its attachments again", async () => {
  const f = fixture();
  f.pod("data");
  await f.r.sync("default/web");
  f.cni.calls.length = 0;
  f.setSandbox({ id: "sb2", netns: "/run/netns/cni-2" });
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, ["DEL net8d777f385d3d data with prevResult", "ADD net8d777f385d3d data {}"]);
});

test("hostNetwork pods are refused with one Event; pods without a sandbox are skipped; going pods are detached", async () => {
  const f = fixture();
  const p = f.pod("data");
  p.spec.hostNetwork = true;
  await f.r.sync("default/web");
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, []);
  assert.equal(f.events.filter((e) => e.includes("hostNetwork")).length, 1);
  delete f.pods.get("default/web")!.spec.hostNetwork;
  f.setSandbox(undefined);
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, []);
  f.setSandbox({ id: "sb1", netns: "/run/netns/cni-1" });
  await f.r.sync("default/web");
  f.pods.get("default/web")!.metadata.deletionTimestamp = "2026-12-07T00:00:00Z";
  await f.r.sync("default/web");
  assert.deepEqual(f.cni.calls, ["ADD net8d777f385d3d data {}", "DEL net8d777f385d3d data with prevResult"]);
  assert.deepEqual(new RecordStore(f.dir).pods(), [], "no record is left");
});
