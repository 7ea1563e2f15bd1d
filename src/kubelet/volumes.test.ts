import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { KubeObject } from "../kube/objects.ts";
import { refreshVolumes, setUpVolumes } from "./volumes.ts";

describe("configMap/secret volumes (atomic writer, refresh)", () => {
  let dir: string;
  const objects = new Map<string, KubeObject>();
  const getter = {
    configMap: async (ns: string, n: string) => objects.get(`cm/${ns}/${n}`),
    secret: async (ns: string, n: string) => objects.get(`secret/${ns}/${n}`),
  };
  const setCm = (data: Record<string, string>) =>
    objects.set("cm/default/cfg", { metadata: { name: "cfg", namespace: "default" }, data });
  const pod: KubeObject = {
    metadata: { name: "p", namespace: "default", uid: "u1" },
    spec: {
      volumes: [
        { name: "c", configMap: { name: "cfg" } },
        { name: "s", secret: { secretName: "sec", defaultMode: 0o400 } },
        { name: "e", emptyDir: {} },
      ],
    },
  };
  const vol = (name: string) => join(dir, "u1", "volumes", name);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "volumes-test-"));
    objects.clear();
    setCm({ a: "1", "nested.conf": "x" });
    objects.set("secret/default/sec", {
      metadata: { name: "sec", namespace: "default" },
      data: { token: Buffer.from("s3cret").toString("base64") },
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the kubelet's layout: a ..data symlink to a timestamped payload, keys linked through it", async () => {
    await setUpVolumes(pod, dir, getter);
    const data = readlinkSync(join(vol("c"), "..data"));
    assert.match(data, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./);
    assert.equal(readlinkSync(join(vol("c"), "a")), "..data/a");
    assert.equal(readFileSync(join(vol("c"), "a"), "utf8"), "1");
    assert.equal(readFileSync(join(vol("s"), "token"), "utf8"), "s3cret");
    assert.equal(statSync(join(vol("s"), "token")).mode & 0o777, 0o400);
  });

  it("a refresh swaps the payload: new values, removed keys gone, old payload deleted", async () => {
    await setUpVolumes(pod, dir, getter);
    const before = readlinkSync(join(vol("c"), "..data"));
    setCm({ a: "2", b: "new" });
    assert.deepEqual(await refreshVolumes(pod, dir, getter), []);
    const after = readlinkSync(join(vol("c"), "..data"));
    assert.notEqual(after, before);
    assert.equal(readFileSync(join(vol("c"), "a"), "utf8"), "2");
    assert.equal(readFileSync(join(vol("c"), "b"), "utf8"), "new");
    assert.ok(!existsSync(join(vol("c"), "nested.conf")));
    assert.ok(!existsSync(join(vol("c"), before)));
    assert.deepEqual(readdirSync(vol("c")).sort(), ["..data", after, "a", "b"].sort());
  });

  it("unchanged content is left alone; a vanished object keeps the last content and is reported", async () => {
    await setUpVolumes(pod, dir, getter);
    const before = readlinkSync(join(vol("c"), "..data"));
    assert.deepEqual(await refreshVolumes(pod, dir, getter), []);
    assert.equal(readlinkSync(join(vol("c"), "..data")), before);
    objects.delete("cm/default/cfg");
    assert.deepEqual(await refreshVolumes(pod, dir, getter), [
      'MountVolume.SetUp failed for volume "c" : configmap "cfg" not found',
    ]);
    assert.equal(readFileSync(join(vol("c"), "a"), "utf8"), "1");
  });

  it("only volumes set up before are refreshed, and emptyDir is never touched", async () => {
    assert.deepEqual(await refreshVolumes(pod, dir, getter), []);
    assert.ok(!existsSync(vol("c")));
    await setUpVolumes(pod, dir, getter);
    assert.ok(lstatSync(vol("e")).isDirectory());
  });

  it("a key path starting with .. is refused (it would collide with the writer's entries)", async () => {
    setCm({ "..data": "x" });
    await assert.rejects(setUpVolumes(pod, dir, getter), /invalid file path \.\.data/);
  });
});
