// The OpenStack client's transport, auth and paging against undici's MockAgent (the real
// services are exercised in test/neutron-client.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { MockAgent } from "undici";
import { KeystoneAuth, StaticAuth } from "./auth.ts";
import { OpenStackClient } from "./client.ts";
import type { CloudConfig } from "./clouds.ts";
import { JsonHttp, OpenStackError, OpenStackUnavailable } from "./http.ts";

const noSleep = async () => {};

function mock() {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const http = new JsonHttp({ dispatcher: agent, sleep: noSleep, attempts: 3 });
  return { agent, http };
}

const keystoneCloud: CloudConfig = {
  name: "prod",
  authType: "password",
  auth: { auth_url: "http://keystone:5000", username: "raven", password: "pw", project_name: "k8s" },
  regionName: "r2",
  interface: "public",
  endpointOverride: {},
  verify: true,
};

const catalog = [
  {
    type: "network",
    endpoints: [
      { interface: "public", region_id: "r1", url: "http://neutron-r1:9696" },
      { interface: "public", region_id: "r2", url: "http://neutron:9696/" },
      { interface: "internal", region_id: "r2", url: "http://neutron-internal:9696" },
    ],
  },
];

function tokenReply(value: string, expiresInMs: number, now = Date.now()) {
  return {
    statusCode: 201,
    data: {
      token: {
        issued_at: new Date(now).toISOString(),
        expires_at: new Date(now + expiresInMs).toISOString(),
        catalog,
        project: { id: "p1" },
      },
    },
    responseOptions: { headers: { "x-subject-token": value, "content-type": "application/json" } },
  };
}

test("Keystone: the password request is scoped to the project; the endpoint comes from the catalog by interface and region", async () => {
  const { agent, http } = mock();
  let sent: any;
  agent
    .get("http://keystone:5000")
    .intercept({ path: "/v3/auth/tokens", method: "POST" })
    .reply((opts) => {
      sent = JSON.parse(String(opts.body));
      const r = tokenReply("tok-1", 3600_000);
      return { statusCode: r.statusCode, data: r.data, responseOptions: r.responseOptions };
    });
  let token: string | undefined;
  agent
    .get("http://neutron:9696")
    .intercept({ path: "/v2.0/networks?limit=500", method: "GET" })
    .reply((opts) => {
      token = (opts.headers as Record<string, string>)["x-auth-token"];
      return { statusCode: 200, data: { networks: [{ id: "n1" }] } };
    });
  const client = new OpenStackClient(new KeystoneAuth(keystoneCloud, http), http);
  assert.deepEqual(await client.list("network", "/networks", "networks"), [{ id: "n1" }]);
  assert.equal(token, "tok-1");
  assert.deepEqual(sent.auth.identity, {
    methods: ["password"],
    password: { user: { name: "raven", password: "pw", domain: { name: "Default" } } },
  });
  assert.deepEqual(sent.auth.scope, { project: { name: "k8s", domain: { name: "Default" } } });
  assert.equal(await client.auth.projectId(), "p1");
});

test("a token close to its expiry is renewed first; a 401 gets one fresh authentication", async () => {
  const { agent, http } = mock();
  let clock = Date.parse("2026-12-07T00:00:00Z");
  const keystone = agent.get("http://keystone:5000");
  for (const [value, at] of [
    ["old", clock],
    ["new", clock + 3_500_000],
    ["newer", clock + 3_500_000],
  ] as const) {
    const r = tokenReply(value, 3600_000, at);
    keystone
      .intercept({ path: "/v3/auth/tokens", method: "POST" })
      .reply(r.statusCode, r.data, r.responseOptions);
  }
  const seen: string[] = [];
  const neutron = agent.get("http://neutron:9696");
  const record = (status: number) => (opts: any) => {
    seen.push(opts.headers["x-auth-token"]);
    return {
      statusCode: status,
      data: status === 200 ? { port: { id: "p" } } : { error: { title: "Unauthorized" } },
    };
  };
  neutron.intercept({ path: "/v2.0/ports/p", method: "GET" }).reply(record(200));
  neutron.intercept({ path: "/v2.0/ports/p", method: "GET" }).reply(record(200));
  neutron.intercept({ path: "/v2.0/ports/p", method: "GET" }).reply(record(401));
  neutron.intercept({ path: "/v2.0/ports/p", method: "GET" }).reply(record(200));
  const client = new OpenStackClient(new KeystoneAuth(keystoneCloud, http, () => clock), http);
  await client.call("network", "GET", "/ports/p");
  // An hour-long token with 100 s left (under 10% of its life): renewed before the call.
  clock += 3_500_000;
  await client.call("network", "GET", "/ports/p");
  // Revoked early: the 401 brings one more authentication and the call is made again.
  await client.call("network", "GET", "/ports/p");
  assert.deepEqual(seen, ["old", "new", "new", "newer"]);
});

