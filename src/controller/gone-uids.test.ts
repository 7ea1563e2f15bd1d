import assert from "node:assert/strict";
import { test } from "node:test";
import { GoneUids } from "./gone-uids.ts";

test("releases every gone UID under a key but the live one, once", async () => {
  const g = new GoneUids();
  g.add("ns/a", "u1");
  g.add("ns/a", "u2");
  g.add("ns/b", "u3");
  const released: string[] = [];
  await g.release("ns/a", "u2", async (uid) => void released.push(uid));
  assert.deepEqual(released, ["u1"]);
  await g.release("ns/a", undefined, async (uid) => void released.push(uid));
  assert.deepEqual(released, ["u1"], "forgotten after the first pass");
});

test("a failing release keeps that UID for the retry", async () => {
  const g = new GoneUids();
  g.add("k", "u1");
  await assert.rejects(
    g.release("k", undefined, async () => {
      throw new Error("ports remain");
    }),
  );
  const released: string[] = [];
  await g.release("k", undefined, async (uid) => void released.push(uid));
  assert.deepEqual(released, ["u1"]);
});
