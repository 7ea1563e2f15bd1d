import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bridgeConflist, CNI_CONF_FILE, cniConfigFiles, writeCniConfig } from "./cni-config.ts";
import { nodeLayout } from "./layout.ts";

const plan = { instanceId: "rvabc123", nodeCidr: "10.254.7.0/24", nodePodCidr: "10.244.0.0/16" };

test("the conflist is bridge + host-local on the node's pod range, then portmap; no masquerade", () => {
  const node = nodeLayout("/tmp/sb", plan, 2);
  const c = bridgeConflist(node) as any;
  assert.equal(c.cniVersion, "1.0.0");
  assert.deepEqual(
    c.plugins.map((p: any) => p.type),
    ["bridge", "portmap"],
  );
  const [bridge, portmap] = c.plugins;
  assert.equal(bridge.bridge, "cni0");
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.hairpinMode, true);
  assert.equal(bridge.ipMasq, false);
  assert.equal(bridge.ipam.type, "host-local");
  assert.deepEqual(bridge.ipam.ranges, [[{ subnet: "10.244.2.0/24" }]]);
  assert.deepEqual(bridge.ipam.routes, [{ dst: "0.0.0.0/0" }]);
  assert.equal(bridge.ipam.dataDir, node.cniDataDir);
  assert.deepEqual(portmap.capabilities, { portMappings: true });
});

test("writeCniConfig writes the node's conf dir; another config sorted first would take over", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "raven-cni-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const node = nodeLayout(dir, plan, 1);
  const file = writeCniConfig(node);
  assert.equal(file, join(node.cniConfDir, CNI_CONF_FILE));
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), bridgeConflist(node));
  writeCniConfig(node);
  assert.deepEqual(cniConfigFiles(node), [CNI_CONF_FILE], "rewriting leaves no temp file");
  writeFileSync(join(node.cniConfDir, "05-raven.conflist"), "{}");
  assert.equal(cniConfigFiles(node)[0], "05-raven.conflist");
});
