// The neutron backend's NetworkPolicies: security groups (security-group-plan.ts), as
// kuryr-kubernetes kept them. A policy's groups are named `raven-np-<namespace>-<policy>` and
// owned by it (description: kind=NetworkPolicy, and the directions it isolates); they hold rules
// for those directions only. The selected pods' ports carry them, plus the cluster's
// `raven-allow-ingress`/`raven-allow-egress` for a direction none of the port's policies
// isolates; every other pod port carries `raven-default`, which allows everything (a port's
// groups are a union). A port's group list is computed from all policies each time it is
// written, one write per port at a time, so policies synced in parallel never undo each other;
// the periodic sweep rewrites any port that is still wrong. Where Neutron has no L2 agents (the
// sandbox), raven-agent enforces these groups on the nodes (list(): the groups read back as
// policies).
import type { CompiledPolicy } from "../../api/compiled-policy.ts";
import type { Logger } from "../../kube/log.ts";
import { KeyedLock } from "../../util/keyed-lock.ts";
import type { PolicyStore } from "../backend.ts";
import type {
  NeutronApi,
  NeutronPort,
  NeutronSecurityGroup,
  NeutronSecurityGroupRule,
} from "./neutron-api.ts";
import { clusterTag, describe, ownershipOf } from "./ownership.ts";
import {
  allowGroupsFor,
  CLUSTER_GROUPS,
  type ClusterGroup,
  DIRECTIONS,
  type Isolation,
  planGroups,
  policiesFromGroups,
  ruleKey,
  type SgRule,
} from "./security-group-plan.ts";
import type { NeutronState } from "./state.ts";

export interface NeutronPoliciesDeps {
  neutron: NeutronApi;
  state: NeutronState;
  clusterId: string;
  projectId?: string;
  logger: Logger;
  /** Tells the backend's listeners that something changed. */
  changed: () => void;
  /** The device_owner of pod ports (only those carry policy groups). */
  deviceOwner: string;
}

const groupName = (namespace: string, name: string, suffix: string) =>
  `raven-np-${namespace}-${name}${suffix}`.slice(0, 255);
/** A pod port's address (pod ports have one). */
const portIp = (p: NeutronPort) => p.fixed_ips[0]?.ip_address ?? "";
const sameList = (a: string[], b: string[]) => [...a].sort().join() === [...b].sort().join();

export class NeutronPolicies implements PolicyStore {
  private readonly d: NeutronPoliciesDeps;
  /** This cluster's groups, by id. */
  private groups = new Map<string, NeutronSecurityGroup>();
  /** The pods (by address) each policy group is meant for, as this process last decided. */
  private readonly members = new Map<string, Set<string>>();
  private readonly lock = new KeyedLock();
  /** The cluster groups' ids (made once, with their rules, when missing). */
  private clusterIds: Promise<Record<ClusterGroup, string>> | undefined;
  private clusterIdsNow: Record<ClusterGroup, string> | undefined;
  private readonly listeners = new Set<() => void>();
  /**
   * A listing runs beside this process's writes, so it may predate some of them. Each write, once
   * answered, and each listing's start take a number from one clock; a listing does not undo the
   * writes numbered after its start (their objects are kept as written).
   */
  private clock = 0;
  /** Groups this process made or changed the rules of: when. */
  private readonly wroteGroup = new Map<string, number>();
  /** Groups this process deleted: when (a listing begun before still has them). */
  private readonly deletedGroup = new Map<string, number>();
  /** Ports whose groups this process wrote: the groups, and when. */
  private readonly wrotePort = new Map<string, { groups: string[]; at: number }>();

  constructor(d: NeutronPoliciesDeps) {
    this.d = d;
  }

  private ownership(g: NeutronSecurityGroup) {
    const o = ownershipOf(g.description, g.name);
    return o?.clusterId === this.d.clusterId ? o : undefined;
  }

