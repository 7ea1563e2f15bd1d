// The backend's view as the neutron CLI prints it (`neutron port-list -c name -c fixed_ips`,
// `lb-vip-list`, `lb-pool-list`, `lb-member-list`, `floatingip-list`): rows per object kind,
// column selection, and the boxed table format.
import type { Inventory, Owner } from "./model.ts";

export type ListingKind = "networks" | "subnets" | "ports" | "lbs" | "pools" | "members" | "fips";

export interface Row {
  owner: Owner;
  cells: Record<string, unknown>;
}

export interface Listing {
  columns: string[];
  rows: Row[];
}

const COLUMNS: Record<ListingKind, string[]> = {
  networks: ["id", "name", "subnets"],
  subnets: ["id", "name", "cidr", "allocation_pools"],
  ports: ["id", "name", "mac_address", "fixed_ips"],
  lbs: ["id", "name", "address", "protocol", "status"],
  pools: ["id", "name", "provider", "protocol", "status"],
  members: ["id", "address", "protocol_port", "status"],
  fips: ["id", "fixed_ip_address", "floating_ip_address"],
};

export function listing(inv: Inventory, kind: ListingKind): Listing {
  const rows: Row[] = [];
  switch (kind) {
    case "networks":
      for (const n of inv.networks)
        rows.push({
          owner: n.owner,
          cells: {
            ...n.object,
            subnets: n.object.subnet ? `${n.object.subnet.id} ${n.object.subnet.cidr}` : "",
            purpose: n.object.purpose,
          },
        });
      break;
    case "subnets":
      for (const n of inv.networks)
        if (n.object.subnet) rows.push({ owner: n.owner, cells: { ...n.object.subnet } });
      break;
    case "ports":
      for (const p of inv.ports) rows.push({ owner: p.owner, cells: { ...p.object } });
      break;
    case "lbs":
      for (const l of inv.loadBalancers) {
        const first = l.object.listeners[0];
        rows.push({
          owner: l.owner,
          cells: {
            ...l.object.loadbalancer,
            address: l.object.loadbalancer.vip_address,
            protocol: first?.protocol ?? "",
            protocol_port: first?.protocol_port ?? "",
            status: l.object.loadbalancer.provisioning_status,
          },
        });
      }
      break;
    case "pools":
      for (const l of inv.loadBalancers)
        for (const p of l.object.pools)
          rows.push({
            owner: l.owner,
            cells: {
              ...p,
              members: p.members.map((m) => m.id),
              provider: l.object.loadbalancer.provider,
              lb_method: p.lb_algorithm,
              status: p.provisioning_status,
            },
          });
      break;
    case "members":
      for (const l of inv.loadBalancers)
        for (const p of l.object.pools)
          for (const m of p.members)
            rows.push({ owner: l.owner, cells: { ...m, status: m.provisioning_status } });
      break;
    case "fips":
      for (const f of inv.floatingIps) rows.push({ owner: f.owner, cells: { ...f.object } });
      break;
  }
  return { columns: COLUMNS[kind], rows };
}

/** Rows of owners in `namespace` and/or named `name` (the object's name column). */
export function filterRows(l: Listing, opts: { namespace?: string; name?: string }): Listing {
  return {
    columns: l.columns,
    rows: l.rows.filter(
      (r) =>
        (!opts.namespace || r.owner.namespace === opts.namespace) &&
        (!opts.name || r.cells.name === opts.name),
    ),
  };
}

/** A cell as neutron prints it: scalars as-is, objects as Python-style spaced JSON, one per line. */
export function formatCell(v: unknown): string[] {
  if (v === null || v === undefined) return [""];
  if (Array.isArray(v)) return v.length ? v.flatMap(formatCell) : [""];
  if (typeof v === "object") return [spacedJson(v)];
  return [String(v)];
}

/** JSON with Python's default separators (", " and ": "), as the neutron CLI prints dicts. */
function spacedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(spacedJson).join(", ")}]`;
  if (v && typeof v === "object")
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}: ${spacedJson(x)}`)
      .join(", ")}}`;
  return JSON.stringify(v ?? null);
}

/** The boxed table `neutron ...-list` prints. An empty listing prints nothing, as neutron does. */
export function boxTable(columns: string[], rows: Record<string, unknown>[]): string {
  if (!rows.length) return "";
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const width = columns.map((c, i) =>
    Math.max(c.length, ...cells.map((r) => Math.max(...r[i].map((l) => l.length)))),
  );
  const sep = `+${width.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(width[i])).join(" | ")} |`;
  const out = [sep, line(columns), sep];
  for (const r of cells) {
    const height = Math.max(...r.map((c) => c.length));
    for (let k = 0; k < height; k++) out.push(line(r.map((c) => c[k] ?? "")));
  }
  out.push(sep);
  return `${out.join("\n")}\n`;
}
