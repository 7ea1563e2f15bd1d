// core/v1 events (what `kubectl get events` lists): LAST SEEN TYPE REASON OBJECT [SUBOBJECT SOURCE]
// MESSAGE [FIRST SEEN COUNT NAME]. The only built-in table that does not start with NAME.
import type { KubeObject } from "../../../kube/objects.ts";
import { parseTime } from "../../../kube/objects.ts";
import { column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import type { RowPrinter } from "./printer.ts";

/** firstTimestamp, falling back to eventTime for events written through events.k8s.io. */
function firstSeen(ev: KubeObject, now: number): string {
  return Number.isNaN(parseTime(ev.firstTimestamp)) ? age(ev.eventTime, now) : age(ev.firstTimestamp, now);
}

/** "kubelet, node-1": component and host, or the reporting controller/instance when those are empty. */
export function eventSource(ev: KubeObject): string {
  const component = ev.source?.component || ev.reportingComponent || "";
  const instance = ev.source?.host || ev.reportingInstance || "";
  return instance ? `${component}, ${instance}` : component;
}

/** "pod/web-0", or just the lower-cased kind when the event is about no named object. */
function involvedObject(ev: KubeObject): string {
  const io = ev.involvedObject ?? {};
  const kind = String(io.kind ?? "").toLowerCase();
  return io.name ? `${kind}/${io.name}` : kind;
}

export const eventPrinter: RowPrinter = {
  columns: [
    column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    column(
      "Reason",
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    column("Object", "The object that this event is about."),
    column(
      "Subobject",
      "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
      {
        wide: true,
      },
    ),
    column("Source", "The component reporting this event. Should be a short machine understandable string.", {
      wide: true,
    }),
    column("Message", "A human-readable description of the status of this operation."),
    column(
      "First Seen",
      "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
      {
        wide: true,
      },
    ),
    column("Count", "The number of times this event has occurred.", { wide: true }),
    nameColumn({ wide: true }),
  ],
  cells(ev, now) {
    const first = firstSeen(ev, now);
    let last = Number.isNaN(parseTime(ev.lastTimestamp)) ? first : age(ev.lastTimestamp, now);
    let count: number = typeof ev.count === "number" ? ev.count : 0;
    if (ev.series) {
      // A series (events.k8s.io style) tracks its own last observation and count.
      last = age(ev.series.lastObservedTime, now);
      count = ev.series.count ?? 0;
    } else if (count === 0) {
      count = 1; // singleton events written through the new API carry no count
    }
    return [
      last,
      ev.type ?? "",
      ev.reason ?? "",
      involvedObject(ev),
      ev.involvedObject?.fieldPath ?? "",
      eventSource(ev),
      String(ev.message ?? "").trim(),
      first,
      count,
      ev.metadata.name,
    ];
  },
};