  private podPorts(): NeutronPort[] {
    return this.d.state
      .allPorts()
      .map((p) => p.port)
      .filter((p) => p.device_owner === this.d.deviceOwner && p.device_id);
  }

  /** A port's groups: as this process last wrote them when the listing may predate that. */
  private portGroups(p: NeutronPort): string[] {
    return this.wrotePort.get(p.id)?.groups ?? p.security_groups ?? [];
  }

  /** Call before listing the groups and ports whose listing is given to replace(). */
  listingStarts(): number {
    return ++this.clock;
  }

  /**
   * A fresh listing of the groups (the backend lists them with everything else), begun at
   * `since` (listingStarts()). Who carries a policy group is taken from the ports only for
   * groups this process has not decided on yet (made before it started).
   */
  replace(listed: NeutronSecurityGroup[], since = this.listingStarts()): void {
    const fresh = new Map<string, NeutronSecurityGroup>();
    const newer = (at: number | undefined) => at !== undefined && at > since;
    for (const g of listed)
      if (this.ownership(g) && !this.deletedGroup.has(g.id))
        fresh.set(g.id, (newer(this.wroteGroup.get(g.id)) && this.groups.get(g.id)) || g);
    for (const [id, at] of this.wroteGroup) {
      const mine = this.groups.get(id);
      if (at > since && mine && !fresh.has(id)) fresh.set(id, mine);
    }
    for (const m of [this.wroteGroup, this.deletedGroup])
      for (const [id, at] of m) if (at < since) m.delete(id);
    for (const [id, w] of this.wrotePort) if (w.at < since) this.wrotePort.delete(id);
    this.groups = fresh;
    if (this.clusterIdsNow && Object.values(this.clusterIdsNow).some((id) => !fresh.has(id))) {
      // One was deleted behind our back: made again at its next use.
      this.clusterIds = undefined;
      this.clusterIdsNow = undefined;
    }
    for (const id of this.members.keys()) if (!this.groups.has(id)) this.members.delete(id);
    const learned = new Map<string, Set<string>>();
    for (const p of this.podPorts())
      for (const id of this.portGroups(p))
        if (this.isPolicyGroup(id) && !this.members.has(id)) {
          const m = learned.get(id) ?? new Set();
          m.add(portIp(p));
          learned.set(id, m);
        }
    for (const [id, m] of learned) this.members.set(id, m);
    for (const l of this.listeners) l();
  }

  private isPolicyGroup(id: string): boolean {
    const g = this.groups.get(id);
    return !!g && this.ownership(g)?.owner.kind === "NetworkPolicy";
  }

