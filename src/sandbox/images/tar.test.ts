import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Rootfs } from "./rootfs.ts";
import { writeTar } from "./tar.ts";

test("GNU tar reads what writeTar writes: modes, symlinks, long paths, data", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "raven-tar-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const longDir = `${"d".repeat(90)}/${"e".repeat(60)}`;
  const big = Buffer.alloc(1500, 7);
  const archive = writeTar([
    { type: "dir", path: "bin", mode: 0o755 },
    { type: "file", path: "bin/tool", mode: 0o755, data: Buffer.from("#!/bin/sh\necho hi\n") },
    { type: "symlink", path: "bin/alias", target: "tool" },
    { type: "dir", path: "tmp", mode: 0o1777 },
    { type: "dir", path: "d".repeat(90), mode: 0o755 },
    { type: "dir", path: longDir, mode: 0o700 },
    { type: "file", path: `${longDir}/${"f".repeat(80)}`, mode: 0o600, data: big },
    { type: "file", path: "empty", mode: 0o644, data: new Uint8Array() },
  ]);
  assert.equal(archive.length % 512, 0);
  const file = join(dir, "a.tar");
  writeFileSync(file, archive);
  const listing = execFileSync("tar", ["-tvf", file], { encoding: "utf8" });
  assert.match(listing, /^-rwxr-xr-x root\/root\s+18 1970-01-01 00:00 bin\/tool$/m);
  assert.match(listing, /^lrwxrwxrwx root\/root\s+0 1970-01-01 00:00 bin\/alias -> tool$/m);
  assert.match(listing, /^drwxrwxrwt root\/root\s+0 1970-01-01 00:00 tmp\/$/m);
  const out = join(dir, "out");
  execFileSync("mkdir", [out]);
  execFileSync("tar", ["-xf", file, "-C", out, "--no-same-owner"]);
  assert.equal(readFileSync(join(out, "bin/tool"), "utf8"), "#!/bin/sh\necho hi\n");
  assert.equal(readlinkSync(join(out, "bin/alias")), "tool");
  assert.deepEqual(readFileSync(join(out, longDir, "f".repeat(80))), big);
  assert.equal(lstatSync(join(out, longDir, "f".repeat(80))).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(out, "empty")).length, 0);
});

test("writeTar is deterministic and rejects bad entries", () => {
  const entries = [{ type: "file" as const, path: "a", mode: 0o644, data: Buffer.from("x") }];
  assert.deepEqual(writeTar(entries), writeTar(entries));
  assert.throws(() => writeTar([{ type: "dir", path: "/abs", mode: 0o755 }]), /must be relative/);
  assert.throws(() => writeTar([...entries, ...entries]), /duplicate entry a/);
  assert.throws(() => writeTar([{ type: "dir", path: "x".repeat(300), mode: 0o755 }]), /too long/);
});

test("Rootfs adds parent dirs, sorts entries, refuses files as parents and bad paths", () => {
  const a = new Rootfs().file("/usr/bin/x", "1").symlink("bin/sh", "busybox").dir("tmp", 0o1777);
  const b = new Rootfs().dir("tmp", 0o1777).symlink("bin/sh", "busybox").file("usr/bin/x", "1");
  assert.deepEqual(a.tar(), b.tar());
  assert.ok(a.has("usr") && a.has("usr/bin") && a.has("bin"));
  assert.throws(() => new Rootfs().file("f", "1").file("f/g", "2"), /f is not a directory/);
  assert.throws(() => new Rootfs().file("../etc/passwd", "x"), /bad path/);
  assert.throws(() => new Rootfs().file("/", "x"), /bad path/);
});
