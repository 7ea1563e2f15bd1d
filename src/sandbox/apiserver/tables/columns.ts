// Column definitions shared by the printers. kubectl only uses name, type and priority;
// the descriptions mirror the real server's (the ObjectMeta/field docs) so `-o json` Tables look familiar.
import type { TableColumn } from "../types.ts";

type ColumnType = TableColumn["type"];

/** A column; `priority: 1` marks it as `-o wide` only. Empty format and priority 0 are sent, as the real server does. */
export function column(
  name: string,
  description: string,
  opts: { type?: ColumnType; wide?: boolean } = {},
): TableColumn {
  return { name, type: opts.type ?? "string", format: "", description, priority: opts.wide ? 1 : 0 };
}

const NAME_DOC =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATION_DOC =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/** The NAME column every printer starts with (format "name" lets kubectl add `kind/` prefixes). */
export const nameColumn = (opts: { wide?: boolean } = {}): TableColumn => ({
  ...column("Name", NAME_DOC, opts),
  format: "name",
});

export const ageColumn = (): TableColumn => column("Age", CREATION_DOC);

/** The default convertor's creation column: an RFC 3339 date, not an age. */
export const createdAtColumn = (): TableColumn => column("Created At", CREATION_DOC, { type: "date" });

/** Wide columns listing a pod template's containers and images, shared by the workload printers. */
export const templateColumns = (selectorDoc: string): TableColumn[] => [
  column("Containers", "Names of each container in the template.", { wide: true }),
  column("Images", "Images referenced by each container in the template.", { wide: true }),
  column("Selector", selectorDoc, { wide: true }),
];
