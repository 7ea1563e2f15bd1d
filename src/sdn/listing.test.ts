import assert from "node:assert/strict";
import { test } from "node:test";
import { boxTable, filterRows, formatCell, listing } from "./listing.ts";
import type { Inventory } from "./model.ts";

const owner = (namespace: string, name: string) => ({
  kind: "Pod" as const,
  namespace,
  name,
  uid: `${name}-uid`,
});
const inv: Inventory = {
  networks: [],
  loadBalancers: [],
  floatingIps: [],
  ports: [
    {
      owner: owner("default", "nginx"),
      object: {
        id: "b345e440-b9c8-48d8-9d1c-07b91d066b08",
        name: "nginx",
        network_id: "n1",
        mac_address: "fa:16:3e:36:47:de",
        fixed_ips: [{ subnet_id: "397f6de9-bee3-4e66-8056-f9e54a7ec5e0", ip_address: "192.168.0.2" }],
        status: "ACTIVE",
        admin_state_up: true,
        device_id: "nginx-uid",
        device_owner: "raven:pod",
        "binding:host_id": "n",
        tenant_id: "t",
      },
    },
  ],
};

test("neutron's port-list, with its spaced JSON cells", () => {
  const l = filterRows(listing(inv, "ports"), { name: "nginx" });
  const rows = l.rows.map((r) => r.cells);
  assert.equal(
    boxTable(["name", "mac_address", "fixed_ips"], rows),
    [
      "+-------+-------------------+------------------------------------------------------------------------------------+",
      "| name  | mac_address       | fixed_ips                                                                          |",
      "+-------+-------------------+------------------------------------------------------------------------------------+",
      '| nginx | fa:16:3e:36:47:de | {"subnet_id": "397f6de9-bee3-4e66-8056-f9e54a7ec5e0", "ip_address": "192.168.0.2"} |',
      "+-------+-------------------+------------------------------------------------------------------------------------+",
      "",
    ].join("\n"),
  );
  assert.equal(filterRows(listing(inv, "ports"), { namespace: "other" }).rows.length, 0);
  assert.equal(boxTable(["name"], []), "", "an empty list prints nothing");
});

test("cells: lists one per line, nulls empty", () => {
  assert.deepEqual(formatCell(["a", "b"]), ["a", "b"]);
  assert.deepEqual(formatCell(null), [""]);
  assert.deepEqual(formatCell({ a: 1, b: [true, null] }), ['{"a": 1, "b": [true, null]}']);
});
