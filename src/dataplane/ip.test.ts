import assert from "node:assert/strict";
import { test } from "node:test";
import { namedNetns } from "./ip.ts";

test("a netns file under /run/netns (or /var/run/netns) is entered by name; any other through nsenter", () => {
  assert.equal(namedNetns("/var/run/netns/cni-3f2a"), "cni-3f2a");
  assert.equal(namedNetns("/run/netns/rv-node-1"), "rv-node-1");
  assert.equal(namedNetns("/proc/1234/ns/net"), undefined);
  assert.equal(namedNetns("/run/netns/a/b"), undefined);
  assert.equal(namedNetns("/run/netns/"), undefined);
});
