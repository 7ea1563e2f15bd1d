import assert from "node:assert/strict";
import { test } from "node:test";
import { CloudConfigError, type CloudSources, cloudsSearchPath, loadCloud } from "./clouds.ts";

function sources(files: Record<string, string>, env: Record<string, string> = {}): CloudSources {
  return { env, readFile: (p) => files[p], cwd: "/work", home: "/home/u" };
}

const KEYSTONE = `
clouds:
  prod:
    auth:
      auth_url: https://keystone.example:5000/v3
      username: raven
      project_name: k8s
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionTwo
    interface: internal
  sandbox:
    auth_type: none
    auth: {endpoint: "http://127.0.0.1:9696"}
    network_endpoint_override: "http://127.0.0.1:9696/"
    load_balancer_endpoint_override: "http://127.0.0.1:9876/"
`;

test("the search path is OS_CLIENT_CONFIG_FILE alone, else ./, ~/.config/openstack/, /etc/openstack/", () => {
  assert.deepEqual(cloudsSearchPath(sources({})), [
    "/work/clouds.yaml",
    "/home/u/.config/openstack/clouds.yaml",
    "/etc/openstack/clouds.yaml",
  ]);
  assert.deepEqual(cloudsSearchPath(sources({}, { OS_CLIENT_CONFIG_FILE: "/x/c.yaml" })), ["/x/c.yaml"]);
});

test("a password cloud from the first clouds.yaml that has it, with its secret from secure.yaml beside it", () => {
  const src = sources({
    "/work/clouds.yaml": "clouds: {other: {auth_type: none, auth: {endpoint: 'http://x'}}}",
    "/home/u/.config/openstack/clouds.yaml": KEYSTONE,
    "/home/u/.config/openstack/secure.yaml": "clouds: {prod: {auth: {password: s3cret}}}",
  });
  const c = loadCloud(src, "prod");
  assert.equal(c.authType, "password");
  assert.equal(c.auth.password, "s3cret");
  assert.equal(c.auth.username, "raven");
  assert.equal(c.regionName, "RegionTwo");
  assert.equal(c.interface, "internal");
  assert.equal(c.source, "/home/u/.config/openstack/clouds.yaml");
});

test("auth_type none with per-service endpoints; OS_CLOUD names the cloud", () => {
  const c = loadCloud(sources({ "/etc/openstack/clouds.yaml": KEYSTONE }, { OS_CLOUD: "sandbox" }));
  assert.equal(c.authType, "none");
  assert.deepEqual(c.endpointOverride, {
    network: "http://127.0.0.1:9696/",
    "load-balancer": "http://127.0.0.1:9876/",
  });
});

test("without a cloud name, the OS_* variables; an application credential is recognised", () => {
  const c = loadCloud(
    sources(
      {},
      {
        OS_AUTH_URL: "https://k:5000",
        OS_APPLICATION_CREDENTIAL_ID: "abc",
        OS_APPLICATION_CREDENTIAL_SECRET: "xyz",
        OS_AUTH_TYPE: "v3applicationcredential",
        OS_REGION_NAME: "r1",
      },
    ),
  );
  assert.equal(c.name, "envvars");
  assert.equal(c.authType, "v3applicationcredential");
  assert.equal(c.auth.application_credential_secret, "xyz");
  assert.equal(c.regionName, "r1");
});

test("bad configurations are errors that say what is wrong and where", () => {
  const bad = (files: Record<string, string>, cloud: string, re: RegExp) =>
    assert.throws(
      () => loadCloud(sources(files), cloud),
      (e: unknown) => e instanceof CloudConfigError && re.test(String(e)),
    );
  bad({}, "prod", /no cloud named "prod"/);
  bad({ "/work/clouds.yaml": "clouds: [" }, "prod", /clouds.yaml: not YAML/);
  bad({ "/work/clouds.yaml": "clouds: 3" }, "prod", /clouds/);
  bad({ "/work/clouds.yaml": "clouds: {p: {auth: {username: a, password: b}}}" }, "p", /auth_url is not set/);
  bad({ "/work/clouds.yaml": "clouds: {p: {auth: {auth_url: 'http://k', username: a}}}" }, "p", /a password/);
  bad(
    { "/work/clouds.yaml": "clouds: {p: {auth_type: token, auth: {auth_url: 'http://k'}}}" },
    "p",
    /not supported/,
  );
  bad({ "/work/clouds.yaml": "clouds: {p: {auth_type: none}}" }, "p", /needs auth.endpoint/);
});