  /** The directions a policy group isolates (older groups, without the mark: both). */
  private isolationOf(id: string): Isolation {
    const marked = this.ownership(this.groups.get(id)!)?.isolates;
    return { ingress: marked?.includes("ingress") ?? true, egress: marked?.includes("egress") ?? true };
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** The groups read back as policies: what the node agent enforces. */
  list(): CompiledPolicy[] {
    const ours = new Set(this.groups.keys());
    return policiesFromGroups(
      [...this.groups.values()],
      this.podPorts().map((p) => ({
        ip: portIp(p),
        node: p["binding:host_id"] ?? "",
        groups: this.portGroups(p).filter((g) => ours.has(g)),
      })),
    );
  }

  private groupsOf(namespace: string, name: string): NeutronSecurityGroup[] {
    return [...this.groups.values()]
      .filter((g) => {
        const o = this.ownership(g)?.owner;
        return o?.kind === "NetworkPolicy" && o.namespace === namespace && o.name === name;
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The cluster groups' ids: `raven-default` and the two that allow one direction each. */
  private clusterGroupIds(): Promise<Record<ClusterGroup, string>> {
    this.clusterIds ??= this.lock
      .run("group/cluster", async () => {
        const ids = {} as Record<ClusterGroup, string>;
        for (const [key, spec] of Object.entries(CLUSTER_GROUPS) as [
          ClusterGroup,
          (typeof CLUSTER_GROUPS)[ClusterGroup],
        ][]) {
          const owner = { kind: "Cluster" as const, namespace: "", name: spec.name, uid: "cluster" };
          const found = [...this.groups.values()].find(
            (g) => g.name === spec.name && this.ownership(g)?.owner.kind === "Cluster",
          );
          const g = found ?? (await this.createGroup(spec.name, describe(this.d.clusterId, owner)));
          await this.syncRules(g, spec.rules);
          ids[key] = g.id;
        }
        this.clusterIdsNow = ids;
        return ids;
      })
      .catch((err) => {
        this.clusterIds = undefined;
        throw err;
      });
    return this.clusterIds;
  }

  /** The `raven-default` group's id: what a new pod port carries. */
  async defaultGroupId(): Promise<string> {
    return (await this.clusterGroupIds()).default;
  }

  private async createGroup(name: string, description: string): Promise<NeutronSecurityGroup> {
    const g = await this.d.neutron.createSecurityGroup({
      name,
      description,
      ...(this.d.projectId ? { project_id: this.d.projectId } : {}),
    });
    this.groups.set(g.id, g);
    this.wroteGroup.set(g.id, ++this.clock);
    void this.d.neutron.addTag("security-groups", g.id, clusterTag(this.d.clusterId)).catch(() => {});
    return g;
  }

  /** Groups whose cached rules may be stale (a rule write failed part way). */
  private readonly unsure = new Set<string>();

  /** Makes the group's rules exactly `want` (Neutron's default egress rules go unless wanted). */
  private async syncRules(g: NeutronSecurityGroup, want: SgRule[]): Promise<void> {
    if (this.unsure.has(g.id)) {
      const fresh = await this.d.neutron.getSecurityGroup(g.id);
      if (fresh) g.security_group_rules = fresh.security_group_rules;
      this.unsure.delete(g.id);
    }
    const wanted = new Map(want.map((r) => [ruleKey(r), r]));
    const have = new Map(g.security_group_rules.map((r) => [ruleKey(r), r]));
    const create = [...wanted]
      .filter(([k]) => !have.has(k))
      .map(([, r]) => ({ security_group_id: g.id, ...r }));
    const drop = [...have].filter(([k]) => !wanted.has(k)).map(([, r]) => r);
    if (!create.length && !drop.length) return;
    try {
      const made: NeutronSecurityGroupRule[] = await this.d.neutron.createSecurityGroupRules(create);
      g.security_group_rules = [...g.security_group_rules, ...made];
      for (const r of drop) {
        await this.d.neutron.deleteSecurityGroupRule(r.id);
        g.security_group_rules = g.security_group_rules.filter((x) => x.id !== r.id);
      }
      this.wroteGroup.set(g.id, ++this.clock);
    } catch (err) {
      // What Neutron holds now is unknown (a create whose answer was lost): read it next time.
      this.unsure.add(g.id);
      throw err;
    }
  }

  async ensure(p: CompiledPolicy): Promise<void> {
    const { namespace, name, uid } = p.policy;
    await this.lock.run(`policy/${namespace}/${name}`, async () => {
      await this.clusterGroupIds();
      const existing = this.groupsOf(namespace, name);
      const owner = { kind: "NetworkPolicy" as const, namespace, name, uid };
      const isolates = DIRECTIONS.filter((d) => p.isolates[d]);
      const kept = new Set<string>();
      for (const g of planGroups(p)) {
        const gname = groupName(namespace, name, g.suffix);
        // A group whose directions differ (policyTypes changed) is replaced, not rewritten.
        const found = existing.find((x) => {
          const o = this.ownership(x);
          return x.name === gname && o?.owner.uid === uid && sameList(o.isolates ?? [], isolates);
        });
        const sg =
          found ?? (await this.createGroup(gname, describe(this.d.clusterId, owner, { name, isolates })));
        await this.syncRules(sg, g.rules);
        kept.add(sg.id);
        this.members.set(sg.id, new Set(g.targets));
      }
      const stale = existing.filter((g) => !kept.has(g.id));
      for (const g of stale) this.members.delete(g.id);
      await this.reconcilePorts();
      for (const g of stale) await this.deleteGroup(g.id);
      this.d.changed();
    });
  }

  async delete(namespace: string, name: string, uid?: string): Promise<void> {
    await this.lock.run(`policy/${namespace}/${name}`, async () => {
      const groups = this.groupsOf(namespace, name).filter(
        (g) => !uid || this.ownership(g)?.owner.uid === uid,
      );
      if (!groups.length) return;
      for (const g of groups) this.members.delete(g.id);
      await this.reconcilePorts();
      for (const g of groups) await this.deleteGroup(g.id);
      this.d.changed();
    });
  }

  /** The groups a pod port at `ip` should carry, as the policies are decided now. */
  private wantedFor(ip: string, cluster: Record<ClusterGroup, string>): string[] {
    const mine = [...this.members].filter(([, ips]) => ips.has(ip)).map(([id]) => id);
    const open = allowGroupsFor(mine.map((id) => this.isolationOf(id)));
    return [...mine, ...open.map((c) => cluster[c])].sort();
  }

  /**
   * Writes every pod port whose groups are not what the policies decided (level-triggered: a
   * write that failed before is made by the next call, whichever policy it is for). A port's
   * list is computed at its write, one write per port at a time, so the last write of a port is
   * always right.
   */
  private async reconcilePorts(): Promise<void> {
    const cluster = await this.clusterGroupIds();
    await Promise.all(
      this.podPorts()
        .filter((p) => !sameList(this.portGroups(p), this.wantedFor(portIp(p), cluster)))
        .map((port) =>
          this.lock.run(`port/${port.id}`, async () => {
            // Again at the write: another policy may have decided meanwhile.
            const now = this.wantedFor(portIp(port), cluster);
            const current = this.d.state.port(port.id)?.port;
            if (!current || sameList(this.portGroups(current), now)) return;
            try {
              this.d.state.putPort(await this.d.neutron.updatePort(port.id, { security_groups: now }));
              this.wrotePort.set(port.id, { groups: now, at: ++this.clock });
            } catch (err) {
              // A port deleted meanwhile needs no groups (a group that is gone is an error).
              const e = err as { status?: number; type?: string };
              if (e.status !== 404 || e.type === "SecurityGroupNotFound") throw err;
            }
          }),
        ),
    );
  }

  /**
   * The periodic level-triggered pass: removes the groups of policies that are gone (deleted
   * while no controller watched), then rewrites every port whose groups are not as decided.
   */
  async sweep(live: Set<string>): Promise<void> {
    await this.sweepGroups(live);
    await this.reconcilePorts();
  }

  private async sweepGroups(live: Set<string>): Promise<void> {
    const gone = new Map<string, { namespace: string; name: string; uid: string }>();
    for (const g of this.groups.values()) {
      const o = this.ownership(g)?.owner;
      if (o?.kind === "NetworkPolicy" && !live.has(o.uid)) gone.set(o.uid, o);
    }
    for (const o of gone.values()) await this.delete(o.namespace, o.name, o.uid);
  }

  /** Every policy's groups and the cluster's (uninstall: the ports are gone first). */
  async releaseAll(): Promise<void> {
    await this.sweepGroups(new Set());
    for (const g of [...this.groups.values()])
      if (this.ownership(g)?.owner.kind === "Cluster") await this.deleteGroup(g.id);
    this.clusterIds = undefined;
    this.clusterIdsNow = undefined;
  }

  private async deleteGroup(id: string): Promise<void> {
    await this.d.neutron.deleteSecurityGroup(id);
    this.groups.delete(id);
    this.members.delete(id);
    this.wroteGroup.delete(id);
    this.deletedGroup.set(id, ++this.clock);
  }
}
