// NeutronState's resync report: what changed behind the backend's back.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { NeutronPort } from "./neutron-api.ts";
import { describe } from "./ownership.ts";
import { NeutronState } from "./state.ts";

const pod = { kind: "Pod" as const, namespace: "default", name: "web", uid: "uid-web" };
const port = (id: string, name = "web"): NeutronPort => ({
  id,
  name,
  network_id: "net",
  mac_address: "fa:16:3e:00:00:01",
  fixed_ips: [{ subnet_id: "sub", ip_address: `10.0.0.${id.length + 1}` }],
  status: "DOWN",
  admin_state_up: true,
  device_id: pod.uid,
  device_owner: "compute:raven",
  "binding:host_id": "node-1",
  tenant_id: "p",
  project_id: "p",
  tags: [],
  description: describe("c1", pod),
});
const listing = (ports: NeutronPort[]) => ({
  networks: [],
  subnets: [],
  ports,
  floatingIps: [],
  loadBalancers: [],
});

test("a resync that finds a pod holding two ports under one name on one network tells the pod's owner", () => {
  const s = new NeutronState("c1");
  assert.deepEqual(s.replace(listing([port("a")])).statusChanged, []);
  // A stopped controller's create landed after its successor's listing: two ports now.
  assert.deepEqual(s.replace(listing([port("a"), port("bb")])).statusChanged, [pod]);
  // An attachment port (another name) is no duplicate.
  assert.deepEqual(s.replace(listing([port("a"), port("bb", "web-blue")])).statusChanged, []);
});
