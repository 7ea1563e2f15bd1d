// The neutron backend's NetworkPolicies: security groups (security-group-plan.ts), as
// kuryr-kubernetes kept them. A policy's groups are named `raven-np-<namespace>-<policy>` and
// owned by it (description: kind=NetworkPolicy); the selected pods' ports carry them, every other
// pod port the cluster's `raven-default` group, which allows everything (a port's groups are a
// union, so a selected port carries only its policies' groups). A port's group list is computed
// from all policies each time it is written, one write per port at a time, so policies synced in
// parallel never undo each other. Where Neutron has no L2 agents (the sandbox), raven-agent
// enforces these groups on the nodes (list(): the groups read back as policies).
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
  DEFAULT_GROUP_RULES,
  planGroups,
  policiesFromGroups,
  ruleKey,
  type SgRule,
} from "./security-group-plan.ts";
import type { NeutronState } from "./state.ts";

export const DEFAULT_GROUP_NAME = "raven-default";
const DEFAULT_OWNER = { kind: "Cluster" as const, namespace: "", name: DEFAULT_GROUP_NAME, uid: "cluster" };

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

export class NeutronPolicies implements PolicyStore {
  private readonly d: NeutronPoliciesDeps;
  /** This cluster's groups, by id. */
  private readonly groups = new Map<string, NeutronSecurityGroup>();
  /** The pods (by address) each policy group is meant for, as this process last decided. */
  private readonly members = new Map<string, Set<string>>();
  private readonly lock = new KeyedLock();
  private defaultId: Promise<string> | undefined;
  private readonly listeners = new Set<() => void>();

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

  /**
   * A fresh listing of the groups (the backend lists them with everything else). Who carries a
   * policy group is taken from the ports only for groups this process has not decided on yet
   * (made before it started): a listing may predate this process's own port writes.
   */
  replace(groups: NeutronSecurityGroup[]): void {
    this.groups.clear();
    for (const g of groups) if (this.ownership(g)) this.groups.set(g.id, g);
    for (const id of this.members.keys()) if (!this.groups.has(id)) this.members.delete(id);
    const listed = new Map<string, Set<string>>();
    for (const p of this.podPorts())
      for (const id of p.security_groups ?? [])
        if (this.isPolicyGroup(id) && !this.members.has(id)) {
          const m = listed.get(id) ?? new Set();
          m.add(p.fixed_ips[0]?.ip_address ?? "");
          listed.set(id, m);
        }
    for (const [id, m] of listed) this.members.set(id, m);
    for (const l of this.listeners) l();
  }

