// rolebindings and clusterrolebindings: NAME ROLE AGE (wide: USERS GROUPS SERVICEACCOUNTS), as
// upstream prints them. Roles and ClusterRoles use the default NAME CREATED AT.

import { ageColumn, column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import type { RowPrinter } from "./printer.ts";

const ofKind = (b: any, kind: string) =>
  (b.subjects ?? [])
    .filter((s: any) => s.kind === kind)
    .map((s: any) => (kind === "ServiceAccount" ? `${s.namespace ?? ""}/${s.name}` : s.name))
    .join(", ");

export const bindingPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Role", "RoleRef references the role this binding grants."),
    ageColumn(),
    column("Users", "Users bound by this binding.", { wide: true }),
    column("Groups", "Groups bound by this binding.", { wide: true }),
    column("ServiceAccounts", "Service accounts bound by this binding.", { wide: true }),
  ],
  cells(b, now) {
    return [
      b.metadata.name,
      `${b.roleRef?.kind}/${b.roleRef?.name}`,
      age(b.metadata.creationTimestamp, now),
      ofKind(b, "User"),
      ofKind(b, "Group"),
      ofKind(b, "ServiceAccount"),
    ];
  },
};
