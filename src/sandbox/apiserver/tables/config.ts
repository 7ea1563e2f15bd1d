// configmaps, secrets and serviceaccounts: printers that count entries rather than show them.

import { ageColumn, column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import type { RowPrinter } from "./printer.ts";

const count = (map: unknown): number => (map && typeof map === "object" ? Object.keys(map).length : 0);

export const configMapPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column(
      "Data",
      "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
    ),
    ageColumn(),
  ],
  cells(cm, now) {
    // DATA counts text and binary keys together.
    return [cm.metadata.name, count(cm.data) + count(cm.binaryData), age(cm.metadata.creationTimestamp, now)];
  },
};

export const secretPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Type", "Used to facilitate programmatic handling of secret data."),
    column(
      "Data",
      "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
    ),
    ageColumn(),
  ],
  cells(secret, now) {
    // stringData is folded into data on write, so only data is counted.
    return [
      secret.metadata.name,
      secret.type ?? "",
      count(secret.data),
      age(secret.metadata.creationTimestamp, now),
    ];
  },
};

export const serviceAccountPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column(
      "Secrets",
      "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    ),
    ageColumn(),
  ],
  cells(sa, now) {
    const secrets = Array.isArray(sa.secrets) ? sa.secrets.length : 0;
    return [sa.metadata.name, secrets, age(sa.metadata.creationTimestamp, now)];
  },
};
