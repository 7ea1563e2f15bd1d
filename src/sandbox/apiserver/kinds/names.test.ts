import assert from "node:assert/strict";
import { test } from "node:test";
import {
  configMapKey,
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  envVarName,
  isValidCIDR,
  isValidIP,
  isValidIPv4,
  isValidIPv6,
  isValidPortName,
  labelValue,
  nonSpecialIPErrors,
  pathSegmentName,
  qualifiedName,
} from "./names.ts";

test("DNS-1123 subdomain and label messages are upstream's, word for word", () => {
  assert.deepEqual(dns1123Subdomain("example.com"), []);
  assert.deepEqual(dns1123Subdomain("Foo_bar"), [
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ]);
  assert.deepEqual(dns1123Label("a.b"), ["must not contain dots"]);
  assert.deepEqual(dns1123Label("-x"), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.deepEqual(dns1123Label("a".repeat(64)), ["must be no more than 63 characters"]);
  assert.deepEqual(dns1035Label("1abc"), [
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ]);
});

test("qualified names check prefix and name parts separately", () => {
  assert.deepEqual(qualifiedName("app.kubernetes.io/name"), []);
  assert.deepEqual(qualifiedName("/x"), ["prefix part must be non-empty"]);
  assert.equal(qualifiedName("a/b/c").length, 1);
  assert.match(qualifiedName("a/b/c")[0], /^a valid label key must consist of/);
  assert.deepEqual(qualifiedName("Bad_/x"), [
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ]);
  assert.equal(labelValue("").length, 0);
  assert.equal(labelValue("-bad-").length, 1);
});

test("IANA service names: short, lower-case, a letter, no doubled or edge hyphens", () => {
  assert.deepEqual(isValidPortName("http"), []);
  assert.deepEqual(isValidPortName("8080"), ["must contain at least one letter (a-z)"]);
  assert.deepEqual(isValidPortName("a--b"), ["must not contain consecutive hyphens"]);
  assert.deepEqual(isValidPortName("-http-metrics-xy"), [
    "must be no more than 15 characters",
    "must not begin or end with a hyphen",
  ]);
  assert.deepEqual(isValidPortName("HTTP"), [
    "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
    "must contain at least one letter (a-z)",
  ]);
});

test("environment variable names follow 1.33's relaxed rule", () => {
  assert.deepEqual(envVarName("MY_VAR.1-x"), []);
  assert.deepEqual(envVarName("1LEADING_DIGIT"), []);
  assert.deepEqual(envVarName("A=B"), [
    "a valid environment variable name must consist only of printable ASCII characters other than '='",
  ]);
});

test("config keys and path segments", () => {
  assert.deepEqual(configMapKey("game.properties"), []);
  assert.deepEqual(configMapKey(".."), ["must not be '..'"]);
  assert.deepEqual(configMapKey("a b"), [
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
  ]);
  assert.deepEqual(pathSegmentName(".."), ["may not be '..'"]);
  assert.deepEqual(pathSegmentName("a/b%c"), ["may not contain '/'", "may not contain '%'"]);
});

test("IP and CIDR parsing is as sloppy as Go's, and no sloppier", () => {
  assert.ok(isValidIPv4("10.0.0.1"));
  assert.ok(isValidIPv4("010.001.0.1"));
  assert.ok(!isValidIPv4("300.1.1.1"));
  assert.ok(!isValidIPv4("1.2.3"));
  assert.ok(isValidIPv6("2001:db8::ffff"));
  assert.ok(isValidIPv6("::ffff:1.2.3.4"));
  assert.ok(isValidIPv6("::"));
  assert.ok(!isValidIPv6("1:2:3:4:5:6:7:8:9"));
  assert.ok(!isValidIPv6("1::2::3"));
  assert.ok(!isValidIP("example.com"));
  assert.ok(isValidCIDR("10.244.0.0/24"));
  assert.ok(!isValidCIDR("10.244.0.0/33"));
  assert.ok(!isValidCIDR("10.244.0.0"));
});

test("special addresses are refused as endpoints and external IPs", () => {
  assert.deepEqual(nonSpecialIPErrors("8.8.8.8"), []);
  assert.deepEqual(nonSpecialIPErrors("0.0.0.0"), ["may not be unspecified (0.0.0.0)"]);
  assert.deepEqual(nonSpecialIPErrors("127.0.0.2"), [
    "may not be in the loopback range (127.0.0.0/8, ::1/128)",
  ]);
  assert.deepEqual(nonSpecialIPErrors("::1"), ["may not be in the loopback range (127.0.0.0/8, ::1/128)"]);
  assert.deepEqual(nonSpecialIPErrors("169.254.1.1"), [
    "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
  ]);
  assert.deepEqual(nonSpecialIPErrors("fe80::1"), [
    "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
  ]);
  assert.deepEqual(nonSpecialIPErrors("224.0.0.5"), [
    "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
  ]);
  assert.deepEqual(nonSpecialIPErrors("::ffff:127.0.0.1"), [
    "may not be in the loopback range (127.0.0.0/8, ::1/128)",
  ]);
});
