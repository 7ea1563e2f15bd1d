// The pod's sandbox and netns from CRI (a fake RuntimeService): the ready one by the pod UID
// label, the netns path from containerd's verbose info, and the answer kept while its netns
// exists.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PodSandbox, PodSandboxFilter } from "../../cri/types.ts";
import { CriSandboxes, netnsOf } from "./sandboxes.ts";

const info = (path: string) =>
  JSON.stringify({ runtimeSpec: { linux: { namespaces: [{ type: "pid" }, { type: "network", path }] } } });

function fakeCri(sandboxes: (PodSandbox & { netns: string })[]) {
  const calls: string[] = [];
  return {
    calls,
    cri: {
      async listPodSandbox(filter?: PodSandboxFilter) {
        calls.push(`list ${filter?.labelSelector?.["io.kubernetes.pod.uid"]} state=${filter?.state?.state}`);
        return sandboxes.filter(
          (s) =>
            s.labels["io.kubernetes.pod.uid"] === filter?.labelSelector?.["io.kubernetes.pod.uid"] &&
            s.state === 0,
        );
      },
      async podSandboxStatus(id: string, verbose?: boolean) {
        calls.push(`status ${id} verbose=${verbose}`);
        const s = sandboxes.find((x) => x.id === id)!;
        return { status: { ...s, metadata: s.metadata }, info: { info: info(s.netns) } } as never;
      },
    },
  };
}

const sandbox = (id: string, uid: string, createdAt: number, netns: string, state = 0) => ({
  id,
  metadata: { name: "web", uid, namespace: "default", attempt: 0 },
  state,
  createdAt,
  labels: { "io.kubernetes.pod.uid": uid },
  annotations: {},
  netns,
});

test("the pod's newest ready sandbox and its network namespace; kept while the netns exists", async () => {
  const { cri, calls } = fakeCri([
    sandbox("old", "u1", 1, "/run/netns/cni-old"),
    sandbox("new", "u1", 2, "/run/netns/cni-new"),
    sandbox("other", "u2", 3, "/run/netns/cni-other"),
  ]);
  let present = new Set(["/run/netns/cni-new"]);
  const s = new CriSandboxes(cri as never, (p) => present.has(p));
  assert.deepEqual(await s.find("u1"), { id: "new", netns: "/run/netns/cni-new" });
  assert.deepEqual(calls, ["list u1 state=0", "status new verbose=true"]);
  assert.deepEqual(await s.find("u1"), { id: "new", netns: "/run/netns/cni-new" });
  assert.equal(calls.length, 2, "asked once while the netns is there");
  present = new Set();
  await s.find("u1");
  assert.equal(calls.length, 4, "asked again once it is gone");
  assert.equal(await s.find("nobody"), undefined);
});

test("netnsOf reads containerd's runtime spec, and nothing else", () => {
  assert.equal(netnsOf(info("/run/netns/cni-1")), "/run/netns/cni-1");
  assert.equal(netnsOf(undefined), undefined);
  assert.equal(netnsOf("not json"), undefined);
  assert.equal(
    netnsOf(JSON.stringify({ runtimeSpec: { linux: { namespaces: [{ type: "network" }] } } })),
    undefined,
  );
});