test("refused credentials are an error that names Keystone, never the password", async () => {
  const { agent, http } = mock();
  agent
    .get("http://keystone:5000")
    .intercept({ path: "/v3/auth/tokens", method: "POST" })
    .reply(401, {
      error: {
        code: 401,
        title: "Unauthorized",
        message: "The request you have made requires authentication.",
      },
    });
  const client = new OpenStackClient(new KeystoneAuth(keystoneCloud, http), http);
  await assert.rejects(client.call("network", "GET", "/ports"), (e: unknown) => {
    assert.ok(e instanceof OpenStackError && e.status === 401);
    assert.match(String(e), /Keystone refused the credentials/);
    assert.doesNotMatch(String(e), /pw/);
    return true;
  });
});

test("GET is retried on 5xx; a POST is not (it may have created something); Neutron's error type is kept", async () => {
  const { agent, http } = mock();
  const neutron = agent.get("http://n:9696");
  neutron.intercept({ path: "/v2.0/networks?limit=500", method: "GET" }).reply(503, "busy");
  neutron.intercept({ path: "/v2.0/networks?limit=500", method: "GET" }).reply(200, { networks: [] });
  neutron
    .intercept({ path: "/v2.0/ports", method: "POST" })
    .reply(500, { NeutronError: { type: "HTTPInternalServerError", message: "boom", detail: "" } });
  neutron.intercept({ path: "/v2.0/ports", method: "POST" }).reply(409, {
    NeutronError: { type: "IpAddressAlreadyAllocated", message: "IP 10.0.0.5 in use", detail: "" },
  });
  const client = new OpenStackClient(
    new StaticAuth({ ...keystoneCloud, authType: "none", auth: { endpoint: "http://n:9696" } }),
    http,
  );
  assert.deepEqual(await client.list("network", "/networks", "networks"), []);
  await assert.rejects(
    client.call("network", "POST", "/ports", {}),
    (e: unknown) => e instanceof OpenStackError && e.status === 500,
  );
  await assert.rejects(
    client.call("network", "POST", "/ports", {}),
    (e: unknown) =>
      e instanceof OpenStackError &&
      e.type === "IpAddressAlreadyAllocated" &&
      /IP 10.0.0.5 in use/.test(e.message),
  );
});

test("a service that stays down is OpenStackUnavailable after the attempts", async () => {
  const { agent, http } = mock();
  const neutron = agent.get("http://n:9696");
  for (let i = 0; i < 3; i++)
    neutron
      .intercept({ path: "/v2.0/ports/x", method: "GET" })
      .replyWithError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
  const client = new OpenStackClient(
    new StaticAuth({ ...keystoneCloud, authType: "none", auth: { endpoint: "http://n:9696" } }),
    http,
  );
  await assert.rejects(client.call("network", "GET", "/ports/x"), OpenStackUnavailable);
});

test("lists follow the next link's marker until a page has none", async () => {
  const { agent, http } = mock();
  const neutron = agent.get("http://n:9696");
  neutron.intercept({ path: "/v2.0/ports?name=a&limit=2", method: "GET" }).reply(200, {
    ports: [{ id: "1" }, { id: "2" }],
    ports_links: [{ rel: "next", href: "http://n:9696/v2.0/ports?name=a&limit=2&marker=2" }],
  });
  neutron.intercept({ path: "/v2.0/ports?name=a&limit=2&marker=2", method: "GET" }).reply(200, {
    ports: [{ id: "3" }],
    ports_links: [{ rel: "previous", href: "http://n:9696/v2.0/ports?marker=3&page_reverse=True" }],
  });
  const client = new OpenStackClient(
    new StaticAuth({ ...keystoneCloud, authType: "none", auth: { endpoint: "http://n:9696/v2.0" } }),
    http,
  );
  const ids = (await client.list<{ id: string }>("network", "/ports", "ports", { name: "a" }, 2)).map(
    (p) => p.id,
  );
  assert.deepEqual(ids, ["1", "2", "3"]);
});
