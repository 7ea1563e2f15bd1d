import assert from "node:assert/strict";
import { test } from "node:test";
import { strategies } from "./index.ts";
import { prepareJobForCreate } from "./jobs.ts";
import { created, createErrors, updateErrors } from "./testing.ts";

const jobs = strategies["batch/jobs"];
const UID = "8f1e6f9b-1c7d-4c40-9c43-4f1a0d1e2b3c";
const pi = {
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "pi", namespace: "default" },
  spec: {
    template: {
      spec: {
        restartPolicy: "Never",
        containers: [{ name: "pi", image: "perl:5.34", command: ["perl", "-e", "print 1"] }],
      },
    },
  },
};

test("a new Job selects its own pods by uid and labels its template", () => {
  const job: any = structuredClone(pi);
  job.metadata.uid = UID;
  prepareJobForCreate(job);
  assert.deepEqual(job.spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": UID } });
  assert.deepEqual(job.spec.template.metadata.labels, {
    "job-name": "pi",
    "batch.kubernetes.io/job-name": "pi",
    "controller-uid": UID,
    "batch.kubernetes.io/controller-uid": UID,
  });
  assert.deepEqual(job.status, {});
});

test("a Job gets upstream's defaults and passes validation", () => {
  assert.deepEqual(createErrors(jobs, pi), []);
  const job = created(jobs, pi, UID);
  const { template: _t, selector: _s, ...rest } = job.spec;
  assert.deepEqual(rest, {
    completions: 1,
    parallelism: 1,
    backoffLimit: 6,
    completionMode: "NonIndexed",
    suspend: false,
    podReplacementPolicy: "TerminatingOrFailed",
    manualSelector: false,
  });
  // The Job carries its template's labels, generated ones included.
  assert.equal(job.metadata.labels?.["batch.kubernetes.io/job-name"], "pi");
  const parallel = created(jobs, { ...pi, spec: { ...pi.spec, parallelism: 3 } }, UID);
  assert.equal(
    parallel.spec.completions,
    undefined,
    "parallel jobs without completions run until one succeeds",
  );
});

test("a Job's pods may not restart forever", () => {
  const always = structuredClone(pi) as any;
  always.spec.template.spec.restartPolicy = "Always";
  assert.deepEqual(createErrors(jobs, always), [
    'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
  ]);
  const unset = structuredClone(pi) as any;
  delete unset.spec.template.spec.restartPolicy;
  assert.deepEqual(createErrors(jobs, unset), [
    'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
  ]);
});

test("a manual selector must still match the template; a generated one must not be tampered with", () => {
  const manual = structuredClone(pi) as any;
  manual.spec.manualSelector = true;
  manual.spec.selector = { matchLabels: { app: "pi" } };
  assert.deepEqual(createErrors(jobs, manual), [
    "spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`",
  ]);
  manual.spec.template.metadata = { labels: { app: "pi" } };
  assert.deepEqual(createErrors(jobs, manual), []);
  const forged = structuredClone(pi) as any;
  forged.spec.template.metadata = { labels: { "controller-uid": "someone-else" } };
  assert.deepEqual(createErrors(jobs, forged), [
    `spec.template.metadata.labels[controller-uid]: Invalid value: map[string]string{"batch.kubernetes.io/controller-uid":"0b9c9d7e-uid", "batch.kubernetes.io/job-name":"pi", "controller-uid":"someone-else", "job-name":"pi"}: must be '0b9c9d7e-uid'`,
  ]);
  const stolen = structuredClone(pi) as any;
  stolen.spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": "someone-else" } };
  const errs = createErrors(jobs, stolen);
  assert.equal(errs.length, 2);
  assert.match(
    errs[0],
    /^spec\.selector: Invalid value: v1\.LabelSelector\{.*"someone-else"\}.*\}: `selector` not auto-generated$/,
  );
  assert.match(
    errs[1],
    /^spec\.template\.metadata\.labels: Invalid value: map\[string\]string\{.*\}: `selector` does not match template `labels`$/,
  );
});

test("counts must not be negative and completion modes are NonIndexed or Indexed", () => {
  const bad = structuredClone(pi) as any;
  bad.spec.backoffLimit = -1;
  bad.spec.completionMode = "Sometimes";
  assert.deepEqual(createErrors(jobs, bad), [
    "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
    'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"',
  ]);
});

test("a running Job's template, selector and completions are frozen", () => {
  const stored = created(jobs, pi, UID);
  const relabelled = structuredClone(stored);
  relabelled.metadata.labels = { ...relabelled.metadata.labels, team: "a" };
  relabelled.spec.parallelism = 2;
  assert.deepEqual(updateErrors(jobs, relabelled, stored), []);
  const changed = structuredClone(stored);
  changed.spec.template.spec.containers[0].image = "perl:5.36";
  changed.spec.completions = 2;
  const errs = updateErrors(jobs, changed, stored);
  assert.deepEqual(
    errs.map((e) => e.replace(/Invalid value: .*: field is immutable$/, "…: field is immutable")),
    ["spec.completions: …: field is immutable", "spec.template: …: field is immutable"],
  );
  assert.ok(errs[0].startsWith("spec.completions: Invalid value: 2:"));
  assert.ok(errs[1].startsWith("spec.template: Invalid value: core.PodTemplateSpec{"));
});

test("jobs select on their success count", () => {
  const job = created(jobs, pi, UID);
  job.status = { succeeded: 1 };
  assert.deepEqual(jobs.selectableFields!(job), { "status.successful": "1" });
});