  private isPolicyGroup(id: string): boolean {
    const g = this.groups.get(id);
    return !!g && this.ownership(g)?.owner.kind === "NetworkPolicy";
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
        ip: p.fixed_ips[0]?.ip_address ?? "",
        node: p["binding:host_id"] ?? "",
        groups: (p.security_groups ?? []).filter((g) => ours.has(g)),
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

  /** The `raven-default` group's id (made once, with its rules, when missing). */
  defaultGroupId(): Promise<string> {
    this.defaultId ??= this.lock
      .run("group/default", async () => {
        const found = [...this.groups.values()].find((g) => this.ownership(g)?.owner.kind === "Cluster");
        const g =
          found ?? (await this.createGroup(DEFAULT_GROUP_NAME, describe(this.d.clusterId, DEFAULT_OWNER)));
        await this.syncRules(g, DEFAULT_GROUP_RULES);
        return g.id;
      })
      .catch((err) => {
        this.defaultId = undefined;
        throw err;
      });
    return this.defaultId;
  }

  private async createGroup(name: string, description: string): Promise<NeutronSecurityGroup> {
    const g = await this.d.neutron.createSecurityGroup({
      name,
      description,
      ...(this.d.projectId ? { project_id: this.d.projectId } : {}),
    });
    this.groups.set(g.id, g);
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
    try {
      const made: NeutronSecurityGroupRule[] = await this.d.neutron.createSecurityGroupRules(create);
      g.security_group_rules = [...g.security_group_rules, ...made];
      for (const r of drop) {
        await this.d.neutron.deleteSecurityGroupRule(r.id);
        g.security_group_rules = g.security_group_rules.filter((x) => x.id !== r.id);
      }
    } catch (err) {
      // What Neutron holds now is unknown (a create whose answer was lost): read it next time.
      this.unsure.add(g.id);
      throw err;
    }
  }

  async ensure(p: CompiledPolicy): Promise<void> {
    const { namespace, name, uid } = p.policy;
    await this.lock.run(`policy/${namespace}/${name}`, async () => {
      const defaultId = await this.defaultGroupId();
      const existing = this.groupsOf(namespace, name);
      const owner = { kind: "NetworkPolicy" as const, namespace, name, uid };
      const kept = new Set<string>();
      for (const g of planGroups(p)) {
        const gname = groupName(namespace, name, g.suffix);
        const found = existing.find((x) => x.name === gname && this.ownership(x)?.owner.uid === uid);
        const sg = found ?? (await this.createGroup(gname, describe(this.d.clusterId, owner, { name })));
        await this.syncRules(sg, g.rules);
        kept.add(sg.id);
        this.members.set(sg.id, new Set(g.targets));
      }
      const stale = existing.filter((g) => !kept.has(g.id));
      for (const g of stale) this.members.delete(g.id);
      await this.reconcilePorts(defaultId);
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
      await this.reconcilePorts(await this.defaultGroupId());
      for (const g of groups) await this.deleteGroup(g.id);
      this.d.changed();
    });
  }

  /**
   * Writes every pod port whose groups are not what the policies decided (level-triggered: a
   * write that failed before is made by the next call, whichever policy it is for). A port's
   * list is computed at its write, one write per port at a time, so the last write of a port is
   * always right.
   */
  private async reconcilePorts(defaultId: string): Promise<void> {
    const wanted = () => {
      const byIp = new Map<string, string[]>();
      for (const [id, ips] of this.members)
        for (const ip of ips) {
          const list = byIp.get(ip) ?? [];
          list.push(id);
          byIp.set(ip, list);
        }
      return byIp;
    };
    const same = (a: string[] | undefined, b: string[]) =>
      [...(a ?? [])].sort().join() === [...b].sort().join();
    const first = wanted();
    const want = (p: NeutronPort) => first.get(p.fixed_ips[0]?.ip_address ?? "") ?? [defaultId];
    await Promise.all(
      this.podPorts()
        .filter((p) => !same(p.security_groups, want(p)))
        .map((port) =>
          this.lock.run(`port/${port.id}`, async () => {
            // Again at the write: another policy may have decided meanwhile.
            const now = wanted().get(port.fixed_ips[0]?.ip_address ?? "") ?? [defaultId];
            const current = this.d.state.allPorts().find((o) => o.port.id === port.id)?.port;
            if (!current || same(current.security_groups, now)) return;
            try {
              this.d.state.putPort(await this.d.neutron.updatePort(port.id, { security_groups: now }));
            } catch (err) {
              // A port deleted meanwhile needs no groups.
              if ((err as { status?: number }).status !== 404) throw err;
            }
          }),
        ),
    );
  }

  /** Removes the groups of policies that are gone (deleted while no controller watched). */
  async sweep(live: Set<string>): Promise<void> {
    const gone = new Map<string, { namespace: string; name: string; uid: string }>();
    for (const g of this.groups.values()) {
      const o = this.ownership(g)?.owner;
      if (o?.kind === "NetworkPolicy" && !live.has(o.uid)) gone.set(o.uid, o);
    }
    for (const o of gone.values()) await this.delete(o.namespace, o.name, o.uid);
  }

  /** Every policy's groups and the default group (uninstall: the ports are gone first). */
  async releaseAll(): Promise<void> {
    await this.sweep(new Set());
    for (const g of [...this.groups.values()])
      if (this.ownership(g)?.owner.kind === "Cluster") await this.deleteGroup(g.id);
    this.defaultId = undefined;
  }

  private async deleteGroup(id: string): Promise<void> {
    await this.d.neutron.deleteSecurityGroup(id);
    this.groups.delete(id);
    this.members.delete(id);
  }
}
