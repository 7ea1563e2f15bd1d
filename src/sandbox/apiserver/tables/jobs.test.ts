import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { jobPrinter, jobStatus } from "./jobs.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const ago = (seconds: number) => formatTime(NOW - seconds * 1000);

function job(spec: any, status: any, meta: any = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", creationTimestamp: ago(600), ...meta },
    spec: {
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "0b1d" } },
      template: { spec: { containers: [{ name: "pi", image: "perl:5.34" }], restartPolicy: "Never" } },
      ...spec,
    },
    status,
  };
}

const cond = (type: string, status = "True") => ({ type, status });

test("a completed job shows Complete, n/n and how long it took", () => {
  const j = job(
    { completions: 1, parallelism: 1 },
    {
      succeeded: 1,
      startTime: ago(590),
      completionTime: ago(590 - 150),
      conditions: [cond("SuccessCriteriaMet"), cond("Complete")],
    },
  );
  assert.deepEqual(jobPrinter.cells(j, NOW), [
    "pi",
    "Complete",
    "1/1",
    "2m30s",
    "10m",
    "pi",
    "perl:5.34",
    "batch.kubernetes.io/controller-uid=0b1d",
  ]);
});

test("a running job's duration runs to now; an unstarted job has none", () => {
  const runningJob = job({ completions: 5 }, { active: 2, succeeded: 2, startTime: ago(45) });
  assert.deepEqual(jobPrinter.cells(runningJob, NOW).slice(1, 4), ["Running", "2/5", "45s"]);
  const fresh = job({ completions: 1 }, {});
  assert.deepEqual(jobPrinter.cells(fresh, NOW).slice(1, 4), ["Running", "0/1", ""]);
});

test("work-queue jobs without completions show n/1, with parallelism when above one", () => {
  assert.equal(jobPrinter.cells(job({ parallelism: 3 }, { succeeded: 0 }), NOW)[2], "0/1 of 3");
  assert.equal(jobPrinter.cells(job({ parallelism: 1 }, { succeeded: 1 }), NOW)[2], "1/1");
});

test("job status precedence: Complete/Failed, then Terminating, then Suspended/FailureTarget/SuccessCriteriaMet", () => {
  const deleting = { deletionTimestamp: ago(1) };
  assert.equal(jobStatus(job({}, { conditions: [cond("Failed")] })), "Failed");
  assert.equal(jobStatus(job({}, { conditions: [cond("Complete")] }, deleting)), "Complete");
  assert.equal(jobStatus(job({}, { conditions: [cond("Suspended")] }, deleting)), "Terminating");
  assert.equal(jobStatus(job({ suspend: true }, { conditions: [cond("Suspended")] })), "Suspended");
  assert.equal(jobStatus(job({}, { conditions: [cond("FailureTarget")] })), "FailureTarget");
  assert.equal(jobStatus(job({}, { conditions: [cond("SuccessCriteriaMet")] })), "SuccessCriteriaMet");
  // A condition that is not True does not count.
  assert.equal(jobStatus(job({}, { conditions: [cond("Suspended", "False")] })), "Running");
});
