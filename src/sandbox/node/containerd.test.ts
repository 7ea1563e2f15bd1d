import assert from "node:assert/strict";
import { test } from "node:test";
import { containerdConfig, mountsUnder, shimSocketPath, writeContainerdConfig } from "./containerd.ts";
import { nodeLayout } from "./layout.ts";

const layout = nodeLayout(
  "/srv/rv",
  { instanceId: "rvabc123", nodeCidr: "10.254.17.0/24", nodePodCidr: "10.244.0.0/16" },
  2,
);

test("the config puts every path under the node's layout and sets what this host needs", () => {
  const toml = containerdConfig(layout, { sandboxImage: "localhost/raven/pause:1" });
  const has = (line: string) => assert.ok(toml.includes(line), `missing: ${line}\n${toml}`);
  has('root = "/srv/rv/nodes/node-2/containerd/root"');
  has('state = "/srv/rv/nodes/node-2/containerd/state"');
  has('address = "/srv/rv/nodes/node-2/containerd/containerd.sock"');
  has('sandbox_image = "localhost/raven/pause:1"');
  has("restrict_oom_score_adj = true");
  has("netns_mounts_under_state_dir = true");
  has('stream_server_address = "127.0.0.1"');
  has('stream_server_port = "0"');
  has('bin_dir = "/usr/lib/cni"');
  has('conf_dir = "/srv/rv/nodes/node-2/cni/net.d"');
  has('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]');
  has('Root = "/srv/rv/nodes/node-2/containerd/runc"');
  has('"io.containerd.snapshotter.v1.btrfs"');
  // Every table header is a well-formed TOML key path.
  for (const header of toml.split("\n").filter((l) => l.trim().startsWith("["))) {
    assert.match(header.trim(), /^\[[a-z]+(\."[a-z0-9.]+")*(\.[a-z_]+)*\]$/);
  }
  assert.ok(
    containerdConfig(layout, { sandboxImage: "p", streamServerPort: 10010 }).includes(
      'stream_server_port = "10010"',
    ),
  );
});

test("a socket path too long for sockaddr_un is refused with a clear error", async () => {
  const deep = nodeLayout(
    `/tmp/${"x".repeat(80)}`,
    { instanceId: "rv1", nodeCidr: "10.0.0.0/24", nodePodCidr: "10.1.0.0/16" },
    1,
  );
  await assert.rejects(writeContainerdConfig(deep, { sandboxImage: "p" }), /unix sockets allow at most 100/);
});

test("mountsUnder lists only mounts under the root, deepest first, unescaping paths", () => {
  const mountinfo = [
    "22 1 0:21 / / rw - ext4 /dev/root rw",
    "40 22 0:4 net:[4026532177] /run/netns/rvabc123-node2 rw - nsfs nsfs rw",
    "44 22 0:39 / /srv/rv/nodes/node-2/containerd/state/sandboxes/abc/shm rw - tmpfs shm rw",
    "45 22 0:4 net:[1] /srv/rv/nodes/node-2/containerd/state/netns/cni-1 rw - nsfs nsfs rw",
    "48 22 0:40 / /srv/rv/nodes/node-2/containerd/state/task/k8s.io/abc/rootfs rw - overlay overlay rw",
    "49 22 0:41 / /srv/rv/nodes/node-2/pods/with\\040space rw - tmpfs tmpfs rw",
    "50 22 0:42 / /srv/rv/nodes/node-20/other rw - tmpfs tmpfs rw",
    "51 22 0:43 / /srv/rv-other/x rw - tmpfs tmpfs rw",
    "",
  ].join("\n");
  const got = mountsUnder("/srv/rv/nodes/node-2", mountinfo);
  assert.deepEqual(got, [
    "/srv/rv/nodes/node-2/containerd/state/task/k8s.io/abc/rootfs",
    "/srv/rv/nodes/node-2/containerd/state/sandboxes/abc/shm",
    "/srv/rv/nodes/node-2/containerd/state/netns/cni-1",
    "/srv/rv/nodes/node-2/pods/with space",
  ]);
  assert.equal(mountsUnder("/srv/rv", mountinfo).includes("/srv/rv-other/x"), false);
});

test("shim socket names follow containerd 1.6: sha256 of address/namespace/id", () => {
  assert.equal(
    shimSocketPath("/a.sock", "k8s.io", "id1"),
    // printf '/a.sock/k8s.io/id1' | sha256sum
    "/run/containerd/s/ff564efb9b57881f77d060b1d3bb4ee5dfb60d396f9b1e7ca6449d6da1c418fd",
  );
});
