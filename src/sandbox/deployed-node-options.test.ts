import assert from "node:assert/strict";
import { test } from "node:test";
import { deployedNodeOptions } from "./deployed-node-options.ts";

test("reads NODE_OPTIONS from the controller Deployment, quoted or not", () => {
  assert.equal(
    deployedNodeOptions("env:\n  - name: NODE_OPTIONS\n    value: --max-semi-space-size=16\n"),
    "--max-semi-space-size=16",
  );
  assert.equal(deployedNodeOptions('env:\n  - name: NODE_OPTIONS\n    value: "--a --b"\n'), "--a --b");
  assert.equal(deployedNodeOptions("env:\n  - name: OTHER\n    value: x\n"), "");
});

test("the shipped manifest caps the young generation (the RSS target depends on it)", () => {
  assert.match(deployedNodeOptions(), /--max-semi-space-size=\d+/);
});
