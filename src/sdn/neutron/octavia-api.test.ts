// Octavia's change protocol against undici's MockAgent: a change waits for ACTIVE and is made
// again while Octavia answers 409 "immutable" (another change's PENDING_UPDATE window), but
// any other 409 (a listener already on that port) is the caller's at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MockAgent } from "undici";
import { StaticAuth } from "./auth.ts";
import { OpenStackClient } from "./client.ts";
import { JsonHttp, OpenStackError } from "./http.ts";
import { OctaviaApi } from "./octavia-api.ts";

const LB = "http://octavia:9876";

function octavia() {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const http = new JsonHttp({ dispatcher: agent, sleep: async () => {}, attempts: 1 });
  const client = new OpenStackClient(
    new StaticAuth({
      name: "t",
      authType: "none",
      auth: {},
      interface: "public",
      endpointOverride: { "load-balancer": LB },
      verify: true,
    }),
    http,
  );
  const pool = agent.get(LB);
  pool
    .intercept({ path: "/v2/lbaas/loadbalancers/lb1", method: "GET" })
    .reply(200, { loadbalancer: { id: "lb1", provisioning_status: "ACTIVE" } })
    .persist();
  return { pool, api: new OctaviaApi(client, { sleep: async () => {}, pollMs: 0 }) };
}

const listener = { name: "http", protocol: "TCP" as const, protocol_port: 80 };

test("a change refused while the load balancer is immutable is made again", async () => {
  const { pool, api } = octavia();
  const posts: number[] = [];
  pool.intercept({ path: "/v2/lbaas/listeners", method: "POST" }).reply(() => {
    posts.push(409);
    return {
      statusCode: 409,
      data: { faultcode: "Client", faultstring: "Load Balancer lb1 is immutable and cannot be updated." },
    };
  });
  pool.intercept({ path: "/v2/lbaas/listeners", method: "POST" }).reply(() => {
    posts.push(201);
    return { statusCode: 201, data: { listener: { id: "l1", ...listener } } };
  });
  assert.equal((await api.createListener("lb1", listener)).id, "l1");
  assert.deepEqual(posts, [409, 201]);
});

test("any other 409 is thrown at once, not retried until the timeout", async () => {
  const { pool, api } = octavia();
  let posts = 0;
  pool.intercept({ path: "/v2/lbaas/listeners", method: "POST" }).reply(() => {
    posts++;
    return {
      statusCode: 409,
      data: {
        faultcode: "Client",
        faultstring:
          "Another Listener on this Load Balancer is already using protocol TCP and protocol_port 80",
      },
    };
  });
  await assert.rejects(
    api.createListener("lb1", listener),
    (e: unknown) => e instanceof OpenStackError && e.status === 409 && /already using/.test(e.message),
  );
  assert.equal(posts, 1);
});
