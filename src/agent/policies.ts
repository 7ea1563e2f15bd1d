// The node's NetworkPolicy enforcement: the compiled policies (api/compiled-policy.ts) that
// select pods of this node become one nftables table (dataplane/nft-policy.ts). The first sync
// replaces the table whole; later ones apply only the difference, each in one atomic `nft -f`
// (so a change costs the size of the change, not of every policy). Changes that arrive while a
// sync runs fold into the next one; a failed apply is retried with backoff, from a whole table.
import type { CompiledPolicy, CompiledRule } from "../api/compiled-policy.ts";
import type { Nft } from "../dataplane/nft.ts";
import {
  blockRanges,
  type PlannedPolicy,
  type PlannedRule,
  type PolicyModel,
  planPolicyTable,
  planPolicyUpdate,
  policyCounts,
  policyShape,
} from "../dataplane/nft-policy.ts";
import type { Logger } from "../kube/log.ts";
import { SyncLoop } from "./sync-loop.ts";

export interface PolicyEnforcerOptions {
  /** The compiled policies of the cluster (the agent keeps its own node's share). */
  policies: () => CompiledPolicy[];
  nft: Nft;
  table: string;
  nodeName: string;
  log: Logger;
  /** Told after each applied change (metrics, benchmarks). */
  onApplied?: (info: {
    ms: number;
    policies: number;
    rules: number;
    elements: number;
    whole: boolean;
  }) => void;
}

const plannedRule = (r: CompiledRule): PlannedRule => ({
  ...(r.peers ? { peers: { pods: r.peers.pods, ranges: blockRanges(r.peers.blocks ?? []) } } : {}),
  ...(r.ports
    ? {
        ports: r.ports.map((p) => ({
          protocol: p.protocol,
          from: p.port ?? 0,
          to: p.endPort ?? p.port ?? 65535,
        })),
      }
    : {}),
  ...(r.named ? { named: r.named } : {}),
});

export class PolicyEnforcer {
  private readonly o: PolicyEnforcerOptions;
  private readonly loop: SyncLoop;
  /** What the kernel holds; undefined: unknown (start, or after a failed apply). */
  private applied: PolicyModel | undefined;
  /** Each policy on this node: its id (names its sets and chains), shape and plan, by policy uid. */
  private readonly ids = new Map<
    string,
    { id: number; shape: string; from: CompiledPolicy; plan: PlannedPolicy }
  >();
  private nextId = 1;

  constructor(o: PolicyEnforcerOptions) {
    this.o = o;
    this.loop = new SyncLoop(() => this.sync(), o.log, "policy rules not applied");
  }

  changed(): void {
    this.loop.changed();
  }

  run(signal: AbortSignal): Promise<void> {
    return this.loop.run(signal);
  }

  /** This node's share of the cluster's policies. */
  model(): PolicyModel {
    const policies: PlannedPolicy[] = [];
    const seen = new Set<string>();
    for (const c of this.o.policies()) {
      // An unchanged compiled policy (the same object) keeps its plan: nothing to derive again.
      const known = this.ids.get(c.policy.uid);
      if (known?.from === c) {
        seen.add(c.policy.uid);
        policies.push(known.plan);
        continue;
      }
      const targets = c.targets.filter((t) => t.node === this.o.nodeName).map((t) => t.ip);
      if (!targets.length || seen.has(c.policy.uid)) continue;
      seen.add(c.policy.uid);
      const p: PlannedPolicy = {
        id: 0,
        targets: [...new Set(targets)].sort(),
        ...(c.isolates.ingress ? { ingress: c.ingress.map(plannedRule) } : {}),
        ...(c.isolates.egress ? { egress: c.egress.map(plannedRule) } : {}),
      };
      // Same id while its shape stays: its sets are then updated in place.
      p.id = known?.id ?? 0;
      const shape = policyShape(p);
      if (!known || known.shape !== shape) p.id = this.nextId++;
      this.ids.set(c.policy.uid, { id: p.id, shape, from: c, plan: p });
      policies.push(p);
    }
    for (const uid of this.ids.keys()) if (!seen.has(uid)) this.ids.delete(uid);
    return { table: this.o.table, policies };
  }

  async sync(): Promise<void> {
    const next = this.model();
    const whole = !this.applied;
    const script = this.applied ? planPolicyUpdate(this.applied, next) : planPolicyTable(next);
    if (!script) return;
    const t0 = performance.now();
    this.applied = undefined; // until the kernel has it: a failure starts over from a whole table
    await this.o.nft.apply(script);
    this.applied = next;
    const ms = performance.now() - t0;
    const counts = policyCounts(next);
    this.o.log.debug({ ...counts, ms: Math.round(ms), whole }, "policy rules applied");
    this.o.onApplied?.({ ms, ...counts, whole });
  }
}
