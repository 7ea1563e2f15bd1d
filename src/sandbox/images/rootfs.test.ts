import assert from "node:assert/strict";
import { test } from "node:test";
import { busyboxApplets, sharedLibraries } from "./rootfs.ts";

test("sharedLibraries lists a dynamic binary's libraries and loader, and refuses a static one", async () => {
  const libs = await sharedLibraries("/usr/sbin/nginx");
  assert.ok(
    libs.some((l) => /\/libc\.so\.6$/.test(l)),
    libs.join(" "),
  );
  assert.ok(
    libs.some((l) => /\/ld-linux[^/]*\.so\.2$/.test(l)),
    libs.join(" "),
  );
  assert.ok(libs.every((l) => l.startsWith("/")));
  await assert.rejects(sharedLibraries("/bin/busybox"), /ldd \/bin\/busybox/);
});

test("busyboxApplets gives install paths, including the ones the seeds call", async () => {
  const applets = await busyboxApplets("/bin/busybox");
  for (const p of [
    "bin/sh",
    "bin/sleep",
    "usr/bin/killall",
    "sbin/ip",
    "usr/bin/wget",
    "usr/bin/nc",
    "usr/sbin/httpd",
  ]) {
    assert.ok(applets.includes(p), p);
  }
  assert.ok(!applets.includes("linuxrc"));
});
