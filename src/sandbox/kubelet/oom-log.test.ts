import assert from "node:assert/strict";
import { test } from "node:test";
import { oomKilledContainer } from "./oom-log.ts";

test("the container an oom-kill record names (cgroupfs and systemd layouts); other records name none", () => {
  const id = "39f1bb7c5f41bf46d11655096d190cc5e8f315ec6d20bf0daefeed09a97b9b63";
  assert.equal(
    oomKilledContainer(
      `6,2345,4518742352,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=${id},mems_allowed=0,oom_memcg=/k8s.io/${id},task_memcg=/k8s.io/${id},task=sh,pid=23311,uid=0\n`,
    ),
    id,
  );
  assert.equal(
    oomKilledContainer(
      `6,1,2,-;oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/kubepods.slice/x,task_memcg=/kubepods.slice/kubepods-pod1.slice/cri-containerd-${id}.scope,task=sh,pid=1,uid=0`,
    ),
    id,
  );
  assert.equal(
    oomKilledContainer("3,2,3,-;Memory cgroup out of memory: Killed process 23311 (sh)"),
    undefined,
  );
  assert.equal(oomKilledContainer("6,1,2,-;eth0: link up"), undefined);
});
