// Raven's OpenStack auth against a real Keystone (Debian's keystone package): password and
// application-credential logins from clouds.yaml, the service catalog leading to a real
// neutron-server (registered as the network endpoint), refused credentials as a clear error.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { OpenStackServices } from "../src/sandbox/openstack/services.ts";
import { KeystoneAuth } from "../src/sdn/neutron/auth.ts";
import { OpenStackClient } from "../src/sdn/neutron/client.ts";
import { loadCloud, processSources } from "../src/sdn/neutron/clouds.ts";
import { JsonHttp, OpenStackError } from "../src/sdn/neutron/http.ts";
import { NeutronApi } from "../src/sdn/neutron/neutron-api.ts";
import { type Keystone, startKeystone } from "./support/keystone.ts";

const dir = mkdtempSync(join(tmpdir(), "raven-keystone-"));
const dataDir = `/tmp/raven-os-${process.pid}-db`;
let services: OpenStackServices | undefined;
let keystone: Keystone | undefined;
const http = new JsonHttp();
const clouds = join(dir, "clouds.yaml");

before(async () => {
  [services, keystone] = await Promise.all([
    OpenStackServices.start({ dir: join(dir, "openstack"), dataDir, instance: `raven-ks-${process.pid}` }),
    startKeystone(join(dir, "keystone")),
  ]);
  // Neutron in the catalog, as a cloud has it.
  await keystone.osc(["service", "create", "--name", "neutron", "network"]);
  await keystone.osc([
    "endpoint",
    "create",
    "--region",
    keystone.region,
    "network",
    "public",
    services.endpoints.neutron,
  ]);
});

after(async () => {
  await http.close();
  await keystone?.stop();
  await services?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

function client(cloud: string) {
  const c = loadCloud(processSources({ OS_CLIENT_CONFIG_FILE: clouds }), cloud);
  const auth = new KeystoneAuth(c, http);
  return { auth, neutron: new NeutronApi(new OpenStackClient(auth, http)) };
}

test("password auth from clouds.yaml: a token scoped to the project, Neutron found through the catalog", async () => {
  writeFileSync(
    clouds,
    `clouds:
  prod:
    auth:
      auth_url: ${keystone!.url}
      username: admin
      password: ${keystone!.adminPassword}
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: ${keystone!.region}
`,
  );
  const { auth, neutron } = client("prod");
  assert.equal(await auth.endpoint("network"), services!.endpoints.neutron);
  const admin = await keystone!.osc(["project", "show", "admin"]);
  assert.equal(await auth.projectId(), admin.id);
  const net = await neutron.createNetwork({ name: "via-keystone" });
  assert.ok((await neutron.listNetworks({ name: "via-keystone" })).some((n) => n.id === net.id));
});

test("an application credential logs in by itself (no project, no password)", async () => {
  const cred = await keystone!.osc(["application", "credential", "create", "raven-test"]);
  writeFileSync(
    clouds,
    `clouds:
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: ${keystone!.url}
      application_credential_id: ${cred.id}
      application_credential_secret: ${cred.secret}
    region_name: ${keystone!.region}
`,
  );
  const { auth, neutron } = client("appcred");
  assert.ok(await auth.projectId(), "the credential's project");
  assert.ok(Array.isArray(await neutron.listNetworks()));
});

test("refused credentials are an error naming Keystone, never the password", async () => {
  writeFileSync(
    clouds,
    `clouds:
  wrong:
    auth:
      auth_url: ${keystone!.url}
      username: admin
      password: not-the-password
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
`,
  );
  const { neutron } = client("wrong");
  await assert.rejects(neutron.listNetworks(), (e: unknown) => {
    assert.ok(e instanceof OpenStackError && e.status === 401, String(e));
    assert.match(String(e), /Keystone refused the credentials/);
    assert.doesNotMatch(String(e), /not-the-password/);
    return true;
  });
});
