// batch/v1 jobs: NAME STATUS COMPLETIONS DURATION AGE [CONTAINERS IMAGES SELECTOR] (the 1.30+ column set).
import type { KubeObject } from "../../../kube/objects.ts";
import { parseTime } from "../../../kube/objects.ts";
import { ageColumn, column, nameColumn, templateColumns } from "./columns.ts";
import { age, humanDuration } from "./duration.ts";
import { containerCells, formatLabelSelector, int, isConditionTrue } from "./format.ts";
import type { RowPrinter } from "./printer.ts";

/** The STATUS column: terminal conditions first, then deletion, then the transitional conditions. */
export function jobStatus(job: KubeObject): string {
  const conditions: any[] = job.status?.conditions ?? [];
  const has = (type: string) => isConditionTrue(conditions, type);
  if (has("Complete")) return "Complete";
  if (has("Failed")) return "Failed";
  if (job.metadata.deletionTimestamp) return "Terminating";
  if (has("Suspended")) return "Suspended";
  if (has("FailureTarget")) return "FailureTarget";
  if (has("SuccessCriteriaMet")) return "SuccessCriteriaMet";
  return "Running";
}

/** "succeeded/completions"; without completions, "n/1" or "n/1 of <parallelism>" for work queues. */
function completionsCell(job: KubeObject): string {
  const spec = job.spec ?? {};
  const succeeded = int(job.status?.succeeded);
  if (typeof spec.completions === "number") return `${succeeded}/${spec.completions}`;
  const parallelism = int(spec.parallelism);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** Time from start to completion, or to now while running; empty before the job starts. */
function durationCell(job: KubeObject, now: number): string {
  const start = parseTime(job.status?.startTime);
  if (Number.isNaN(start)) return "";
  const end = parseTime(job.status?.completionTime);
  return humanDuration((Number.isNaN(end) ? now : end) - start);
}

export const jobPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Status", "Status of the job."),
    column("Completions", "The number of pods which reached phase Succeeded."),
    column("Duration", "Time required to complete the job."),
    ageColumn(),
    ...templateColumns("A label query over pods that should match the pod count."),
  ],
  cells(job, now) {
    const [names, images] = containerCells(job.spec?.template?.spec);
    return [
      job.metadata.name,
      jobStatus(job),
      completionsCell(job),
      durationCell(job, now),
      age(job.metadata.creationTimestamp, now),
      names,
      images,
      formatLabelSelector(job.spec?.selector),
    ];
  },
};
