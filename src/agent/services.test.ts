import assert from "node:assert/strict";
import { test } from "node:test";
import type { FloatingIp, LoadBalancerState } from "../sdn/model.ts";
import { frontendsOf } from "./services.ts";

const lb = (vip: string, listeners: [string, number, string[]][]): LoadBalancerState =>
  ({
    loadbalancer: { vip_address: vip },
    listeners: listeners.map(([protocol, port], i) => ({
      protocol,
      protocol_port: port,
      default_pool_id: `p${i}`,
    })),
    pools: listeners.map(([, , members], i) => ({
      id: `p${i}`,
      members: members.map((m) => ({ address: m.split(":")[0], protocol_port: Number(m.split(":")[1]) })),
    })),
  }) as unknown as LoadBalancerState;

test("a load balancer's listeners become frontends with their pools' members; a floating IP repeats them", () => {
  const fips = [
    { floating_ip_address: "172.16.0.4", fixed_ip_address: "10.0.0.2" },
    { floating_ip_address: "172.16.0.9", fixed_ip_address: "10.0.0.99" },
  ] as FloatingIp[];
  const out = frontendsOf(
    [
      lb("10.0.0.2", [
        ["TCP", 80, ["192.168.0.3:8080", "192.168.0.2:8080"]],
        ["UDP", 53, []],
      ]),
    ],
    fips,
  );
  assert.deepEqual(out, [
    {
      address: "10.0.0.2",
      external: false,
      protocol: "tcp",
      port: 80,
      members: [
        { address: "192.168.0.2", port: 8080 },
        { address: "192.168.0.3", port: 8080 },
      ],
    },
    { address: "10.0.0.2", external: false, protocol: "udp", port: 53, members: [] },
    {
      address: "172.16.0.4",
      external: true,
      protocol: "tcp",
      port: 80,
      members: [
        { address: "192.168.0.2", port: 8080 },
        { address: "192.168.0.3", port: 8080 },
      ],
    },
    { address: "172.16.0.4", external: true, protocol: "udp", port: 53, members: [] },
  ]);
});
